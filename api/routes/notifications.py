"""The notification log, the on-call rota now, and delivery counts by channel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from api.deps import ClockDep, NotifyReader, ReaderDep, SitesDep
from api.domain.errors import NotFound
from api.notify import outbox, routing
from estatewatch.config.notify import OnCallRole

router = APIRouter(prefix="/notifications", tags=["notifications"])


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site: str
    event_key: str
    subject_kind: str
    subject_id: str
    recipient: str
    channel: str
    level: int
    status: str
    attempts: int
    due_at: datetime
    created_at: datetime
    sent_at: datetime | None
    delivery_id: str | None
    last_error: str | None


class OnCallPublic(BaseModel):
    role: OnCallRole
    people: list[dict[str, str]]


@router.get("")
def notification_log(
    user: NotifyReader,
    session: ReaderDep,
    site: str | None = None,
    failed: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[NotificationPublic]:
    """Newest first; `failed=true`: only those whose last attempt failed."""
    rows = outbox.log(session, site=site, sites=user.scope.sites, limit=limit, failed_only=failed)
    return [NotificationPublic.model_validate(r) for r in rows]


@router.get("/counts")
def counts(user: NotifyReader, session: ReaderDep) -> dict[str, dict[str, int]]:
    """Rows by channel and status (pending, sending, sent, dead)."""
    out: dict[str, dict[str, int]] = {}
    for (channel, status), n in outbox.counts(session, sites=user.scope.sites).items():
        out.setdefault(channel, {})[status] = n
    return out


@router.get("/oncall")
def on_call_now(
    _: NotifyReader, site: str, sites: SitesDep, clock: ClockDep, at: datetime | None = None
) -> list[OnCallPublic]:
    """Who holds each role at `at` (default: now)."""
    config = sites.config(site)
    if config is None:
        raise NotFound(f"no site {site!r}", field="site")
    moment = at or clock.now()
    out = []
    for role in OnCallRole:
        ids = routing.on_call(config.notifications, config.shifts, role, moment, sites.tz(site))
        people = [config.notifications.person(i) for i in ids]
        out.append(OnCallPublic(role=role, people=[{"id": p.id, "name": p.name} for p in people]))
    return out
