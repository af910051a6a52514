"""Reports (shift handover, SLA compliance; JSON and CSV), and latest equipment values
without a readings store (with one: test_readings_api.py)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from api import inbound
from api.store.workorders import order_id_for_alarm
from estatewatch.clock import to_epoch_ms
from estatewatch.contracts.payloads import DeviceStatus
from tests.api.helpers import SITE, T0, Api, alarm_event
from tests.dates import iso

DISPATCH = {"assignee": "tom", "contact": "1", "eta": (T0 + timedelta(hours=1)).isoformat()}


def _offline(api: Api, device: str) -> None:
    status = DeviceStatus(
        site=SITE,
        gateway="gw-harbour-1",
        seq=1,
        device=device,
        kind="water_pump_set",
        building="podium",
        room="pump-room",
        state="offline",
        ts=to_epoch_ms(T0),
        since=to_epoch_ms(T0),
    )
    with api.runtime.db.write() as session:
        inbound.apply(session, status, now=T0, sites=api.runtime.sites)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_handover_lists_what_the_next_shift_inherits(api: Api) -> None:
    api.ingest(alarm_event("lift"))  # an entrapment: an urgent order
    api.ingest(alarm_event("quiet", severity="warning", category="battery_low"))
    _offline(api, "pump-domestic-low")
    api.clock.set(T0 + timedelta(minutes=20))
    api.post("/workorders/sla-check", user="sam")  # the 15-min response clock ran out
    response = api.get("/reports/handover", params={"site": SITE}, user="sam")
    assert response.status_code == 200
    report = response.json()
    assert (report["shift"], report["date"]) == ("day", iso(0))
    assert [a["alarm_id"] for a in report["open_alarms"]] == ["lift", "quiet"]
    assert [o["id"] for o in report["open_orders"]] == [order_id_for_alarm("lift")]
    assert [b["clock"] for b in report["breaches"]] == ["response"]
    assert [d["device"] for d in report["devices_not_online"]] == ["pump-domestic-low"]
    assert report["patrol"]["percent"] == 0.0

    as_csv = api.get("/reports/handover", params={"site": SITE, "format": "csv"}, user="sam")
    assert as_csv.headers["content-type"].startswith("text/csv")
    sections = [row["section"] for row in _rows(as_csv.text)]
    assert sections.count("alarm") == 2
    assert (
        sections.count("work_order")
        == sections.count("sla_breach")
        == sections.count("device")
        == 1
    )
    assert sections.count("patrol_round") == len(report["patrol"]["rounds"]) == 7


def test_sla_compliance_per_clock(api: Api) -> None:
    fast, slow = order_id_for_alarm("fast"), order_id_for_alarm("slow")
    api.ingest(alarm_event("fast", category="pressure_loss", severity="major"))
    api.ingest(alarm_event("slow", category="pressure_loss", severity="major"))
    api.clock.set(T0 + timedelta(minutes=10))
    assert api.post(f"/workorders/{fast}/dispatch", DISPATCH, user="dina").status_code == 200
    api.clock.set(T0 + timedelta(minutes=50))
    assert api.post(f"/workorders/{slow}/dispatch", DISPATCH, user="dina").status_code == 200
    params = {
        "site": SITE,
        "since": (T0 - timedelta(hours=1)).isoformat(),
        "until": (T0 + timedelta(hours=1)).isoformat(),
    }
    report = api.get("/reports/sla", params=params, user="sam").json()
    by_clock = {c["clock"]: c for c in report["clocks"]}
    assert report["orders"] == 2
    assert (by_clock["dispatch"]["met"], by_clock["dispatch"]["breached"]) == (1, 1)
    assert by_clock["dispatch"]["compliance_percent"] == 50.0
    assert (by_clock["progress"]["pending"], by_clock["progress"]["compliance_percent"]) == (
        2,
        None,
    )
    rows = _rows(api.get("/reports/sla", params={**params, "format": "csv"}, user="sam").text)
    assert {(r["order_id"], r["clock"], r["status"]) for r in rows} == {
        (fast, "dispatch", "met"),
        (slow, "dispatch", "breached"),
        (fast, "progress", "pending"),
        (slow, "progress", "pending"),
    }
    bad = api.get(
        "/reports/sla", params={"since": T0.isoformat(), "until": T0.isoformat()}, user="sam"
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "since"


def test_without_a_readings_store_latest_values_are_unavailable(api: Api) -> None:
    response = api.get("/devices/pump-domestic-low/latest", params={"site": SITE}, user="dina")
    assert response.status_code == 503
