"""One reader of the change feed for every live stream of this API instance.

Two hundred dashboards on one change would otherwise run two hundred identical queries; the
hub reads each new change once, keeps the recent ones in memory and wakes every stream. A
stream whose cursor is older than what the hub holds (a reconnect after a while) reads the
database itself until it has caught up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from api.db import Database
from api.live import Pulse, wait
from api.schemas.feed import FeedChange, parse_change
from api.store import feed

log = logging.getLogger(__name__)

KEEP = 2000
"""Changes held in memory: a burst larger than this sends slow streams to the database."""
READ_BATCH = 500


@dataclass(slots=True)
class Change:
    """A change of the feed: its kind, site and subject as stored, and its payload's JSON
    text as stored (`text`, what the stream sends). Its writer built the payload from the
    model of its kind (`api.schemas.feed`), so reading it back neither validates nor even
    decodes it: a storm's thousands of changes a second were a fifth of the API's CPU here,
    parsed for streams that only send the text on. `data` decodes it, once, when a caller
    needs it (every technician's own stream asks the hub's one copy whose order it is), and
    `change` validates it."""

    seq: int
    kind: str
    site: str
    subject_id: str
    text: str
    _data: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json.loads(self.text)
        return self._data

    @property
    def change(self) -> FeedChange:
        return parse_change(
            kind=self.kind, site=self.site, subject_id=self.subject_id, payload=self.data
        )


def change_of(event: feed.StoredChange) -> Change:
    """A stored change, as stored."""
    return Change(event.seq, event.kind, event.site, event.subject_id, event.payload)


class FeedHub:
    def __init__(self, db: Database, pulse: Pulse, *, poll_interval: float) -> None:
        self.db, self.pulse, self.poll_interval = db, pulse, poll_interval
        self.clients = 0
        """Live streams connected now (the stream route counts them in and out)."""
        self._held: deque[Change] = deque(maxlen=KEEP)
        self.base = 0
        """The seq before the first held change: cursors from here on are served."""
        self.newest = 0
        self._updated = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def update(self) -> asyncio.Event:
        """Set at the next update. Take it before asking `after`."""
        return self._updated

    def after(
        self, cursor: int, sites: list[str] | None, kinds: list[str] | None, limit: int
    ) -> tuple[list[Change], int] | None:
        """The held changes after `cursor` that pass the filters, and the cursor to go on
        from; None when the cursor is older than what is held."""
        if cursor < self.base or self._task is None:
            return None
        out: list[Change] = []
        last = max(cursor, self.newest)
        for change in self._held:
            if change.seq <= cursor:
                continue
            if (sites and change.site not in sites) or (kinds and change.kind not in kinds):
                continue
            out.append(change)
            if len(out) == limit:
                return out, change.seq
        return out, last

    def _read(self) -> list[Change]:
        with self.db.read() as session:
            return [
                change_of(e)
                for e in feed.events_after(session, after=self.newest, limit=READ_BATCH)
            ]

    def _newest(self) -> int:
        with self.db.read() as session:
            return feed.bounds(session)[1]

    async def _run(self) -> None:
        interval = self.poll_interval
        while True:
            waiter = self.pulse.waiter(feed.FEED)
            try:
                changes = await asyncio.to_thread(self._read)
            except Exception:  # the database is away: streams wait, the hub tries again
                log.exception("live-stream hub cannot read the feed")
                await asyncio.sleep(1.0)
                continue
            if changes:
                if len(self._held) + len(changes) > KEEP:
                    dropped = len(self._held) + len(changes) - KEEP
                    self.base = (list(self._held) + changes)[dropped - 1].seq
                self._held.extend(changes)
                self.newest = changes[-1].seq
                woken, self._updated = self._updated, asyncio.Event()
                woken.set()
                if len(changes) == READ_BATCH:
                    continue
            await wait(waiter, interval)

    def figures(self) -> dict[str, float]:
        return {"clients": self.clients, "held": len(self._held), "newest": self.newest}

    async def __aenter__(self) -> FeedHub:
        self.newest = self.base = await asyncio.to_thread(self._newest)
        self._task = asyncio.create_task(self._run(), name="feed-hub")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._updated.set()  # streams waiting on it look again (and find the database)
