"""Liveness and readiness, without signing in."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api.deps import ReaderDep, RuntimeDep
from api.models import OutboxMessage
from api.store import feed

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str
    mqtt: str
    outbox_pending: int
    feed_seq: int
    notify: Literal["running", "off"] = Field(
        description="off: the API runs without its notifier (EW_NOTIFY unset), nobody is "
        "told of an alarm"
    )
    calendar_unknown_years: dict[str, list[int]] = Field(
        default_factory=dict,
        description="per site, the years (now to 45 days ahead) whose public holidays are "
        "unknown: working days there are guessed from the weekdays",
    )


@router.get("/health")
@router.get("/api/health", include_in_schema=False)  # where a proxy mounts the API under /api
def health(runtime: RuntimeDep, session: ReaderDep) -> Health:
    pending = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
    )
    bus = runtime.services.figures().get("bus")
    if bus is None:
        mqtt = "disabled" if runtime.settings.mqtt_url is None else "starting"
    else:
        mqtt = "connected" if bus["connected"] else "disconnected"
    return Health(
        status="ok",
        database=runtime.db.url.get_backend_name(),
        mqtt=mqtt,
        outbox_pending=int(pending or 0),
        feed_seq=feed.bounds(session)[1],
        notify="off" if runtime.notifier is None else "running",
        calendar_unknown_years=runtime.sites.calendar_gaps(runtime.clock.now()),
    )
