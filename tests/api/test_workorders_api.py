"""Work orders over HTTP: the lifecycle, refusals, SLA clocks under a FakeClock,
escalation, and one order per alarm across redelivery and restarts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from api.models import OutboxMessage
from api.sites import Sites
from api.store.workorders import order_id_for_alarm
from estatewatch.contracts.payloads import WorkOrderEvent
from tests.api.helpers import T0, Api, alarm_event, make_api
from tests.dates import iso

ETA = (T0 + timedelta(minutes=20)).isoformat()
DISPATCH = {"assignee": "tom", "contact": "138 0000 0001", "eta": ETA}


def _order_from_alarm(api: Api, alarm_id: str = "alarm-1", **fields: Any) -> str:
    api.ingest(alarm_event(alarm_id, **fields))
    return order_id_for_alarm(alarm_id)


def _events(api: Api, order_id: str) -> list[WorkOrderEvent]:
    with api.runtime.db.read() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.topic.endswith(f"/workorder/{order_id}"))
            .order_by(OutboxMessage.id)
        )
        return [WorkOrderEvent.model_validate_json(m.payload) for m in rows]


def _step(
    api: Api, order_id: str, action: str, body: dict[str, Any], user: str, minutes: float
) -> dict[str, Any]:
    api.clock.set(T0 + timedelta(minutes=minutes))
    response = api.post(f"/workorders/{order_id}/{action}", body, user=user)
    assert response.status_code == 200, response.json()
    result: dict[str, Any] = response.json()
    return result


def test_full_lifecycle_is_audited_and_published(api: Api) -> None:
    order_id = _order_from_alarm(api)
    _step(api, order_id, "dispatch", DISPATCH, "dina", 3)
    _step(api, order_id, "accept", {"note": "on my way"}, "tom", 5)
    _step(api, order_id, "arrive", {}, "tom", 18)
    api.ingest(alarm_event("alarm-1", 2, "cleared", active=False))  # the fault is gone
    _step(
        api,
        order_id,
        "complete",
        {
            "result": "released passengers; reset door lock",
            "parts": ["door lock relay"],
            "photo_refs": ["p/1.jpg"],
        },
        "tom",
        40,
    )
    _step(
        api, order_id, "verify", {"callback_note": "owner confirms the lift works"}, "cara", 60 * 5
    )
    body = _step(api, order_id, "close", {}, "cara", 60 * 5 + 1)

    assert body["state"] == "closed"
    assert (body["assignee"], body["assignee_contact"]) == ("tom", "138 0000 0001")
    assert body["parts"] == ["door lock relay"]
    assert body["breached"] == []
    assert body["allowed_actions"] == []
    log = [(e["action"], e["from_state"], e["to_state"], e["by"]) for e in body["log"]]
    assert log == [
        ("create", None, "new", "system"),
        ("dispatch", "new", "dispatched", "dina"),
        ("accept", "dispatched", "accepted", "tom"),
        ("arrive", "accepted", "on_site", "tom"),
        ("complete", "on_site", "completed", "tom"),
        ("verify", "completed", "verified", "cara"),
        ("close", "verified", "closed", "cara"),
    ]
    assert body["log"][2]["note"] == "on my way"
    events = _events(api, order_id)
    assert [(e.revision, e.event, e.state) for e in events] == [
        (1, "created", "new"),
        (2, "dispatched", "dispatched"),
        (3, "accepted", "accepted"),
        (4, "on_site", "on_site"),
        (5, "completed", "completed"),
        (6, "verified", "verified"),
        (7, "closed", "closed"),
    ]
    assert events[0].deadlines["on_site"] == int((T0 + timedelta(minutes=30)).timestamp() * 1000)
    assert events[-1].at == int((T0 + timedelta(minutes=301)).timestamp() * 1000)


def test_illegal_transitions_are_refused_with_what_is_allowed(api: Api) -> None:
    order_id = _order_from_alarm(api)
    early = api.post(f"/workorders/{order_id}/verify", {"callback_note": "fine"}, user="cara")
    assert early.status_code == 409
    problem = early.json()
    assert problem["type"].endswith("illegal-transition")
    assert (problem["field"], problem["state"], problem["allowed"]) == (
        "action",
        "new",
        ["dispatch", "cancel"],
    )
    _step(
        api,
        order_id,
        "cancel",
        {"reason": "false alarm: test of the car's alarm button"},
        "dina",
        1,
    )
    after = api.post(f"/workorders/{order_id}/dispatch", DISPATCH, user="dina")
    assert after.status_code == 409
    assert after.json()["allowed"] == []
    assert [e.event for e in _events(api, order_id)] == ["created", "cancelled"]


def test_bodies_are_validated_field_by_field(api: Api) -> None:
    order_id = _order_from_alarm(api)
    missing = api.post(f"/workorders/{order_id}/dispatch", {"assignee": "tom"}, user="dina")
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {"contact", "eta"}
    naive = api.post(
        f"/workorders/{order_id}/dispatch", {**DISPATCH, "eta": f"{iso(0)}T08:20:00"}, user="dina"
    )
    assert naive.json()["field"] == "eta"
    not_a_technician = api.post(
        f"/workorders/{order_id}/dispatch", {**DISPATCH, "assignee": "cara"}, user="dina"
    )
    assert not_a_technician.status_code == 422
    assert not_a_technician.json()["field"] == "assignee"


def test_reopen_redispatches_and_escalates(api: Api) -> None:
    order_id = _order_from_alarm(
        api, category="pressure_loss", severity="major", device_kind="water_pump_set"
    )
    _step(api, order_id, "dispatch", DISPATCH, "dina", 1)
    _step(api, order_id, "accept", {}, "tom", 2)
    _step(api, order_id, "arrive", {}, "tom", 30)
    api.ingest(
        alarm_event(
            "alarm-1", 2, "cleared", active=False, category="pressure_loss", severity="major"
        )
    )
    _step(api, order_id, "complete", {"result": "replaced pressure sensor"}, "tom", 60)
    body = _step(
        api,
        order_id,
        "reopen",
        {"reason": "pressure still drops at night", "assignee": "tina"},
        "cara",
        120,
    )
    assert (body["state"], body["assignee"], body["escalation_level"]) == ("dispatched", "tina", 1)
    assert body["completed_at"] is None
    assert "callback" not in body["deadlines"]
    assert [e.event for e in _events(api, order_id)][-2:] == ["reopened", "escalated"]
    # The new assignee works it; the old one no longer sees it.
    assert api.get(f"/workorders/{order_id}", user="tom").status_code == 404
    _step(api, order_id, "accept", {}, "tina", 125)
    body = _step(api, order_id, "arrive", {}, "tina", 150)
    assert body["escalation_level"] == 1


def _check(api: Api, minutes: float) -> int:
    api.clock.set(T0 + timedelta(minutes=minutes))
    response = api.post("/workorders/sla-check", user="sam")
    assert response.status_code == 200
    flagged: int = response.json()["flagged"]
    return flagged


def test_entrapment_clocks_breach_once_and_escalate(api: Api) -> None:
    order_id = _order_from_alarm(api)
    assert _check(api, 15) == 0  # exactly at the deadline: not yet late
    assert _check(api, 16) == 1  # response (15 min)
    assert _check(api, 20) == 0  # flagged once only
    assert _check(api, 31) == 2  # dispatch and on_site (30 min)
    body = api.get(f"/workorders/{order_id}").json()
    assert body["breached"] == ["dispatch", "on_site", "response"]
    assert body["escalation_level"] == 3
    kinds = [(e.event, e.escalation_level) for e in _events(api, order_id)]
    assert kinds.count(("sla_breached", 0)) == 1
    assert ("escalated", 3) in kinds


def test_a_clock_about_to_run_out_is_warned_once_before_it_breaches(api: Api) -> None:
    order_id = _order_from_alarm(api)
    _check(api, 9)
    assert [e for e in _events(api, order_id) if e.event == "sla_warning"] == []
    _check(api, 10)  # a third of the 15-minute response left
    _check(api, 12)
    warnings = [e for e in _events(api, order_id) if e.event == "sla_warning"]
    assert len(warnings) == 1
    assert warnings[0].note.startswith("response is due at")
    assert warnings[0].escalation_level == 0  # a warning is not a breach
    _check(api, 22)  # dispatch and on_site (30 min) enter their last third
    warned = [e.note.split()[0] for e in _events(api, order_id) if e.event == "sla_warning"]
    assert sorted(warned) == ["dispatch", "on_site", "response"]


def test_late_dispatch_is_flagged_at_the_transition(api: Api) -> None:
    order_id = _order_from_alarm(
        api, category="pressure_loss", severity="major", device_kind="water_pump_set"
    )
    body = _step(api, order_id, "dispatch", DISPATCH, "dina", 45)
    assert body["breached"] == ["dispatch"]


def test_general_order_callback_and_requester_clocks(api: Api) -> None:
    created = api.post(
        "/workorders",
        {
            "site": "harbour-view",
            "title": "Leaking kitchen tap, T3-1201",
            "trade": "water_electric",
            "requester_name": "Ms Chen",
            "requester_contact": "139 0000 1201",
            "building": "t3",
        },
        user="cara",
    )
    assert created.status_code == 201
    order = created.json()
    assert (order["source"], order["urgency"], order["department"]) == (
        "manual",
        "general",
        "engineering",
    )
    assert set(order["deadlines"]) == {"dispatch", "progress", "requester_answer"}
    order_id = order["id"]
    _step(api, order_id, "dispatch", DISPATCH, "dina", 10)
    _step(api, order_id, "accept", {}, "tom", 60)
    note = api.post(
        f"/workorders/{order_id}/comments",
        {"text": "told Ms Chen: tomorrow 10:00", "to_requester": True},
        user="cara",
    )
    assert note.status_code == 201
    _step(api, order_id, "arrive", {}, "tom", 60 * 20)
    body = _step(api, order_id, "complete", {"result": "new cartridge"}, "tom", 60 * 21)
    assert body["deadlines"]["callback"] == (T0 + timedelta(hours=45)).isoformat().replace(
        "+00:00", "Z"
    )
    assert _check(api, 60 * 46) == 1
    assert api.get(f"/workorders/{order_id}").json()["breached"] == ["callback"]


def test_one_order_per_alarm_across_redelivery_and_restart(tmp_path: Path, sites: Sites) -> None:
    database = tmp_path / "restart.db"
    event = alarm_event("restart-1")
    with make_api(database, sites) as api:
        for _ in range(3):
            api.ingest(event)
        first = api.get("/workorders").json()
    with make_api(database, sites) as api:  # a new process on the same database
        assert api.ingest(event) == "duplicate"
        api.ingest(alarm_event("restart-1", 2, "updated", occurrences=2))
        after = api.get("/workorders").json()
        assert len(_events(api, order_id_for_alarm("restart-1"))) == 1
    assert [o["id"] for o in first] == [o["id"] for o in after] == [order_id_for_alarm("restart-1")]


def test_an_order_whose_fault_is_still_active_closes_only_with_an_audited_override(
    api: Api,
) -> None:
    order_id = _order_from_alarm(api)
    _step(api, order_id, "dispatch", DISPATCH, "dina", 3)
    _step(api, order_id, "accept", {}, "tom", 5)
    body = _step(api, order_id, "arrive", {}, "tom", 18)
    assert body["alarm_active"] is True  # the order card says the fault is still active
    refused = api.post(f"/workorders/{order_id}/complete", {"result": "reset"}, user="tom")
    assert refused.status_code == 409
    assert refused.json()["field"] == "override_reason"
    assert refused.json()["alarm_id"] == "alarm-1"
    reason = "controller reports 31 from a stuck sensor; maintainer booked"
    body = _step(
        api, order_id, "complete", {"result": "reset", "override_reason": reason}, "tom", 40
    )
    assert body["state"] == "completed"
    entry = body["log"][-1]
    assert entry["data"]["override_reason"] == reason
    assert entry["data"]["alarm_active"] is True
    _step(api, order_id, "verify", {"callback_note": "ok"}, "cara", 60)
    assert api.post(f"/workorders/{order_id}/close", {}, user="cara").status_code == 409
    api.ingest(alarm_event("alarm-1", 2, "cleared", active=False))
    body = _step(api, order_id, "close", {}, "cara", 70)  # cleared: no override needed
    assert (body["state"], body["alarm_active"]) == ("closed", False)


def test_an_orders_sla_clock_runs_from_the_faults_onset(api: Api) -> None:
    onset = T0 - timedelta(seconds=30)  # the rule held the condition 30 s before raising
    order_id = _order_from_alarm(api, onset_at=int(onset.timestamp() * 1000))
    body = api.get(f"/workorders/{order_id}").json()
    assert body["reported_at"] == onset.isoformat().replace("+00:00", "Z")
    alarm = api.get("/alarms/alarm-1").json()
    assert alarm["onset_at"] == onset.isoformat().replace("+00:00", "Z")
