"""The notification outbox in the API database: plan, claim, settle, count.

Exactly once per (event, recipient, channel): `key` is unique, so planning twice adds
nothing. A claim marks rows `sending` under a delivery id before anything leaves; a crash
between the send and its settle leaves them `sending`, and `recover()` at the next start
puts them back under the same delivery id (receivers that keep it, like the webhook's
`X-EstateWatch-Delivery`, see a repeat they can drop; the window is one request).
"""

from __future__ import annotations

import random
import uuid
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import mark_changed
from api.models import Notification
from api.notify.templates import Line
from estatewatch.clock import from_epoch_ms, to_epoch_ms
from estatewatch.contracts.payloads import stable_id

OUTBOX_KIND = "notify"
PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
MAX_BACKOFF = timedelta(minutes=30)


def line_data(line: Line) -> dict[str, Any]:
    return {
        "severity": line.severity,
        "what": line.what,
        "what_zh": line.what_zh,
        "where": line.where,
        "since": to_epoch_ms(line.since),
        "link": line.link,
        "escalation": line.escalation,
    }


def line_of(data: dict[str, Any]) -> Line:
    return Line(
        severity=str(data["severity"]),
        what=str(data["what"]),
        what_zh=str(data["what_zh"]) if data.get("what_zh") else None,
        where=str(data["where"]),
        since=from_epoch_ms(int(data["since"])),
        link=str(data["link"]),
        escalation=int(data.get("escalation", 0)),
    )


def row_of(
    *,
    site: str,
    event_key: str,
    subject_kind: str,
    subject_id: str,
    recipient: str,
    channel: str,
    line: Line,
    now: datetime,
    due_at: datetime,
    level: int = 0,
) -> dict[str, Any]:
    """The outbox row of a notification, keyed by (event, recipient, channel)."""
    return {
        "key": stable_id(event_key, recipient, channel),
        "site": site,
        "event_key": event_key,
        "subject_kind": subject_kind,
        "subject_id": subject_id,
        "recipient": recipient,
        "channel": channel,
        "level": level,
        "line": line_data(line),
        "status": PENDING,
        "attempts": 0,
        "due_at": due_at,
        "created_at": now,
        "sent_at": None,
        "delivery_id": None,
        "last_error": None,
    }


def plan(session: Session, row: dict[str, Any]) -> bool:
    """Queue a notification (a `row_of` row); False when this (event, recipient, channel)
    was queued before."""
    if session.scalar(select(Notification.id).where(Notification.key == row["key"])) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Notification(**row))
    except IntegrityError:  # planned at the same moment by another instance
        return False
    mark_changed(session, OUTBOX_KIND)
    return True


def plan_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Queue many notifications (`row_of`'s rows) in one statement: a storm's planning costs
    one INSERT, not a savepoint per line. Rows queued before (by key) stay as they are."""
    if not rows:
        return
    unique = list({r["key"]: r for r in rows}.values())
    table = Notification.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(table).on_conflict_do_nothing(), unique)
    mark_changed(session, OUTBOX_KIND)


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows of one recipient and channel that go as one message."""

    delivery_id: str
    site: str
    recipient: str
    channel: str
    ids: list[int]
    lines: list[Line]
    attempt: int
    subjects: list[tuple[str, str]] = field(default_factory=list)
    """(kind, id) of each row, in `ids` order."""


def recover(session: Session) -> int:
    """At start-up: rows a previous run left `sending` go back to `pending`, keeping their
    delivery id, so they are sent as the same message."""
    result: Any = session.execute(
        update(Notification).where(Notification.status == SENDING).values(status=PENDING)
    )
    return int(result.rowcount or 0)


def claim(
    session: Session,
    *,
    now: datetime,
    groups: int,
    max_lines: Callable[[str], int],
    per_hour: Callable[[str], int],
) -> list[Batch]:
    """Take up to `groups` messages due now. A group is due when its earliest row is; it
    takes every pending row of its recipient and channel (grouping), `max_lines(site)` to a
    message — a storm's lines go as several messages in the same claim. A recipient and
    channel that had `per_hour(site)` messages in the last hour waits."""
    due = session.execute(
        select(Notification.site, Notification.recipient, Notification.channel)
        .where(Notification.status == PENDING)
        .group_by(Notification.site, Notification.recipient, Notification.channel)
        .having(func.min(Notification.due_at) <= now)
        .order_by(func.min(Notification.due_at))
        .limit(groups)
    ).all()
    batches: list[Batch] = []
    for site, recipient, channel in due:
        if len(batches) >= groups:
            break
        mine = (
            Notification.site == site,
            Notification.recipient == recipient,
            Notification.channel == channel,
        )
        recent = (
            session.scalar(
                select(func.count(func.distinct(Notification.delivery_id))).where(
                    *mine,
                    Notification.status == SENT,
                    Notification.sent_at > now - timedelta(hours=1),
                )
            )
            or 0
        )
        room = min(groups - len(batches), per_hour(site) - recent)
        if room <= 0:
            session.execute(
                update(Notification)
                .where(*mine, Notification.status == PENDING)
                .values(due_at=now + timedelta(minutes=5))
            )
            continue
        batches += _claim_group(session, site, recipient, channel, now, room, max_lines(site))
    return batches


def _claim_group(
    session: Session,
    site: str,
    recipient: str,
    channel: str,
    now: datetime,
    messages: int,
    lines: int,
) -> list[Batch]:
    """Up to `messages` messages of one recipient and channel: a message tried before goes
    again exactly as it was; new rows go together once the earliest of them is due."""
    rows = session.execute(
        select(
            Notification.id,
            Notification.delivery_id,
            Notification.due_at,
            Notification.attempts,
            Notification.line,
            Notification.subject_kind,
            Notification.subject_id,
        )
        .where(
            Notification.site == site,
            Notification.recipient == recipient,
            Notification.channel == channel,
            Notification.status == PENDING,
        )
        .order_by(Notification.id)
        .limit(lines * (messages + 3))
        .with_for_update()
    ).all()
    retries = [r for r in rows if r.delivery_id is not None and r.due_at <= now]
    chunks: list[tuple[str, list[Any]]] = []
    if retries:
        retry = retries[0].delivery_id
        chunks.append((retry, [r for r in rows if r.delivery_id == retry]))
    else:
        new = [r for r in rows if r.delivery_id is None]
        if new and min(r.due_at for r in new) <= now:
            for i in range(0, min(len(new), lines * messages), lines):
                chunks.append((uuid.uuid4().hex[:20], new[i : i + lines]))
    batches = []
    for delivery_id, chunk in chunks:
        session.execute(
            update(Notification)
            .where(Notification.id.in_([r.id for r in chunk]))
            .values(status=SENDING, delivery_id=delivery_id, attempts=Notification.attempts + 1)
        )
        batches.append(
            Batch(
                delivery_id=delivery_id,
                site=site,
                recipient=recipient,
                channel=channel,
                ids=[r.id for r in chunk],
                lines=[line_of(r.line) for r in chunk],
                subjects=[(r.subject_kind, r.subject_id) for r in chunk],
                attempt=chunk[0].attempts + 1,
            )
        )
    return batches


def next_due(session: Session) -> datetime | None:
    """When the earliest pending notification falls due (its grouping window ends)."""
    return session.scalar(
        select(func.min(Notification.due_at)).where(Notification.status == PENDING)
    )


def backoff(attempt: int, base: timedelta, rng: random.Random) -> timedelta:
    """base * 2^(attempt-1), capped at 30 min, with full jitter on its second half so a
    channel coming back is not hit by every retry at once."""
    step = min(base * (2 ** max(0, attempt - 1)), MAX_BACKOFF)
    return timedelta(seconds=step.total_seconds() * (0.5 + 0.5 * rng.random()))


def settle_sent(session: Session, *, ids: list[int], now: datetime) -> None:
    session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(status=SENT, sent_at=now, last_error=None)
    )


def settle_failed(
    session: Session, *, ids: list[int], error: str, retry_at: datetime | None
) -> None:
    """Back to pending until `retry_at`; with no `retry_at`, given up (dead)."""
    values: dict[str, Any] = {"last_error": error[:2000]}
    if retry_at is None:
        values["status"] = DEAD
    else:
        values |= {"status": PENDING, "due_at": retry_at}
    session.execute(update(Notification).where(Notification.id.in_(ids)).values(**values))


def counts(session: Session, *, sites: list[str] | None = None) -> dict[tuple[str, str], int]:
    """(channel, status) -> rows: what /metrics shows as sent/pending/dead by channel;
    `sites` (an estate scope) counts only theirs."""
    query = select(Notification.channel, Notification.status, func.count())
    if sites is not None:
        query = query.where(Notification.site.in_(sites))
    rows = session.execute(query.group_by(Notification.channel, Notification.status)).all()
    return {(channel, status): int(n) for channel, status, n in rows}


def log(
    session: Session,
    *,
    site: str | None = None,
    sites: list[str] | None = None,
    limit: int = 200,
    failed_only: bool = False,
) -> list[Notification]:
    """The notification log, newest first; `sites` (an estate scope) narrows it."""
    query = select(Notification)
    if site:
        query = query.where(Notification.site == site)
    if sites is not None:
        query = query.where(Notification.site.in_(sites))
    if failed_only:
        query = query.where(Notification.last_error.is_not(None))
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def tally_by_status(rows: list[Notification]) -> Tally[str]:
    return Tally(r.status for r in rows)
