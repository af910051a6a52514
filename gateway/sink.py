"""What a source publishes into: the outbox (`gateway.outbox.Outbox`), seen as the few calls
a source needs. Readings are batched into telemetry; everything else is a message, committed
with the statements it carries (a scan's memory) in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from gateway.devices import DeviceTracker
from gateway.messages import Outgoing
from gateway.store import Statement


class Sink(Protocol):
    def reading(self, fragment: bytes, *, urgent: bool = False) -> None:
        """One encoded reading (`ReadingEncoder`) for the next telemetry batch; `urgent`
        (a fire panel's, a smoke sensor's) goes in the priority lane, ahead of telemetry."""
        ...

    def status(self, tracker: DeviceTracker) -> None:
        """The device's status now, retained."""
        ...

    def add(self, message: Outgoing, extra: Sequence[Statement] = ()) -> None:
        """A message; `extra` statements are committed in the same transaction."""
        ...

    def committed(self) -> asyncio.Future[None]:
        """Resolves once everything added so far is committed (acknowledge input then)."""
        ...

    async def flush(self) -> None:
        """Commit everything pending now."""
        ...
