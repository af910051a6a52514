"""Keyset pagination of the board and the work-order queue, on SQLite and PostgreSQL: the
cursor walks every row once, in the list's order, and a forged cursor is refused by name."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.db import Database
from api.domain.errors import InvalidInput
from api.sites import Sites
from api.store import workorders
from api.workflows import alarms
from api.workflows.alarms import on_alarm_event
from tests.api.helpers import T0, Api, alarm_event

SEVERITIES = ("critical", "major", "minor", "warning")


def _seed(db: Database, sites: Sites, count: int) -> None:
    with db.write() as session:
        for n in range(count):
            event = alarm_event(
                f"page-{n}",
                category="pressure_loss",
                severity=SEVERITIES[n % 4],
                # pairs share a raise time, so the tie-break on the id is exercised
                raised_at=T0 + timedelta(seconds=n // 2),
            )
            on_alarm_event(session, event, now=T0, sites=sites)


def test_the_board_cursor_walks_every_open_alarm_once_in_order(db: Database, sites: Sites) -> None:
    _seed(db, sites, 23)
    with db.read() as session:
        everything, last = alarms.board(session, limit=100)
        assert last is None
        walked, cursor = [], None
        for _ in range(10):
            page, cursor = alarms.board(session, limit=5, cursor=cursor)
            walked += page
            if cursor is None:
                break
    assert len(everything) == 23
    assert [a.alarm_id for a in walked] == [a.alarm_id for a in everything]
    ranks = [SEVERITIES.index(a.severity) for a in everything]
    assert ranks == sorted(ranks)


def test_the_queue_cursor_walks_every_order_once_urgent_first(db: Database, sites: Sites) -> None:
    _seed(db, sites, 14)  # criticals become urgent orders, the rest general; warnings none
    with db.read() as session:
        everything, _ = workorders.list_orders(session, limit=100)
        walked, cursor = [], None
        for _ in range(10):
            page, cursor = workorders.list_orders(session, limit=3, cursor=cursor)
            walked += page
            if cursor is None:
                break
    assert [o.id for o in walked] == [o.id for o in everything]
    urgencies = [o.urgency for o in everything]
    assert urgencies == sorted(urgencies, reverse=True)
    assert "urgent" in urgencies


@pytest.mark.parametrize("cursor", ["nonsense", "WzEsMiwzXQ", "WyJ4Il0"])
def test_a_forged_cursor_is_refused_naming_the_field(db: Database, cursor: str) -> None:
    with db.read() as session, pytest.raises(InvalidInput) as caught:
        alarms.board(session, cursor=cursor)
    assert caught.value.field == "cursor"


def test_over_http_the_next_cursor_is_a_header(api: Api) -> None:
    for n in range(3):
        api.ingest(alarm_event(f"http-{n}", raised_at=T0 + timedelta(seconds=n)))
    first = api.get("/alarms", params={"limit": 2}, user="dina")
    cursor = first.headers["X-Next-Cursor"]
    second = api.get("/alarms", params={"limit": 2, "cursor": cursor}, user="dina")
    assert [a["alarm_id"] for a in first.json() + second.json()] == ["http-0", "http-1", "http-2"]
    assert "X-Next-Cursor" not in second.headers
    bad = api.get("/alarms", params={"cursor": "!!"}, user="dina")
    assert bad.status_code == 422
    assert bad.json()["field"] == "cursor"
    orders = api.get("/workorders", params={"limit": 1}, user="dina")
    assert orders.status_code == 200
    assert "X-Next-Cursor" in orders.headers
