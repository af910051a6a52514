"""Taking patrol scans in: from the site broker (one scan per message) and from the HTTP
sync endpoint (a handheld's stored scans, answered scan by scan once they are committed).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.contracts.payloads import PatrolException, PatrolScan
from gateway.messages import Outgoing, Stream, stream_topic
from gateway.pipeline import Pipeline
from gateway.scans import ScanDecision, ScanOutcome, ScanValidator

log = logging.getLogger(__name__)

MAX_SYNC_SCANS = 1000


class PatrolIntake:
    def __init__(self, validator: ScanValidator, pipeline: Pipeline, clock: Clock) -> None:
        self.validator = validator
        self.pipeline = pipeline
        self.clock = clock
        self.counts = {outcome: 0 for outcome in ScanOutcome}

    def now(self) -> int:
        return to_epoch_ms(self.clock.now())

    def take(self, decision: ScanDecision) -> None:
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
        self.pipeline.add(Outgoing(stream, topic, False, message=message), decision.statements)

    def from_mqtt(self, topic: str, payload: bytes) -> asyncio.Future[None]:
        """Take one scan message; the future resolves when what it caused is committed."""
        self.take(self.validator.from_mqtt(topic, payload, self.now()))
        return self.pipeline.committed()

    async def sync(self, items: list[Any]) -> list[dict[str, object]]:
        """Take a handheld's batch; answers once every result is committed."""
        received = self.now()
        decisions = [self.validator.from_json(item, received) for item in items]
        for decision in decisions:
            self.take(decision)
        await self.pipeline.flush()
        return [decision.answer(index) for index, decision in enumerate(decisions)]

    async def unreadable(self, body: bytes, reason: str) -> None:
        """A sync request whose body is no array of scans: the duty room still hears of it."""
        self.take(self.validator.unreadable(body, reason, self.now()))
        await self.pipeline.flush()


def _log_exception(message: PatrolException) -> None:
    log.warning(
        "patrol exception %s from %s: %s",
        message.kind.value,
        message.handheld or "an unknown sender",
        message.reason,
    )
