"""Taking patrol scans in: from the site broker (one scan per message: the `handheld-scans`
source) and from the HTTP sync endpoint (a handheld's stored scans, answered scan by scan
once they are committed). Both go through one `PatrolIntake`: the checks and their memory.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import PatrolException, PatrolScan
from gateway.messages import Outgoing, Stream, stream_topic
from gateway.scans import ScanDecision, ScanOutcome, ScanValidator
from gateway.sink import Sink
from gateway.site_mqtt import Route, SiteBroker

log = logging.getLogger(__name__)

MAX_SYNC_SCANS = 1000


class PatrolIntake:
    def __init__(self, validator: ScanValidator, clock: Clock) -> None:
        self.validator = validator
        self.clock = clock
        self.counts = {outcome: 0 for outcome in ScanOutcome}

    def now(self) -> int:
        return to_epoch_ms(self.clock.now())

    def scan_counts(self) -> dict[str, int]:
        """Scans taken so far, by outcome."""
        return {outcome.value: count for outcome, count in self.counts.items()}

    def take(self, decision: ScanDecision, sink: Sink) -> None:
        """Queue what a decision says to send, with the memory it updates."""
        self.counts[decision.outcome] += 1
        message = decision.message
        if message is None:
            return
        site, gateway = self.validator.site.site.id, self.validator.gateway
        if isinstance(message, PatrolScan):
            stream = Stream.PATROL_SCAN
            log.info(
                "scan of %s by %s (%s)", message.checkpoint, message.guard, message.source.value
            )
        else:
            stream = Stream.PATROL_EXCEPTION
            _log_exception(message)
        topic = stream_topic(stream, site, gateway)
        sink.add(Outgoing(stream, topic, False, message=message), decision.statements)

    def from_mqtt(self, topic: str, payload: bytes, sink: Sink) -> asyncio.Future[None]:
        """Take one scan message; the future resolves when what it caused is committed."""
        self.take(self.validator.from_mqtt(topic, payload, self.now()), sink)
        return sink.committed()

    async def sync(self, items: list[Any], sink: Sink) -> list[dict[str, object]]:
        """Take a handheld's batch; answers once every result is committed."""
        received = self.now()
        decisions = [self.validator.from_json(item, received) for item in items]
        for decision in decisions:
            self.take(decision, sink)
        await sink.flush()
        return [decision.answer(index) for index, decision in enumerate(decisions)]

    async def unreadable(self, body: bytes, reason: str, sink: Sink) -> None:
        """A sync request whose body is no array of scans: the duty room still hears of it."""
        self.take(self.validator.unreadable(body, reason, self.now()), sink)
        await sink.flush()


class HandheldScans:
    """Scans that handhelds and fixed readers publish on the site broker: the
    `handheld-scans` source."""

    name = "handheld-scans"

    def __init__(self, intake: PatrolIntake, site: str) -> None:
        self.intake = intake
        self.site = site
        self.filter = topics.handheld_filter(site)
        self.received = 0
        self.failed = 0
        self._listening: tuple[SiteBroker, Route] | None = None

    def accepts(self, topic: str) -> bool:
        parts = topics.parse(topic)
        return parts is not None and parts.kind == "handheld_scan" and parts.site == self.site

    async def listen(self, broker: SiteBroker) -> None:
        """Subscribe to the site's handheld topics."""
        self._listening = broker, await broker.route(self.name, [self.filter], self.accepts)

    async def run(self, sink: Sink) -> None:
        if self._listening is None:
            raise RuntimeError(f"{self.name}: listen() before run()")
        broker, route = self._listening
        async for message in broker.messages(route):
            self.received += 1
            try:
                committed = self.intake.from_mqtt(message.topic, message.payload, sink)
            except Exception:  # a supervisor: one message our code cannot take must not
                # stop the others, nor come back for ever (it is acknowledged all the same)
                self.failed += 1
                log.exception("cannot take the message on %s; skipped", message.topic)
                committed = sink.committed()
            broker.ack_when(message, committed)


def _log_exception(message: PatrolException) -> None:
    log.warning(
        "patrol exception %s from %s: %s",
        message.kind.value,
        message.handheld or "an unknown sender",
        message.reason,
    )
