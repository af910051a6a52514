"""The records: fault analysis per device/kind/location/rule, a device's record (and its
CSV, and the statutory part for elevators), the monthly report (JSON and HTML), the
preventive-maintenance calendar. Months are derived from T0, never written."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from api.domain import faults as analysis
from api.store.workorders import order_id_for_alarm
from tests.api.helpers import SITE, T0, Api, alarm_event

DISPATCH = {"assignee": "tom", "contact": "1", "eta": (T0 + timedelta(hours=1)).isoformat()}


def _repair(api: Api, alarm_id: str, hours: float) -> None:
    """Dispatch, accept, arrive and complete the alarm's order `hours` after T0."""
    order = order_id_for_alarm(alarm_id)
    assert api.post(f"/workorders/{order}/dispatch", DISPATCH, user="dina").status_code == 200
    for action in ("accept", "arrive"):
        assert api.post(f"/workorders/{order}/{action}", user="tom").status_code == 200
    api.clock.set(T0 + timedelta(hours=hours))
    # The repair cleared the fault: an order is completed once its alarm is no longer active.
    api.ingest(alarm_event(alarm_id, 2, "cleared", active=False, ts=api.clock.now()))
    done = api.post(
        f"/workorders/{order}/complete",
        {"result": "门机皮带更换", "parts": ["door belt"], "photo_refs": ["ph_0123456789abcdef"]},
        user="tom",
    )
    assert done.status_code == 200, done.text


def _faults(api: Api) -> None:
    """elevator-3: two entrapments 10 days apart (the second a repeat), repaired in 2 h and
    4 h; pump-domestic-low: one pressure loss."""
    api.clock.set(T0 - timedelta(days=10))
    api.ingest(alarm_event("e1", raised_at=T0 - timedelta(days=10)))
    api.clock.set(T0)
    api.ingest(alarm_event("e2", raised_at=T0))
    api.ingest(
        alarm_event(
            "p1",
            category="pressure_loss",
            severity="major",
            target="pump-domestic-low",
            device_kind="water_pump_set",
            building="podium",
            room="pump-room",
        )
    )
    _repair(api, "e2", 4)


def test_fault_statistics_are_pure() -> None:
    def fault(i: str, device: str, days: int, repaired: float | None = None) -> analysis.Fault:
        at = T0 + timedelta(days=days)
        fixed = at + timedelta(hours=repaired) if repaired is not None else None
        return analysis.Fault(i, device, "elevator", "t2", "r", "entrapment", at, fixed)

    history = [fault("h", "a", -40)]
    found = [fault("1", "a", 0, 2), fault("2", "a", 10, 4), fault("3", "a", 50), fault("4", "b", 1)]
    [a, b] = analysis.analyse(found, "device", history)
    assert (a.key, a.faults, a.repeats, a.mtbf_hours, a.mttr_hours) == ("a", 3, 1, 600.0, 3.0)
    assert (b.key, b.faults, b.repeats, b.mtbf_hours, b.mttr_hours) == ("b", 1, 0, None, None)
    [kind] = analysis.analyse(found, "kind", history)
    assert (kind.faults, kind.devices) == (4, {"a", "b"})


def test_fault_analysis_by_device_kind_location_and_rule(api: Api) -> None:
    _faults(api)
    params = {"site": SITE, "by": "device", "from": (T0 - timedelta(days=30)).isoformat()}
    response = api.get("/reports/faults", params=params, user="sam")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["faults"], body["repeats"]) == (3, 1)
    lift = body["groups"][0]
    assert (lift["key"], lift["faults"], lift["repeats"]) == ("elevator-3", 2, 1)
    assert lift["mtbf_hours"] == 240.0
    assert lift["mttr_hours"] == 4.0  # e2's order completed 4 h after the raise; e1 open
    for by, first in (("kind", "elevator"), ("location", "t2"), ("rule", "test.entrapment")):
        grouped = api.get("/reports/faults", params={**params, "by": by}, user="dina").json()
        assert grouped["groups"][0]["key"] == first
    assert api.get("/reports/faults", params={"site": SITE}, user="tom").status_code == 403
    bad = api.get("/reports/faults", params={**params, "by": "colour"}, user="sam")
    assert bad.status_code == 422


def test_the_record_of_an_elevator(api: Api) -> None:
    _faults(api)
    response = api.get("/devices/elevator-3/record", user="sam")
    assert response.status_code == 200, response.text
    record = response.json()
    assert (record["kind"], record["name"]) == ("elevator", "Tower 2 car A 2号楼A梯")
    assert [a["alarm_id"] for a in record["alarms"]] == ["e1", "e2"]
    repaired = next(o for o in record["repairs"] if o["id"] == order_id_for_alarm("e2"))
    assert (repaired["result"], repaired["parts"], repaired["photo_refs"]) == (
        "门机皮带更换",
        ["door belt"],
        ["ph_0123456789abcdef"],
    )
    assert [s["action"] for s in repaired["steps"]][-4:] == [
        "dispatch",
        "accept",
        "arrive",
        "complete",
    ]
    statutory = record["statutory"]
    assert "特种设备安全法" in statutory["basis"]
    assert (statutory["entrapments"], statutory["maintenance_interval_days"]) == (2, 15)
    assert statutory["maintenance_overdue"] is True  # no maintenance on record
    assert record["operation_log_days"] is None  # no readings store here

    rows = list(csv.DictReader(io.StringIO(api.get(
        "/devices/elevator-3/record", params={"format": "csv"}, user="dina").text)))  # fmt: skip
    assert [r["section"] for r in rows].count("alarm") == 2
    assert {r["section"] for r in rows} >= {"alarm", "repair"}
    assert api.get("/devices/nope/record", user="sam").status_code == 404
    pump = api.get("/devices/pump-domestic-low/record", user="sam").json()
    assert pump["statutory"] is None


def _last_month() -> str:
    return (T0.date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def test_the_monthly_report(api: Api) -> None:
    _faults(api)
    month = T0.strftime("%Y-%m")
    response = api.get("/reports/monthly", params={"site": SITE, "month": month}, user="sam")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["month"] == month
    assert report["orders"] >= 1
    assert {c["clock"] for c in report["sla"]} >= {"dispatch", "response"}
    assert report["faults"]["faults"] >= 1
    assert report["patrol_by_route"], "every route's rounds of the month so far"
    assert report["maintenance"] == {"planned": 0, "done": 0, "open": 0, "percent": None}

    last = api.get("/reports/monthly", params={"site": SITE, "month": _last_month()}, user="sam")
    assert last.status_code == 200
    assert api.get("/reports/monthly", params={"site": SITE}).json()["month"] == _last_month()
    page = api.get(
        "/reports/monthly", params={"site": SITE, "month": month, "format": "html"}, user="dina"
    )
    assert page.headers["content-type"].startswith("text/html")
    assert "月度报告" in page.text
    assert "时限达标率" in page.text
    english = api.get("/reports/monthly", params={"site": SITE, "format": "html", "lang": "en"})
    assert "Monthly report" in english.text
    bad = api.get("/reports/monthly", params={"site": SITE, "month": "last"}, user="sam")
    assert bad.status_code == 422


def test_the_maintenance_calendar_of_the_year(api: Api) -> None:
    first_due = T0 + timedelta(days=3)
    plan = {
        "site": SITE,
        "title": "电梯半月保养",
        "trade": "elevator",
        "device": "elevator-3",
        "interval_days": 15,
        "first_due_at": first_due.isoformat(),
    }
    assert api.post("/maintenance/plans", plan, user="sam").status_code == 201
    year = first_due.year
    body = api.get("/maintenance/calendar", params={"site": SITE, "year": year}, user="dina").json()
    [entry] = body["plans"]
    assert first_due.date().isoformat() in entry["due"]
    assert all(d.startswith(str(year)) for d in entry["due"])
    assert 23 <= len(entry["due"]) <= 25  # every 15 days through the year
    assert sum(len(m[0]["due"]) for m in body["months"] if m) == len(entry["due"])
