"""A power-room outage runs the power-outage plan end to end: incident, chain notified,
owners' notice, checklist, close, review due 24 h later, exports; all on the timeline."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.db import Database
from api.domain.errors import Conflict
from api.incidents import export
from api.incidents import store as incidents
from api.incidents.automation import IncidentReactions
from api.models import Incident, OutboxMessage
from api.notify.dispatcher import Notifier
from estatewatch.clock import FakeClock
from estatewatch.config import SiteConfig
from estatewatch.contracts.codec import decode_any
from estatewatch.contracts.payloads import IncidentEvent
from tests.notify.conftest import ENV
from tests.notify.helpers import notify_config, raise_alarm, site_with
from tests.notify.receivers import VendorReceiver


async def test_power_outage_plan_end_to_end(
    db: Database, example_site: SiteConfig, receiver: VendorReceiver, clock: FakeClock
) -> None:
    sites = site_with(example_site, notify_config(receiver.base))
    site = sites.config("harbour-view")
    assert site is not None
    (plan,) = [p for p in site.emergency_plans if p.id == "power-outage"]
    notifier = Notifier(
        db,
        sites,
        clock,
        secrets=ENV,
        rng=random.Random(3),
        background=False,
        reactions=IncidentReactions(),
    )
    first = raise_alarm(db, sites, n=1, at=clock.now(), category="outage")
    await notifier.run_once()
    clock.set(clock.now() + timedelta(seconds=10))
    second = raise_alarm(
        db, sites, n=2, at=clock.now(), category="site_outage", device="power-room-2"
    )
    await notifier.run_once()
    clock.set(clock.now() + timedelta(seconds=31))
    await notifier.run_once()

    with db.read() as session:
        (incident,) = session.scalars(select(Incident)).all()
        assert incident.plan == "power-outage"
        assert incident.alarm_ids == [first, second]
        assert "停电" in incident.owners_notice["zh-CN"]
        assert "has no power since 16:00" in incident.owners_notice["en"]
    # The plan's chain heard of it: duty engineer on the robot, the rest on the webhook.
    hooked = {r.json()["recipient"] for r in receiver.of("webhook")}
    assert hooked == {"zhang-electric", "liu-supervisor", "chen-security"}
    (ding,) = receiver.of("dingtalk")  # alarms and incident grouped into one message
    assert ding.json()["markdown"]["text"].count("\n- ") == 3

    by = {
        "confirm": "wang-duty",
        "generator": "zhang-electric",
        "elevators": "chen-security",
        "notice": "liu-supervisor",
    }
    for step, who in by.items():
        clock.set(clock.now() + timedelta(minutes=5))
        with db.write() as session:
            inc = incidents.get(session, incident.id, for_update=True)
            incidents.step_done(session, inc, plan, step=step, by=who, now=clock.now())
    with db.write() as session:
        inc = incidents.get(session, incident.id, for_update=True)
        with pytest.raises(Conflict):
            incidents.step_done(session, inc, plan, step="confirm", by="x", now=clock.now())
    with db.write() as session:
        inc = incidents.get(session, incident.id, for_update=True)
        incidents.note(session, inc, by="wang-duty", now=clock.now(), text="供电局已恢复供电")
        incidents.close(session, inc, by="liu-supervisor", now=clock.now(), sites=sites)
    closed_at = clock.now()
    with db.read() as session:
        assert incidents.overdue_reviews(session, now=closed_at + timedelta(hours=23)) == []
        (due,) = incidents.overdue_reviews(session, now=closed_at + timedelta(hours=24))
        assert due.review_due_at == closed_at + timedelta(hours=24)
    # Nobody reviewed in 24 h: the supervisor on call is reminded, once.
    clock.set(closed_at + timedelta(hours=24))
    await notifier.run_once()
    await notifier.run_once()
    clock.set(clock.now() + timedelta(seconds=31))
    await notifier.run_once()
    reminders = [r for r in receiver.of("webhook") if "review due" in r.json()["text"]]
    assert [r.json()["recipient"] for r in reminders] == ["liu-supervisor"]
    with db.write() as session:
        inc = incidents.get(session, incident.id, for_update=True)
        review = {"response_minutes": 6, "improvements": "发电机月度试机"}
        later = closed_at + timedelta(hours=25)
        incidents.review(session, inc, by="liu-supervisor", now=later, content=review)

    with db.read() as session:
        inc = incidents.get(session, incident.id)
        entries = incidents.timeline(session, incident.id)
        document = export.to_json(inc, entries, plan)
        page = export.to_html(inc, entries, plan, language="zh-CN", tz=sites.tz(inc.site))
        published = [
            decode_any(m.topic, m.payload.encode())
            for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if "/incident/" in m.topic
        ]
    kinds = [e["kind"] for e in document["timeline"]]
    assert kinds[:2] == ["opened", "notification"]
    assert kinds.count("alarm") == 2
    assert kinds.count("step") == 4
    assert kinds[-4:] == ["note", "closed", "review_due", "review"]
    assert "workorder" in kinds  # the outage alarm's work order, from the dispatch policy
    assert all(step["done"] for step in document["checklist"])
    assert document["state"] == "reviewed"
    json.dumps(document)  # serialisable as it is
    assert page.count("<tr>") == len(entries) + 1
    assert "发电机月度试机" in page
    assert "@media print" in page
    events = [p.event for p in published if isinstance(p, IncidentEvent)]
    assert events[0] == "opened"
    assert events[-3:] == ["closed", "review_due", "reviewed"]
    assert [p.revision for p in published] == sorted(p.revision for p in published)


async def test_a_hand_opened_incident_and_its_owners_notice(
    db: Database, example_site: SiteConfig, receiver: VendorReceiver, clock: FakeClock
) -> None:
    sites = site_with(example_site, notify_config(receiver.base))
    site = sites.config("harbour-view")
    assert site is not None
    (plan,) = [p for p in site.emergency_plans if p.id == "water-outage"]
    with db.write() as session:
        inc = incidents.open_incident(
            session, site, plan, by="liu-supervisor", now=clock.now(), building="t3", sites=sites
        )
        notice = incidents.owners_notice(
            plan,
            site=site,
            building="t3",
            start=clock.now(),
            end="18:00",
            tz=sites.tz("harbour-view"),
        )
        assert inc.opened_by == "liu-supervisor"
    assert notice["zh-CN"].startswith("尊敬的业主：")
    assert "16:00至18:00" in notice["zh-CN"]
    assert "16:00–18:00" in notice["en"]
