"""The alarm board and alarm actions over HTTP."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.models import OutboxMessage
from estatewatch.contracts.payloads import AlarmCommand
from tests.api.helpers import T0, Api, alarm_event


def _seed(api: Api) -> None:
    api.ingest(alarm_event("minor-old", severity="minor", category="door_fault", raised_at=T0))
    api.ingest(alarm_event("crit-new", severity="critical", raised_at=T0 + timedelta(minutes=5)))
    api.ingest(alarm_event("crit-old", severity="critical", raised_at=T0 + timedelta(minutes=1)))
    api.ingest(
        alarm_event(
            "pump",
            severity="major",
            category="pressure_loss",
            building="podium",
            target="pump-domestic-low",
            device_kind="water_pump_set",
        )
    )
    api.ingest(alarm_event("gone", severity="critical"))
    api.ingest(alarm_event("gone", 2, "closed", active=False, acknowledged=True))


def test_board_sorts_by_severity_then_age_and_hides_closed(api: Api) -> None:
    _seed(api)
    response = api.get("/alarms", user="dina")
    assert response.status_code == 200
    assert [a["alarm_id"] for a in response.json()] == ["crit-old", "crit-new", "pump", "minor-old"]
    assert response.json()[0]["work_order_id"] is not None


def test_board_filters(api: Api) -> None:
    _seed(api)

    def ids(**params: object) -> list[str]:
        return [a["alarm_id"] for a in api.get("/alarms", params=params).json()]

    assert ids(building="podium") == ["pump"]
    assert ids(severity=["minor", "major"]) == ["pump", "minor-old"]
    assert ids(state="closed") == ["gone"]
    assert ids(site="elsewhere") == []
    bad = api.get("/alarms", params={"severity": "apocalyptic"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["field"] == "severity.0"


def test_detail_has_the_history(api: Api) -> None:
    _seed(api)
    body = api.get("/alarms/gone").json()
    assert [(h["revision"], h["event"]) for h in body["history"]] == [(1, "raised"), (2, "closed")]
    assert body["state"] == "closed"
    missing = api.get("/alarms/nope")
    assert missing.status_code == 404
    assert missing.json()["field"] == "alarm_id"


def test_acknowledge_publishes_a_command_once(api: Api) -> None:
    _seed(api)
    first = api.post(
        "/alarms/crit-old/acknowledge", {"note": "calling the maintainer"}, user="dina"
    )
    assert first.status_code == 202
    assert first.json()["ack_requested_by"] == "dina"
    again = api.post("/alarms/crit-old/acknowledge", user="sam")
    assert again.status_code == 409
    assert "dina" in again.json()["detail"]
    with api.runtime.db.read() as session:
        commands = [
            AlarmCommand.model_validate_json(m.payload)
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.topic.contains("alarm-command"))
            )
        ]
    assert [(c.alarm_id, c.action, c.by, c.at) for c in commands] == [
        ("crit-old", "acknowledge", "dina", int(T0.timestamp() * 1000))
    ]
    closed = api.post("/alarms/gone/acknowledge", user="dina")
    assert closed.status_code == 409


def test_comment(api: Api) -> None:
    _seed(api)
    created = api.post("/alarms/pump/comments", {"text": "valve V2 closed by mistake"}, user="sam")
    assert created.status_code == 201
    actions = api.get("/alarms/pump").json()["actions"]
    assert [(a["kind"], a["by"], a["note"]) for a in actions] == [
        ("comment", "sam", "valve V2 closed by mistake")
    ]
    empty = api.post("/alarms/pump/comments", {"text": ""}, user="sam")
    assert empty.status_code == 422
    assert empty.json()["field"] == "text"
