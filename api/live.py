"""Waking whoever waits for a change (the outbox publisher, live streams) after a commit.

Commits happen in worker threads; `notify` hops to the event loop. A waiter takes its event
*before* it reads the database, so a commit between its read and its wait still wakes it.
Changes made by another API instance are seen by the periodic poll that backs this up.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Pulse:
    """Events per kind of change, per event loop: waiters on any loop are woken (an app whose
    lifespan runs twice at once, as a test client beside a fuzzer's does, must not hand one
    loop's event to another)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[asyncio.AbstractEventLoop, dict[str, asyncio.Event]] = {}

    def notify(self, kinds: frozenset[str]) -> None:
        """Thread-safe: wake the waiters of each kind of change."""
        with self._lock:
            loops = list(self._events)
        for loop in loops:
            if loop.is_closed():
                with self._lock:
                    self._events.pop(loop, None)
                continue
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(self._fire, loop, kinds)

    def _fire(self, loop: asyncio.AbstractEventLoop, kinds: frozenset[str]) -> None:
        with self._lock:
            events = self._events.get(loop, {})
            woken = [e for e in (events.pop(kind, None) for kind in kinds) if e is not None]
        for event in woken:
            event.set()

    def waiter(self, kind: str) -> asyncio.Event:
        """The event the next change of `kind` sets, on the running loop. Take it before
        reading."""
        loop = asyncio.get_running_loop()
        with self._lock:
            events = self._events.setdefault(loop, {})
            event = events.get(kind)
            if event is None:
                event = events[kind] = asyncio.Event()
        return event

    def forget(self, loop: asyncio.AbstractEventLoop) -> None:
        """Drop a loop's waiters (its lifespan ended)."""
        with self._lock:
            self._events.pop(loop, None)


async def wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds` (real time: this is a poll interval)."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
