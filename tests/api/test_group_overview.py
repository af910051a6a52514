"""GET /group/overview: the five figures of an estate as they move, and the order of the
estates by what needs attention (pure, table-tested)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.schemas.overview import EstateFigures
from api.workflows.overview import attention_of, urgency
from tests.api.helpers import SITE, Api, alarm_event
from tests.api.test_reports import _offline


def _figures(api: Api) -> dict[str, object]:
    answer = api.get("/group/overview", user="dina")
    assert answer.status_code == 200, answer.text
    (estate,) = answer.json()["estates"]
    assert estate["site"] == SITE
    figures: dict[str, object] = estate
    return figures


def test_an_estate_s_figures_follow_its_alarms_orders_and_devices(api: Api) -> None:
    calm = _figures(api)
    assert calm["critical_alarms"] == 0
    assert calm["overdue_orders"] == 0
    assert calm["devices_offline"] == 0
    assert calm["sla_compliance_percent"] is None  # nothing decided yet this month
    assert calm["patrol_percent"] == 0.0  # the day shift's rounds began, nobody scanned
    assert calm["attention"] == "warning"

    api.ingest(alarm_event("alarm-1", severity="critical"))
    _offline(api, "pump-domestic-low")
    fresh = _figures(api)
    assert fresh["critical_alarms"] == 1
    assert fresh["overdue_orders"] == 0  # its 15-minute clock still runs
    assert fresh["devices_offline"] == 1
    assert fresh["attention"] == "critical"

    api.clock.set(api.clock.now() + timedelta(hours=1))
    late = _figures(api)
    assert late["overdue_orders"] == 1
    assert late["sla_compliance_percent"] == 0.0  # every decided clock ran out


def _estate(site: str, **figures: object) -> EstateFigures:
    base: dict[str, object] = {
        "site": site, "name": site, "attention": "ok", "critical_alarms": 0,
        "overdue_orders": 0, "sla_compliance_percent": None, "patrol_percent": None,
        "devices_offline": 0,
    }  # fmt: skip
    estate = EstateFigures.model_validate({**base, **figures})
    estate.attention = attention_of(estate)
    return estate


@pytest.mark.parametrize(
    ("figures", "attention"),
    [
        ({}, "ok"),
        ({"sla_compliance_percent": 95.0, "patrol_percent": 100.0}, "ok"),
        ({"devices_offline": 1}, "warning"),
        ({"patrol_percent": 80.0}, "warning"),
        ({"sla_compliance_percent": 89.9}, "warning"),
        ({"overdue_orders": 1, "devices_offline": 3}, "critical"),
        ({"critical_alarms": 1}, "critical"),
    ],
)
def test_attention(figures: dict[str, object], attention: str) -> None:
    assert _estate("x", **figures).attention == attention


def test_estates_sort_by_what_needs_attention() -> None:
    estates = [
        _estate("calm"),
        _estate("slow", sla_compliance_percent=70.0),
        _estate("dark", devices_offline=4),
        _estate("late", overdue_orders=2),
        _estate("trapped", critical_alarms=1),
        _estate("trapped-twice", critical_alarms=2),
    ]
    ordered = [e.site for e in sorted(estates, key=urgency)]
    assert ordered == ["trapped-twice", "trapped", "late", "dark", "slow", "calm"]
