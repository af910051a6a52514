"""What a rules instance reads of an estate it holds on the JetStream cluster
(`rules.cluster`): its telemetry through a consumer of its own, the rest as plain subjects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from estatewatch.contracts import streams, topics
from estatewatch.jetstream import JetStreamSettings, open_consumer

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

log = logging.getLogger(__name__)


@dataclass
class Held:
    """An estate this instance holds."""

    site: str
    lease_rev: int
    state_rev: int
    seq: int | None
    outbox: list[tuple[str, bytes]] = field(default_factory=list)
    renewed: float = field(default_factory=time.monotonic)
    dirty: bool = False
    written: float = 0.0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    subs: list[Any] = field(default_factory=list)


def plain_filters(site: str) -> list[str]:
    """What an owner reads of an estate as plain subjects, not through its consumer:
    nats-server 2.9 filters a consumer on one subject only (2.10 takes several), and the
    telemetry is what the rules' timers are made of. Scans and alarm commands are not in
    the stream; a device status is sent again on its next change and at a gateway's start."""
    return [
        topics.status_filter(site),
        topics.TOPICS["gateway_state"].filter(site),
        topics.patrol_filter(site),
        topics.alarm_command_filter(site),
    ]


async def pull_telemetry(
    js: JetStreamContext,
    settings: JetStreamSettings,
    held: Held,
    handle: Callable[[str, bytes], None],
    background: Callable[[Coroutine[Any, Any, None]], None],
) -> None:
    """Read the estate's telemetry from where its state has got to (`held.seq`) through a
    consumer of its own; a consumer that stops answering (its node died) is replaced."""
    from nats.errors import TimeoutError as NatsTimeout

    while True:
        name = await open_consumer(
            js, settings, filter_subject=streams.rules_filter(held.site), after=held.seq or 0
        )
        sub = await js.pull_subscribe_bind(consumer=name, stream=streams.TELEMETRY_STREAM)
        idle = 0
        try:
            while True:
                try:
                    batch = await sub.fetch(batch=500, timeout=1.0)
                except (NatsTimeout, TimeoutError):  # nothing came (or a busy cluster)
                    idle += 1
                    if idle % 5 == 0 and not await consumer_alive(js, name):
                        log.warning("consumer of %s lost, making another", held.site)
                        break
                    continue
                idle = 0
                for msg in batch:
                    handle(streams.topic(msg.subject), msg.data)
                    held.seq = msg.metadata.sequence.stream
                    held.dirty = True
                if batch:
                    background(_ack(batch[-1]))  # AckAll: the batch with it
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a node gone, a leader elected: start again
            log.warning("pulling %s failed: %r", held.site, exc)
            await asyncio.sleep(0.5)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


async def consumer_alive(js: JetStreamContext, consumer: str) -> bool:
    """False once the consumer is known gone, or did not answer three times running (its
    node is down; a single slow answer is a busy cluster)."""
    from nats.js.errors import NotFoundError

    for _ in range(3):
        try:
            await asyncio.wait_for(js.consumer_info(streams.TELEMETRY_STREAM, consumer), 2)
        except NotFoundError:
            return False
        except Exception:  # noqa: S112  (asked again: one miss proves nothing)
            continue
        return True
    return False


async def _ack(msg: Any) -> None:
    with contextlib.suppress(Exception):  # lost: the position that matters is in the KV
        await msg.ack()
