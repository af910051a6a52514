"""The outbox under a FakeClock with real receivers: grouping, escalation, exactly once
across a restart, and a dead channel that never holds anything else up."""

from __future__ import annotations

import asyncio
import random
import socket
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.db import Database
from api.incidents.automation import IncidentReactions
from api.models import Counter as FeedCursor
from api.models import Notification
from api.notify import outbox
from api.notify.dispatcher import Notifier
from api.notify.planner import CURSOR
from api.sites import Sites
from estatewatch.clock import FakeClock
from estatewatch.config import SiteConfig
from tests.notify.conftest import ENV
from tests.notify.helpers import acknowledge, notify_config, raise_alarm, raise_storm, site_with
from tests.notify.receivers import VendorReceiver


def sites_for(example_site: SiteConfig, base: str) -> Sites:
    return site_with(example_site, notify_config(base), emergency_plans=[])


def notifier(db: Database, sites: Sites, clock: FakeClock) -> Notifier:
    return Notifier(
        db,
        sites,
        clock,
        secrets=ENV,
        rng=random.Random(7),
        background=False,
        reactions=IncidentReactions(),
    )


async def tick(n: Notifier, clock: FakeClock, seconds: float) -> int:
    clock.set(clock.now() + timedelta(seconds=seconds))
    return await n.run_once()


async def test_an_alarm_storm_is_one_message_per_recipient(
    db: Database, example_site: SiteConfig, receiver: VendorReceiver, clock: FakeClock
) -> None:
    sites = sites_for(example_site, receiver.base)
    for i in range(40):
        raise_alarm(db, sites, n=i, at=clock.now())
    async with notifier(db, sites, clock) as n:
        assert await tick(n, clock, 1) == 0  # inside the grouping window: nothing yet
        assert await tick(n, clock, 30) == 1
        assert await tick(n, clock, 60) == 0
    (message,) = receiver.of("dingtalk")
    text = message.json()["markdown"]["text"]
    assert text.count("\n- 【紧急】配电房停电") == 40
    assert "40 条通知" in message.json()["markdown"]["title"]


async def test_escalation_walks_the_chain_and_stops_on_ack(
    db: Database, example_site: SiteConfig, receiver: VendorReceiver, clock: FakeClock
) -> None:
    sites = sites_for(example_site, receiver.base)
    start = clock.now()
    alarm_id = raise_alarm(db, sites, n=1, at=start)
    arrivals: list[tuple[int, str, str]] = []  # (minute, channel, recipient)
    async with notifier(db, sites, clock) as n:
        await n.run_once()  # the feed's commit wakes the notifier at once
        for minute in range(1, 91):
            if minute == 40:
                acknowledge(db, alarm_id, by="liu-supervisor", at=clock.now())
            before = len(receiver.received)
            await tick(n, clock, 60)
            for got in receiver.received[before:]:
                who = got.json().get("recipient") or got.json()["at"]["atMobiles"][0]
                arrivals.append((minute, got.path, who))
    assert sorted(arrivals) == [
        (1, "dingtalk", "13800000001"),  # level 0: the duty engineer on call
        (16, "webhook", "liu-supervisor"),  # level 1: one urgent-response time (15 min) later
        (31, "webhook", "chen-security"),  # level 2 at 30 min
        (31, "webhook", "liu-supervisor"),
    ]  # acknowledged at minute 40: the repeat due at 45 never came
    levels = {r.json()["recipient"]: r.json()["text"] for r in receiver.of("webhook")}
    assert "escalation level 2" in levels["chen-security"]  # English for Chen


async def test_a_restart_mid_delivery_sends_nothing_twice_and_drops_nothing(
    db: Database, example_site: SiteConfig, receiver: VendorReceiver, clock: FakeClock
) -> None:
    sites = sites_for(example_site, receiver.base)
    for i in range(5):
        raise_alarm(db, sites, n=i, at=clock.now(), building=f"t{1 + i % 4}")
    first = notifier(db, sites, clock)
    first.plan_once()
    first.escalate_once()
    clock.set(clock.now() + timedelta(seconds=31))
    first._claim(64)  # claimed, then the process dies before anything left
    # The same alarm events redelivered after the restart change nothing.
    for i in range(5):
        assert raise_alarm(db, sites, n=i, at=clock.now(), building=f"t{1 + i % 4}")
    async with notifier(db, sites, clock) as second:
        await second.run_once()
        await tick(second, clock, 60)
    with db.read() as session:
        rows = session.scalars(select(Notification)).all()
    assert {r.status for r in rows} == {"sent"}
    keys = Counter((r.event_key, r.recipient, r.channel) for r in rows)
    assert len(keys) == 5
    assert max(keys.values()) == 1
    assert len(receiver.of("dingtalk")) == 1  # one grouped message, sent once


async def test_a_message_sent_but_not_recorded_goes_again_under_the_same_delivery_id(
    db: Database, example_site: SiteConfig, receiver: VendorReceiver, clock: FakeClock
) -> None:
    sites = site_with(
        example_site,
        notify_config(receiver.base, routes=[{"id": "all", "people": ["liu-supervisor"]}]),
        emergency_plans=[],
    )
    raise_alarm(db, sites, n=1, at=clock.now())

    class PowerCut(Exception):
        pass

    class DiesAfterSending(Notifier):
        def _settle(self, batch: outbox.Batch, error: object) -> None:
            raise PowerCut("the process dies before it records the send")

    first = DiesAfterSending(db, sites, clock, secrets=ENV)
    first.plan_once()
    clock.set(clock.now() + timedelta(seconds=31))
    with pytest.raises(PowerCut):
        await first.deliver_once()
    async with notifier(db, sites, clock) as second:
        assert await second.run_once() == 1
        assert await tick(second, clock, 60) == 0
    deliveries = [r.headers["X-EstateWatch-Delivery"] for r in receiver.of("webhook")]
    assert len(deliveries) == 2
    assert len(set(deliveries)) == 1


async def test_a_dead_channel_is_retried_and_reported_while_alarms_keep_flowing(
    db: Database, example_site: SiteConfig, receiver: VendorReceiver, clock: FakeClock
) -> None:
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    config = notify_config(
        receiver.base,
        channels=[
            {"type": "dingtalk", "id": "ding", "url": f"{dead}/dingtalk", "secret_ref": "DING"},
            {
                "type": "webhook",
                "id": "hook",
                "url": f"{receiver.base}/webhook",
                "secret_ref": "WH",
            },
        ],
        routes=[
            {"id": "critical", "match": {"severities": ["critical"]}, "roles": ["duty_engineer"]},
            {"id": "power", "roles": ["electrician"]},
        ],
    )
    sites = site_with(example_site, config, emergency_plans=[])
    async with notifier(db, sites, clock) as n:
        for minute in range(12):
            raise_alarm(db, sites, n=minute, at=clock.now())  # never waits for delivery
            await tick(n, clock, 60)
        metrics = n.figures()
    # The electrician heard about every alarm, on time, while the robot was dead.
    assert sum(r.json()["lines"] for r in receiver.of("webhook")) == 12
    assert metrics["ding"]["attempts_failed"] >= 3
    assert metrics["ding"].get("dead", 0) + metrics["ding"].get("pending", 0) == 12
    assert metrics["hook"]["sent"] == 12


async def test_a_hanging_channel_holds_up_no_other(
    db: Database, example_site: SiteConfig, receiver: VendorReceiver, clock: FakeClock
) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        hang = f"http://127.0.0.1:{silent.getsockname()[1]}"
        config = notify_config(
            receiver.base,
            channels=[
                {"type": "dingtalk", "id": "ding", "url": f"{hang}/dingtalk", "secret_ref": "DING"},
                {
                    "type": "webhook",
                    "id": "hook",
                    "url": f"{receiver.base}/webhook",
                    "secret_ref": "WH",
                },
            ],
            routes=[{"id": "all", "roles": ["duty_engineer", "electrician"]}],
        )
        sites = site_with(example_site, config, emergency_plans=[])
        raise_alarm(db, sites, n=1, at=clock.now())
        first = notifier(db, sites, clock)
        async with first:
            first.plan_once()
            clock.set(clock.now() + timedelta(seconds=31))
            assert await first.deliver_once(wait=False) == 0
            got = await asyncio.to_thread(receiver.wait_for, 1, 10)
            assert [r.json()["recipient"] for r in got] == ["zhang-electric"]
            for _ in range(250):  # the webhook's send settles; the robot's never answers
                if first.in_flight == 1:
                    break
                await asyncio.sleep(0.02)
            assert first.in_flight == 1
        # Stopped mid-send: the robot's message is kept and goes again under the same id.
        with db.read() as session:
            (stuck,) = session.scalars(select(Notification).where(Notification.channel == "ding"))
        assert stuck.status == "sending"
        second = notifier(db, sites, clock)
        second.recover()
        with db.read() as session:
            again = session.get(Notification, stuck.id)
            assert again is not None
            assert (again.status, again.delivery_id) == ("pending", stuck.delivery_id)


async def test_changes_older_than_an_hour_are_not_notified(
    db: Database, example_site: SiteConfig, receiver: VendorReceiver, clock: FakeClock
) -> None:
    sites = sites_for(example_site, receiver.base)
    raise_alarm(db, sites, n=1, at=clock.now() - timedelta(hours=2))  # stored two hours ago
    fresh = raise_alarm(db, sites, n=2, at=clock.now())
    n = notifier(db, sites, clock)
    assert n.plan_once() == 4  # each alarm and the work order it opened
    with db.read() as session:
        planned = {r.subject_id for r in session.scalars(select(Notification))}
    assert planned == {fresh}


async def test_a_storm_beyond_a_message_goes_in_one_pass_every_alarm_once(
    db: Database, example_site: SiteConfig, receiver: VendorReceiver, clock: FakeClock
) -> None:
    grouping = {"window": "30s", "max_lines": 50, "max_messages_per_hour": 30}
    sites = site_with(
        example_site, notify_config(receiver.base, grouping=grouping), emergency_plans=[]
    )
    raise_storm(db, sites, count=120, at=clock.now())
    async with notifier(db, sites, clock) as n:
        await tick(n, clock, 1)  # planned, inside the grouping window
        with db.write() as session:  # the feed read again, as after a crash before the cursor
            cursor = session.get(FeedCursor, CURSOR)
            assert cursor is not None
            cursor.value = 0
        await tick(n, clock, 1)
        with db.read() as session:
            rows = session.scalars(select(Notification).where(Notification.channel == "ding"))
            planned = Counter(r.subject_id for r in rows)
        assert planned == {f"power-room-1.outage.{i}": 1 for i in range(120)}
        await tick(n, clock, 30)
        assert len(receiver.of("dingtalk")) == 3  # 120 lines, 50 to a message, in one pass
        await tick(n, clock, 60)
    messages = receiver.of("dingtalk")
    lines = [m.json()["markdown"]["text"].count("\n- 【紧急】配电房停电") for m in messages]
    assert sorted(lines) == [20, 50, 50]
