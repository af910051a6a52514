"""The notification, incident and quality endpoints over HTTP, with their role checks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from api.incidents.automation import IncidentReactions
from api.notify.dispatcher import Notifier
from estatewatch.config import SiteConfig
from tests.api.helpers import SITE, Api, alarm_event, make_api
from tests.dates import iso
from tests.notify.conftest import ENV
from tests.notify.helpers import notify_config, site_with
from tests.notify.receivers import VendorReceiver


@pytest.fixture
def app(tmp_path: Path, example_site: SiteConfig, receiver: VendorReceiver) -> Iterator[Api]:
    sites = site_with(example_site, notify_config(receiver.base))
    with make_api(tmp_path / "api.db", sites) as running:
        yield running


@pytest.mark.parametrize(
    ("user", "path", "expected"),
    [
        ("gary", "/notifications", 403),  # a guard
        ("tom", "/incidents", 403),  # a technician
        ("dina", "/notifications", 200),
        (
            "cara",
            f"/quality/report?site=harbour-view&since={iso(-32)}T00:00Z&until={iso(-1)}T00:00Z",
            403,
        ),
        (
            "sam",
            f"/quality/report?site=harbour-view&since={iso(-32)}T00:00Z&until={iso(-1)}T00:00Z",
            200,
        ),
        (None, "/incidents", 401),
    ],
)
def test_role_checks(app: Api, user: str | None, path: str, expected: int) -> None:
    assert app.get(path, user=user).status_code == expected


def test_on_call_now(app: Api) -> None:
    rota = {r["role"]: r["people"] for r in app.get(f"/notifications/oncall?site={SITE}").json()}
    assert rota["duty_engineer"] == [{"id": "wang-duty", "name": "王工"}]  # Monday 16:00
    night = app.get(f"/notifications/oncall?site={SITE}&at={iso(0)}T15:00:00Z").json()
    assert {r["role"]: r["people"] for r in night}["duty_engineer"][0]["id"] == "sun-duty"


def test_incident_over_http(app: Api) -> None:
    opened = app.post(
        "/incidents", {"site": SITE, "plan": "water-outage", "building": "t3"}, user="dina"
    )
    assert opened.status_code == 201, opened.text
    incident = opened.json()
    assert "16:00" in incident["owners_notice"]["zh-CN"]
    url = f"/incidents/{incident['id']}"
    assert app.post(f"{url}/steps/isolate", user="dina").status_code == 200
    assert app.post(f"{url}/steps/isolate", user="dina").status_code == 409
    assert app.post(f"{url}/steps/nope", user="dina").status_code == 404
    assert app.post(f"{url}/notes", {"text": "阀门已关"}, user="dina").status_code == 201
    app.clock.set(app.clock.now() + timedelta(hours=2))
    closed = app.post(f"{url}/close", user="dina").json()
    assert closed["review_due_at"].startswith(f"{iso(1)}T10:00")
    review = {"improvements": "备用阀门", "response_minutes": 4}
    assert app.post(f"{url}/review", review, user="dina").status_code == 403
    assert app.post(f"{url}/review", review, user="sam").json()["state"] == "reviewed"
    page = app.get(f"{url}/export.html?lang=en", user="dina")
    assert page.headers["content-type"].startswith("text/html")
    assert "Close the valves that isolate the failed section" in page.text
    document = app.get(f"{url}/export.json", user="dina").json()
    assert [c["done"] for c in document["checklist"]] == [True, False, False]
    assert [e["kind"] for e in document["timeline"]][-3:] == ["note", "closed", "review"]


async def test_notification_log_and_counts(app: Api, receiver: VendorReceiver) -> None:
    app.ingest(alarm_event("storm-1", severity="critical", category="door_fault"))
    notifier = Notifier(
        app.runtime.db,
        app.runtime.sites,
        app.clock,
        secrets=ENV,
        rng=random.Random(2),
        background=False,
        reactions=IncidentReactions(),
    )
    await notifier.run_once()
    app.clock.set(app.clock.now() + timedelta(seconds=31))
    assert await notifier.run_once() == 1
    (row,) = app.get("/notifications", user="sam").json()
    assert (row["recipient"], row["channel"], row["status"]) == ("wang-duty", "ding", "sent")
    assert app.get("/notifications/counts", user="sam").json() == {"ding": {"sent": 1}}
    assert app.get("/notifications?failed=true", user="sam").json() == []


def test_quality_sample_over_http(app: Api) -> None:
    made = app.post("/quality/samples", {"site": SITE, "week": iso(-5), "seed": 5}, user="sam")
    assert made.status_code == 201, made.text
    assert made.json()["week_start"].startswith(f"{iso(-8)}T16:00")  # Monday 00:00 Shanghai
    assert made.json()["order_ids"] == []
    assert (
        app.post("/quality/samples", {"site": SITE, "week": iso(-5)}, user="gary").status_code
        == 403
    )


def test_the_app_runs_the_notifier_when_told(
    tmp_path: Path, example_site: SiteConfig, receiver: VendorReceiver
) -> None:
    sites = site_with(example_site, notify_config(receiver.base))
    with make_api(tmp_path / "api.db", sites, notify=True) as running:
        assert running.runtime.notifier is not None
        assert running.get("/notifications/counts", user="sam").json() == {}
        # The board and /health say notifications go out (they warn when they do not).
        assert running.get("/web/layout", user="sam").json()["notifying"] is True
        assert running.get("/health", user=None).json()["notify"] == "running"
    assert running.runtime.notifier is None


def test_the_board_and_health_say_when_nobody_is_notified(app: Api) -> None:
    """Without EW_NOTIFY the API runs no notifier: escalation reaches nobody, so the duty
    board shows a notice (from the layout's `notifying`) and /health says `off`."""
    assert app.runtime.notifier is None
    assert app.get("/web/layout", user="sam").json()["notifying"] is False
    assert app.get("/health", user=None).json()["notify"] == "off"


async def test_a_technicians_note_goes_to_the_duty_room(app: Api, receiver: VendorReceiver) -> None:
    """A technician may not answer the requester (403); the note goes to the duty room: a
    `note` event on the board's feed and a notification to the duty engineer on duty."""
    made = app.post(
        "/workorders",
        {
            "site": SITE,
            "title": "Leaking tap 3-1201",
            "trade": "civil",
            "urgency": "general",
            "requester_name": "陈女士",
            "requester_contact": "139",
        },
        user="cara",
    )
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]
    eta = (app.clock.now() + timedelta(minutes=20)).isoformat()
    dispatch = {"assignee": "tom", "contact": "138", "eta": eta}
    assert app.post(f"/workorders/{order_id}/dispatch", dispatch, user="dina").status_code == 200
    notifier = Notifier(
        app.runtime.db, app.runtime.sites, app.clock, secrets=ENV, rng=random.Random(2),
        background=False, reactions=IncidentReactions(),
    )  # fmt: skip
    await notifier.run_once()
    before = {r["id"] for r in app.get("/notifications", user="sam").json()}
    note = {"text": "需要换阀芯，明天上午完成"}
    assert app.post(f"/workorders/{order_id}/comments", note, user="tom").status_code == 201
    history = app.get(f"/workorders/{order_id}", user="dina").json()["log"]
    assert (history[-1]["action"], history[-1]["by"]) == ("comment", "tom")
    app.clock.set(app.clock.now() + timedelta(seconds=31))
    await notifier.run_once()
    rows = [r for r in app.get("/notifications", user="sam").json() if r["id"] not in before]
    # Monday 16:00: the day shift's duty engineer
    assert [(r["recipient"], r["subject_id"]) for r in rows] == [("wang-duty", order_id)]


async def test_a_reject_reaches_the_duty_room_with_its_reason(
    app: Api, receiver: VendorReceiver
) -> None:
    """A technician declining an order (issue #25): like a note, the duty engineer on duty
    hears of it, with the reason, whatever the site's routes say."""
    made = app.post(
        "/workorders",
        {"site": SITE, "title": "Leaking tap 3-1201", "trade": "civil", "urgency": "general",
         "requester_name": "陈女士", "requester_contact": "139"},
        user="cara",
    )  # fmt: skip
    order_id = made.json()["id"]
    eta = (app.clock.now() + timedelta(minutes=20)).isoformat()
    dispatch = {"assignee": "tom", "contact": "138", "eta": eta}
    assert app.post(f"/workorders/{order_id}/dispatch", dispatch, user="dina").status_code == 200
    notifier = Notifier(
        app.runtime.db, app.runtime.sites, app.clock, secrets=ENV, rng=random.Random(2),
        background=False, reactions=IncidentReactions(),
    )  # fmt: skip
    await notifier.run_once()
    before = {r["id"] for r in app.get("/notifications", user="sam").json()}
    reason = {"reason": "不是我的片区"}
    assert app.post(f"/workorders/{order_id}/reject", reason, user="tom").status_code == 200
    app.clock.set(app.clock.now() + timedelta(seconds=31))
    await notifier.run_once()
    rows = [r for r in app.get("/notifications", user="sam").json() if r["id"] not in before]
    assert [(r["recipient"], r["subject_id"]) for r in rows] == [("wang-duty", order_id)]
    assert rows[0]["event_key"] == f"workorder:{order_id}:3"  # the reject's revision
