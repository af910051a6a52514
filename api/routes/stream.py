"""The live stream: Server-Sent Events of alarm, work-order and device-status changes.

Each event's `id` is its feed sequence number. A client that reconnects sends it back
(`Last-Event-ID`, as browsers' EventSource do, or `?after=`) and receives every change it
missed, in order. Without a token the stream starts at the newest change and first sends a
`ready` event carrying it: load the board after `ready`, then apply events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.deps import CurrentUser, RuntimeDep
from api.domain.errors import Expired, Forbidden, InvalidInput
from api.domain.permissions import Permission, Principal, has
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


@dataclass(frozen=True, slots=True)
class _Reader:
    user: Principal
    mine: bool


def _reader(
    user: CurrentUser,
    mine: Annotated[
        bool,
        Query(
            description="only changes of work orders assigned to me (or that I made): a "
            "technician's own alerts; the only stream a technician may read"
        ),
    ] = False,
) -> _Reader:
    """Who may follow the stream: the watch roles, every change of their estates; anyone
    who reads orders (a technician), their own orders only (`mine`)."""
    if has(user.role, Permission.STREAM_READ) or (mine and has(user.role, Permission.ORDER_READ)):
        return _Reader(user, mine)
    raise Forbidden(
        f"a {user.role} may follow only the orders assigned to them: add mine=true"
        if has(user.role, Permission.ORDER_READ)
        else f"a {user.role} may not read the live stream",
        field="mine",
        detail_zh="无权查看实时推送"
        if not has(user.role, Permission.ORDER_READ)
        else "只能订阅指派给自己的工单（mine=true）",
    )


def _mine(change: Change, username: str) -> bool:
    """A work-order change of an order assigned to `username`, or one they made (declining
    it leaves it unassigned)."""
    if change.kind != FeedKind.WORKORDER:
        return False
    data = change.data
    return bool(data.get("assignee") == username or data.get("by") == username)


def _event(change: Change) -> ServerSentEvent:
    """The change as an SSE event: its payload's JSON text exactly as stored."""
    return ServerSentEvent(id=str(change.seq), event=change.kind, raw_data=change.text)


def _read(
    runtime: Runtime, after: int, sites: list[str] | None, kinds: list[str] | None
) -> list[Change]:
    with runtime.db.read() as session:
        return [
            change_of(e)
            for e in feed.events_after(session, after=after, limit=BATCH, sites=sites, kinds=kinds)
        ]


def _newest(runtime: Runtime) -> int:
    with runtime.db.read() as session:
        return feed.bounds(session)[1]


@router.get("/stream", response_class=EventSourceResponse)
async def stream(
    reader: Annotated[_Reader, Depends(_reader)],
    runtime: RuntimeDep,
    resume: Annotated[int | None, Depends(_resume_point)],
    site: Annotated[list[str] | None, Query()] = None,
    kind: Annotated[list[FeedKind] | None, Query()] = None,
    follow: Annotated[bool, Query(description="false: send what is there, then end")] = True,
) -> AsyncIterator[ServerSentEvent]:
    user, mine = reader.user, reader.mine
    site = user.scope.narrow(site)  # each subscriber's own filter, in the hub and the database
    if mine:
        kind = [FeedKind.WORKORDER]
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
                batch, next_cursor = held
            else:  # older than what the hub holds, or no hub: from the database
                batch = await asyncio.to_thread(_read, runtime, cursor, site, kinds)
                next_cursor = batch[-1].seq if batch else cursor
            for change in batch:
                if not mine or _mine(change, user.username):
                    yield _event(change)
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
