"""`/metrics`: Prometheus text that counts what the API holds and does."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.api.helpers import Api, alarm_event


def _samples(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_parse_and_move_with_alarms_and_orders(api: Api) -> None:
    before = _samples(api)
    assert not any(name == "ew_api_alarms_open" for name, _ in before)

    api.ingest(alarm_event("trapped", severity="critical"))
    api.ingest(alarm_event("door", severity="minor", category="door_fault"))
    after = _samples(api)

    site = {"site": "harbour-view"}
    critical = tuple(sorted({**site, "severity": "critical", "state": "active"}.items()))
    assert after[("ew_api_alarms_open", critical)] == 1
    orders = sum(v for (name, _), v in after.items() if name == "ew_api_work_orders")
    assert orders >= 1  # the critical alarm made its order by the dispatch policy
    assert after[("ew_api_outbox_pending", ())] >= 0


def test_metrics_need_no_login_and_are_not_in_the_schema(api: Api) -> None:
    assert api.client.get("/metrics").status_code == 200
    assert "/metrics" not in api.client.get("/openapi.json").json()["paths"]
