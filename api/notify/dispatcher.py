"""The notifier: plans from the feed, walks escalations, and delivers the outbox.

`async with Notifier(...)` runs one supervised loop: plan, escalate, deliver, then wait for
a commit (or the poll interval). Every delivery is its own task with a timeout, so a dead
or hanging channel delays nothing but itself, and nothing here is on the path of alarm or
work-order handling (they only write the feed). Tests call `plan_once`, `escalate_once` and
`deliver_once` directly under a FakeClock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import TracebackType

import httpx
from sqlalchemy.orm import Session

from api.db import Database
from api.live import Pulse, wait
from api.notify import channels, outbox
from api.notify.channels import Envelope, Sender
from api.notify.errors import DeliveryError, NotifyError
from api.notify.escalator import escalate_pass
from api.notify.handovers import notify_unsigned
from api.notify.planner import plan_pass
from api.notify.reactions import FeedReactions, NoReactions
from api.notify.templates import render
from api.sites import Sites
from api.store import feed
from api.store.batch import enqueue_all
from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import NotificationEvent
from estatewatch.supervise import supervise

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 20.0
MAX_IN_FLIGHT = 64
MIN_PAUSE_S = 0.05
ESCALATE_EVERY = timedelta(seconds=1)
ESCALATE_BUSY_EVERY = timedelta(seconds=10)
"""While a storm keeps every pass busy, escalations are walked this often at most: each walk
is a turn at SQLite's writer, and one taken mid-storm let the consumer's next batch in
before the plan, holding every planned line back by that batch (~200 ms)."""


class Notifier:
    def __init__(
        self,
        db: Database,
        sites: Sites,
        clock: Clock,
        *,
        secrets: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        pulse: Pulse | None = None,
        poll_interval: float = 5.0,
        background: bool = True,
        reactions: FeedReactions | None = None,
    ) -> None:
        self.db, self.sites, self.clock = db, sites, clock
        self.reactions = reactions or NoReactions()
        self.secrets = secrets if secrets is not None else os.environ
        self.rng = rng or random.Random()  # noqa: S311 (retry jitter, not a secret)
        self.pulse = pulse
        self.poll_interval = poll_interval
        self.background = background  # False: the caller drives the passes (tests, bench)
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        self._senders: dict[tuple[str, str], Sender] = {}
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[int]] = set()
        self._escalated: datetime | None = None
        self.attempts: Counter[tuple[str, str]] = Counter()  # (channel, outcome) -> count

    # --- the three passes ----------------------------------------------------------------

    def plan_once(self) -> int:
        with self.db.write() as session:
            return self._plan(session)

    def escalate_once(self) -> int:
        """Escalation levels now due, and reminders of incident reviews past due."""
        with self.db.write() as session:
            started = escalate_pass(session, sites=self.sites, now=self.clock.now())
            self.reactions.periodic(session, sites=self.sites, now=self.clock.now())
            notify_unsigned(session, sites=self.sites, now=self.clock.now())
            return started

    def _claim(self, groups: int) -> list[outbox.Batch]:
        if groups <= 0:
            return []
        with self.db.write() as session:
            return self._claim_in(session, groups)

    def _claim_in(self, session: Session, groups: int) -> list[outbox.Batch]:
        if groups <= 0:
            return []
        return outbox.claim(
            session,
            now=self.clock.now(),
            groups=groups,
            max_lines=self._max_lines,
            per_hour=self._per_hour,
        )

    def _max_lines(self, site: str) -> int:
        config = self.sites.config(site)
        return config.notifications.grouping.max_lines if config else 50

    def _per_hour(self, site: str) -> int:
        config = self.sites.config(site)
        return config.notifications.grouping.max_messages_per_hour if config else 30

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def deliver_once(self, *, wait: bool = True) -> int:
        """Send every message due now, concurrently; returns messages sent. With `wait`
        False the sends go on as tasks of their own, so a channel that hangs until its
        timeout holds up no other channel's messages."""
        batches = await asyncio.to_thread(self._claim, MAX_IN_FLIGHT - self.in_flight)
        if wait:
            return sum(await asyncio.gather(*(self._deliver(b) for b in batches)))
        self._start(batches)
        return 0

    def _start(self, batches: list[outbox.Batch]) -> None:
        for batch in batches:
            task = asyncio.create_task(self._deliver(batch))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def run_once(self, *, wait: bool = True) -> int:
        await asyncio.to_thread(self.plan_once)
        await asyncio.to_thread(self.escalate_once)
        return await self.deliver_once(wait=wait)

    async def _busy_pass(self) -> bool:
        """The background loop's pass: whether it found work (feed events to plan or
        messages to start), so the loop goes again at once. Planning and claiming are one
        turn at the writer: in a storm the consumer takes the writer again as soon as it is
        free, and a claim queued behind its next batch held a planned message back by a
        whole batch (~250 ms)."""
        planned, batches = await asyncio.to_thread(
            self._plan_and_claim, MAX_IN_FLIGHT - self.in_flight
        )
        self._start(batches)
        busy = bool(planned or batches)
        now = self.clock.now()
        since = None if self._escalated is None else now - self._escalated
        if since is None or since >= (ESCALATE_BUSY_EVERY if busy else ESCALATE_EVERY):
            # Levels are minutes apart: during a storm this write need not take every turn,
            # and it comes after the sends are started, not between a plan and its claim.
            self._escalated = now
            await asyncio.to_thread(self.escalate_once)
        return busy

    def _plan(self, session: Session) -> int:
        """The one way a pass plans: with the emergency plans' reactions (a background pass
        once planned without them, and no incident opened)."""
        return plan_pass(session, sites=self.sites, now=self.clock.now(), reactions=self.reactions)

    def _plan_and_claim(self, groups: int) -> tuple[int, list[outbox.Batch]]:
        with self.db.write() as session:
            planned = self._plan(session)
            batches = self._claim_in(session, groups)
        return planned, batches

    def _next_due(self) -> float:
        """Seconds until the earliest pending notification is due (its grouping window
        ends), at most the poll interval: the loop wakes for it instead of polling."""
        with self.db.read() as session:
            due = outbox.next_due(session)
        if due is None:
            return self.poll_interval
        return min(self.poll_interval, max(0.0, (due - self.clock.now()).total_seconds()))

    # --- one message ---------------------------------------------------------------------

    def sender(self, site: str, channel: str) -> Sender:
        key = (site, channel)
        if key not in self._senders:
            config = self.sites.config(site)
            if config is None:
                raise NotifyError(f"site {site!r} has no configuration")
            cfg = config.notifications.channel(channel)
            self._senders[key] = channels.build(
                cfg, client=self.client, secrets=self.secrets, clock=self.clock
            )
        return self._senders[key]

    async def _deliver(self, batch: outbox.Batch) -> int:
        config = self.sites.config(batch.site)
        error: DeliveryError | None = None
        try:
            if config is None:
                raise DeliveryError(batch.channel, "site not configured", permanent=True)
            person = config.notifications.person(batch.recipient)
            grouping = config.notifications.grouping
            tz = self.sites.tz(batch.site)
            message = render(
                batch.lines, language=person.language, tz=tz, max_lines=grouping.max_lines
            )
            envelope = Envelope(batch.delivery_id, person, message, {"lines": len(batch.lines)})
            sender = self.sender(batch.site, batch.channel)
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await sender.send(envelope)
        except DeliveryError as exc:
            error = exc
        except (NotifyError, KeyError) as exc:
            error = DeliveryError(batch.channel, f"{type(exc).__name__}: {exc}", permanent=True)
        except TimeoutError:
            error = DeliveryError(batch.channel, f"no answer in {SEND_TIMEOUT_S:.0f} s")
        await asyncio.to_thread(self._settle, batch, error)
        return 0 if error else 1

    def _settle(self, batch: outbox.Batch, error: DeliveryError | None) -> None:
        now = self.clock.now()
        config = self.sites.config(batch.site)
        with self.db.write() as session:
            if error is None:
                outbox.settle_sent(session, ids=batch.ids, now=now)
                self.attempts[(batch.channel, "sent")] += 1
            else:
                retry_at = None
                if config is not None and not error.permanent:
                    cfg = config.notifications
                    if batch.attempt < cfg.max_attempts:
                        retry_at = now + outbox.backoff(batch.attempt, cfg.retry_backoff, self.rng)
                outbox.settle_failed(session, ids=batch.ids, error=error.reason, retry_at=retry_at)
                self.attempts[(batch.channel, "failed")] += 1
                log.warning(
                    "notification %s to %s over %s failed (attempt %d): %s",
                    batch.delivery_id,
                    batch.recipient,
                    batch.channel,
                    batch.attempt,
                    error.reason,
                )
            messages = []
            for row_id, (kind, subject_id) in zip(batch.ids, batch.subjects, strict=True):
                notification_id = f"{batch.delivery_id}.{row_id}"
                event = NotificationEvent(
                    notification_id=notification_id,
                    site=batch.site,
                    event="failed" if error else "sent",
                    channel=batch.channel,
                    recipient=batch.recipient,
                    subject_kind=kind,
                    subject_id=subject_id[:256],
                    attempt=batch.attempt,
                    at=to_epoch_ms(now),
                    error=error.reason[:4000] if error else None,
                )
                topic = topics.notification(batch.site, notification_id)
                messages.append(
                    {"topic": topic, "payload": event.model_dump_json(), "created_at": now}
                )
            enqueue_all(session, messages)  # a storm's message has hundreds of lines

    # --- metrics -------------------------------------------------------------------------

    def figures(self) -> dict[str, dict[str, int]]:
        """For /metrics: rows by channel and status (pending, sending, sent, dead), plus the
        attempts this process made by channel and outcome."""
        with self.db.read() as session:
            rows = outbox.counts(session)
        out: dict[str, dict[str, int]] = {}
        for (channel, status), n in rows.items():
            out.setdefault(channel, {})[status] = n
        for (channel, outcome), n in self.attempts.items():
            out.setdefault(channel, {})[f"attempts_{outcome}"] = n
        return out

    # --- lifecycle -----------------------------------------------------------------------

    async def _loop(self) -> None:
        """Pass after pass while there is work (a storm's feed is read in several passes,
        its messages claimed as sends finish); then sleep until a commit, the next
        notification's due time, or the poll interval, whichever comes first."""
        while True:
            waiter = self.pulse.waiter(feed.FEED) if self.pulse else None
            if await self._busy_pass():
                await asyncio.sleep(0)  # let the sends just started go out
                continue
            # Due now but nothing claimed (every slot busy, say): look again shortly.
            pause = max(await asyncio.to_thread(self._next_due), MIN_PAUSE_S)
            if waiter is not None:
                await wait(waiter, pause)
            else:
                await self.clock.sleep(pause)

    async def __aenter__(self) -> Notifier:
        await asyncio.to_thread(self.recover)
        if self.background:
            self._task = asyncio.create_task(supervise("notifier", self._loop))
        return self

    def recover(self) -> None:
        """Put back what a previous run left half-sent (at start-up)."""
        with self.db.write() as session:
            again = outbox.recover(session)
        if again:
            log.warning("%d notification(s) were being sent at the last stop; resending", again)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Sends cut short stay claimed; the next start sends them under the same id.
        tasks = [t for t in (self._task, *self._in_flight) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.aclose()
