"""The live stream: Server-Sent Events of alarm, work-order and device-status changes.

Each event's `id` is its feed sequence number. A client that reconnects sends it back
(`Last-Event-ID`, as browsers' EventSource do, or `?after=`) and receives every change it
missed, in order. Without a token the stream starts at the newest change and first sends a
`ready` event carrying it: load the board after `ready`, then apply events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.deps import RuntimeDep, StreamReader
from api.domain.errors import Expired, InvalidInput
from api.feedhub import Change, change_of
from api.live import wait
from api.runtime import Runtime
from api.store import feed
from estatewatch.durations import format_duration

router = APIRouter(tags=["live"])
BATCH = 500


class FeedKind(StrEnum):
    ALARM = "alarm"
    WORKORDER = "workorder"
    DEVICE_STATUS = "device_status"


def _resume_point(
    runtime: RuntimeDep,
    after: Annotated[int | None, Query(ge=0, description="resume after this id")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> int | None:
    """Where to resume, or None to start at the newest change. 410 if the token is older
    than the retained feed: reload the board and connect without a token."""
    token = after
    if token is None and last_event_id:
        if not last_event_id.isdigit():
            raise InvalidInput(
                "Last-Event-ID must be a feed sequence number", field="Last-Event-ID"
            )
        token = int(last_event_id)
    if token is None:
        return None
    with runtime.db.read() as session:
        oldest, newest = feed.bounds(session)
    if token < oldest:
        raise Expired(
            f"changes after {token} were pruned (the feed keeps "
            f"{format_duration(runtime.settings.feed_retention)}); reload and reconnect "
            "without a token",
            field="after",
            oldest=oldest,
        )
    if token > newest:
        raise InvalidInput(f"no change {token} yet (newest is {newest})", field="after")
    return token


def _event(change: Change) -> ServerSentEvent:
    """The change as an SSE event: its payload's JSON text exactly as stored."""
    return ServerSentEvent(id=str(change.seq), event=change.kind, raw_data=change.text)


def _read(
    runtime: Runtime, after: int, sites: list[str] | None, kinds: list[str] | None
) -> list[ServerSentEvent]:
    with runtime.db.read() as session:
        return [
            _event(change_of(e))
            for e in feed.events_after(session, after=after, limit=BATCH, sites=sites, kinds=kinds)
        ]


def _newest(runtime: Runtime) -> int:
    with runtime.db.read() as session:
        return feed.bounds(session)[1]


@router.get("/stream", response_class=EventSourceResponse)
async def stream(
    user: StreamReader,
    runtime: RuntimeDep,
    resume: Annotated[int | None, Depends(_resume_point)],
    site: Annotated[list[str] | None, Query()] = None,
    kind: Annotated[list[FeedKind] | None, Query()] = None,
    follow: Annotated[bool, Query(description="false: send what is there, then end")] = True,
) -> AsyncIterator[ServerSentEvent]:
    site = user.scope.narrow(site)  # each subscriber's own filter, in the hub and the database
    cursor = resume
    if cursor is None:
        cursor = await asyncio.to_thread(_newest, runtime)
        yield ServerSentEvent(id=str(cursor), event="ready", data={"seq": cursor})
    kinds = [str(k) for k in kind] if kind else None
    interval = runtime.settings.stream_poll_interval.total_seconds()
    hub = runtime.services.feed_hub
    if hub is not None:
        hub.clients += 1
    try:
        while True:
            # Take the wake-ups before reading, so a change between the two still wakes us.
            waiter = runtime.pulse.waiter(feed.FEED)
            update = hub.update() if hub is not None else None
            held = hub.after(cursor, site, kinds, BATCH) if hub is not None else None
            if held is not None:
                changes, next_cursor = held
                batch = [_event(c) for c in changes]
            else:  # older than what the hub holds, or no hub: from the database
                batch = await asyncio.to_thread(_read, runtime, cursor, site, kinds)
                next_cursor = int(batch[-1].id or cursor) if batch else cursor
            for event in batch:
                yield event
            moved, cursor = next_cursor != cursor, next_cursor
            if len(batch) == BATCH or (held is not None and moved and not batch):
                continue
            if not follow:
                return
            if update is not None and held is not None:
                await wait(update, interval)
            else:
                await wait(waiter, interval)
    finally:
        if hub is not None:
            hub.clients -= 1
