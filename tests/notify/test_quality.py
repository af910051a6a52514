"""Weekly quality sampling: 20 % rounded up, reproducible from its seed; a "not fixed"
callback reopens the order with escalation; results per technician and trade."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from api.db import Database
from api.domain import quality
from api.domain.permissions import Role
from api.incidents.automation import IncidentReactions
from api.models import WorkOrder, WorkOrderLog
from api.notify.dispatcher import Notifier
from api.schemas.user import UserCreate
from api.sites import Sites
from api.store import quality as sample_store
from api.store import workorders
from api.workflows import quality as samples
from api.workflows import users
from estatewatch.clock import FakeClock
from estatewatch.config import SiteConfig
from tests.dates import day, local
from tests.notify.conftest import ENV
from tests.notify.helpers import notify_config, site_with
from tests.notify.receivers import VendorReceiver

MONDAY = day(-7)


@pytest.mark.parametrize(("n", "k"), [(0, 0), (1, 1), (5, 1), (10, 2), (11, 3), (40, 8)])
def test_twenty_percent_rounded_up(n: int, k: int) -> None:
    assert quality.sample_size(n, 20.0) == k


@given(st.lists(st.text(min_size=1, max_size=6), max_size=60), st.integers(0, 2**48))
def test_a_draw_is_reproducible_from_its_seed(ids: list[str], seed: int) -> None:
    first = quality.draw(ids, 20.0, seed)
    assert first == quality.draw(list(reversed(ids)), 20.0, seed)
    assert len(first) == quality.sample_size(len(set(ids)), 20.0)
    assert set(first) <= set(ids)


def closed_orders(db: Database, sites: Sites, n: int, *, state: str = "closed") -> list[str]:
    tz = sites.tz(sites.ids[0])
    ids = []
    with db.write() as session:
        for i in range(n):
            done = local(-7, 9, tz=tz) + timedelta(hours=7 * i)
            order = workorders.new_order(
                id=f"wo-{i:03d}",
                site=sites.ids[0],
                source="manual",
                category="repair",
                title=f"Leaking tap #{i}",
                description="",
                trade=("water_electric", "civil")[i % 2],
                department="engineering",
                urgency="general",
                building="t1",
                device=None,
                location="",
                requester_name=None,
                requester_contact=None,
                reported_at=done - timedelta(hours=2),
                created_at=done - timedelta(hours=2),
                created_by="cs",
            )
            order.assignee = ("li-tech", "zhao-tech")[i % 3 == 0]
            order.state = state if i else "verified"
            order.completed_at = done
            session.add(order)
            ids.append(order.id)
    return ids


def test_the_weekly_sample_and_a_not_fixed_callback(
    db: Database, example_site: SiteConfig, clock: FakeClock
) -> None:
    sites = Sites([example_site])
    population = closed_orders(db, sites, 23)  # 23 done in the week -> 5 sampled
    with db.write() as session:
        for name in ("li-tech", "zhao-tech"):
            data = UserCreate(username=name, password="tech-pass-123", role=Role.TECHNICIAN)
            users.create(session, data=data, cost=12, now=clock.now())
    # A seed whose draw includes wo-000, the one order still awaiting its callback.
    seed = next(s for s in range(1000) if "wo-000" in quality.draw(population, 20.0, s))
    with db.write() as session:
        sample = samples.take_sample(
            session,
            site=sites.ids[0],
            monday=MONDAY,
            by="zhou-quality",
            now=clock.now(),
            sites=sites,
            seed=seed,
        )
        again = samples.take_sample(
            session, site=sites.ids[0], monday=MONDAY, by="x", now=clock.now(), sites=sites
        )
        sample_id, picked, recorded = sample.id, list(sample.order_ids), sample.seed
    assert again.id == sample_id  # one sample per week
    assert len(picked) == 5
    assert sorted(sample.population) == sorted(population)
    assert recorded == seed
    assert picked == quality.draw(sample.population, 20.0, recorded)  # reproduced from the record

    with db.write() as session:
        reopened = samples.record_callback(
            session,
            sample_id=sample_id,
            order_id="wo-000",
            result="not_fixed",
            by="zhou-quality",
            note="还在漏水",
            now=clock.now(),
            sites=sites,
        ).reopened
        assert reopened is not None
        closed_one = next(p for p in picked if p != "wo-000")
        follow = samples.record_callback(
            session,
            sample_id=sample_id,
            order_id=closed_one,
            result="not_fixed",
            by="zhou-quality",
            note="",
            now=clock.now(),
            sites=sites,
        ).reopened
        assert follow is not None
        for other in picked[2:]:
            samples.record_callback(
                session,
                sample_id=sample_id,
                order_id=other,
                result="satisfied",
                by="zhou-quality",
                note="",
                now=clock.now(),
                sites=sites,
            )
    with db.read() as session:
        order = session.get(WorkOrder, "wo-000")
        assert order is not None
        assert order.state == "dispatched"
        assert order.escalation_level >= 1  # (old SLA clocks it now misses escalate it too)
        actions = session.scalars(
            select(WorkOrderLog.action).where(WorkOrderLog.order_id == "wo-000")
        ).all()
        assert "reopen" in actions
        assert actions[actions.index("reopen") + 1] == "escalate"
        rework = session.get(WorkOrder, follow.id)
        assert rework is not None
        assert rework.escalation_level == 1
        assert closed_one in rework.description
        report = sample_store.report(
            session,
            site=sites.ids[0],
            since=local(-32, tz=clock.now().tzinfo),
            until=local(28, tz=clock.now().tzinfo),
        )
    assert sum(int(r["sampled"]) for r in report) == 5  # type: ignore[call-overload]
    assert sum(int(r["not_fixed"]) for r in report) == 2  # type: ignore[call-overload]
    assert sum(int(r["satisfied"]) for r in report) == 3  # type: ignore[call-overload]


async def test_not_fixed_reaches_the_supervisor(
    db: Database, example_site: SiteConfig, receiver: VendorReceiver, clock: FakeClock
) -> None:
    config = notify_config(
        receiver.base,
        routes=[
            {"id": "esc", "match": {"events": ["workorder.escalated"]}, "roles": ["supervisor"]}
        ],
    )
    sites = site_with(example_site, config, emergency_plans=[])
    closed_orders(db, sites, 6)
    with db.write() as session:
        sample = samples.take_sample(
            session, site=sites.ids[0], monday=MONDAY, by="q", now=clock.now(), sites=sites, seed=1
        )
        target = next(o for o in sample.order_ids if o != "wo-000")
        samples.record_callback(
            session,
            sample_id=sample.id,
            order_id=target,
            result="not_fixed",
            by="q",
            note="",
            now=clock.now(),
            sites=sites,
        )
    notifier = Notifier(
        db,
        sites,
        clock,
        secrets=ENV,
        rng=random.Random(1),
        background=False,
        reactions=IncidentReactions(),
    )
    await notifier.run_once()
    clock.set(clock.now() + timedelta(seconds=31))
    assert await notifier.run_once() == 1
    (got,) = receiver.of("webhook")
    assert got.json()["recipient"] == "liu-supervisor"
    assert "返修 rework" in got.json()["text"]
