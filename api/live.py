"""Waking whoever waits for a change (the outbox publisher, live streams) after a commit.

Commits happen in worker threads; `notify` hops to the event loop. A waiter takes its event
*before* it reads the database, so a commit between its read and its wait still wakes it.
Changes made by another API instance are seen by the periodic poll that backs this up.
"""

from __future__ import annotations

import asyncio
import contextlib


class Pulse:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: dict[str, asyncio.Event] = {}

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop
        self._events.clear()

    def notify(self, kinds: frozenset[str]) -> None:
        """Thread-safe: wake the waiters of each kind of change."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(self._fire, kinds)

    def _fire(self, kinds: frozenset[str]) -> None:
        for kind in kinds:
            event = self._events.pop(kind, None)
            if event is not None:
                event.set()

    def waiter(self, kind: str) -> asyncio.Event:
        """The event the next change of `kind` sets. Take it before reading."""
        event = self._events.get(kind)
        if event is None:
            event = self._events[kind] = asyncio.Event()
        return event


async def wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds` (real time: this is a poll interval)."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
