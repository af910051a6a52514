"""The NATS JetStream layer shared by the central side when it runs on a cluster: connect
(to every node, reconnecting to whichever lives), make sure the stream and the durable
consumers exist, and translate nats-py's errors into ours at the boundary.

The stream and consumers are declared by whoever starts first and found as they are by the
rest: creating them is idempotent, so no instance is special.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from estatewatch.contracts import streams
from estatewatch.errors import EstateWatchError

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.js.client import JetStreamContext

log = logging.getLogger(__name__)


class JetStreamError(EstateWatchError):
    """The cluster did not answer, or refused what was asked."""


@dataclass(frozen=True)
class JetStreamSettings:
    servers: tuple[str, ...] = ("nats://127.0.0.1:4222",)
    """Every node's URL: the client reconnects to whichever is alive."""
    replicas: int = 3
    """Copies of the stream (and of its consumers): 3 survives the loss of one node."""
    max_age: timedelta = timedelta(days=1)
    """How long the stream keeps a message whatever its consumers did (a backlog bound)."""
    ack_wait: timedelta = timedelta(seconds=30)
    """How long a delivered message may stay unacknowledged before another instance gets
    it: the time an instance that died holds its messages."""
    max_ack_pending: int = 20_000
    """Unacknowledged messages of one consumer across all its instances (a memory bound)."""
    setup_timeout: float = 30.0
    """How long to retry declaring the stream while the cluster elects its leaders."""

    @classmethod
    def from_url(cls, url: str, **kw: object) -> JetStreamSettings:
        """`nats://h1:4222,nats://h2:4222,...` (bare `h:p` too) as settings."""
        servers = tuple(
            s if "://" in s else f"nats://{s}" for s in (p.strip() for p in url.split(",")) if s
        )
        if not servers:
            raise ValueError("no NATS server given")
        return cls(servers=servers, **kw)  # type: ignore[arg-type]


async def connect(settings: JetStreamSettings, name: str) -> tuple[NatsClient, JetStreamContext]:
    """A connection that reconnects for ever, and its JetStream context."""
    import nats
    from nats.errors import Error as NatsError

    async def quietly(exc: Exception) -> None:
        # nats-py's own callback logs every failed reconnect to a dead node with a traceback:
        # while a node is down that is one a second, for an expected state.
        log.warning("%s: %s", name, exc or type(exc).__name__)

    try:
        nc = await nats.connect(
            servers=list(settings.servers),
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            allow_reconnect=True,
            error_cb=quietly,
        )
    except (NatsError, OSError) as exc:
        raise JetStreamError(f"cannot connect to {', '.join(settings.servers)}: {exc}") from exc
    return nc, nc.jetstream(timeout=5)


async def retrying(what: str, deadline_s: float, step: object) -> object:
    """Run the coroutine function `step` until it succeeds or `deadline_s` passed: the
    cluster answers "no leader" or nothing at all while it elects one."""
    from nats.errors import Error as NatsError

    deadline = time.monotonic() + deadline_s
    delay = 0.2
    while True:
        try:
            return await step()  # type: ignore[operator]
        except (NatsError, OSError) as exc:
            if time.monotonic() >= deadline:
                raise JetStreamError(f"{what}: {exc!r}") from exc
            log.debug("%s failed, retrying: %r", what, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def ensure_stream(js: JetStreamContext, settings: JetStreamSettings) -> None:
    """Create the telemetry stream, or bring an existing one to these settings."""
    from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
    from nats.js.errors import BadRequestError

    config = StreamConfig(
        name=streams.TELEMETRY_STREAM,
        subjects=streams.telemetry_subjects(),
        retention=RetentionPolicy.LIMITS,
        max_age=settings.max_age.total_seconds(),
        storage=StorageType.FILE,
        num_replicas=settings.replicas,
        discard=DiscardPolicy.OLD,
    )

    async def step() -> None:
        try:
            await js.add_stream(config)
        except BadRequestError as exc:
            if exc.err_code != 10058:  # "stream name already in use" with another config
                raise
            await js.update_stream(config)

    await retrying(f"declare stream {config.name}", settings.setup_timeout, step)


async def ensure_consumer(
    js: JetStreamContext,
    settings: JetStreamSettings,
    durable: str,
    *,
    filter_subject: str | None = None,
) -> None:
    """Create a durable pull consumer with explicit acknowledgements (idempotent)."""
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=settings.ack_wait.total_seconds(),
        max_ack_pending=settings.max_ack_pending,
        max_deliver=-1,
        filter_subject=filter_subject,
    )

    async def step() -> None:
        await js.add_consumer(streams.TELEMETRY_STREAM, config)

    await retrying(f"declare consumer {durable}", settings.setup_timeout, step)


async def ensure_kv(
    js: JetStreamContext, settings: JetStreamSettings, bucket: str, *, ttl: float | None = None
) -> object:
    """Create a KV bucket (one revision kept per key, `ttl` seconds after a key's last
    write it expires) or bind the existing one; returns nats-py's `KeyValue`."""
    from nats.js.api import KeyValueConfig, StorageType

    config = KeyValueConfig(
        bucket=bucket, history=1, ttl=ttl, storage=StorageType.FILE, replicas=settings.replicas
    )

    async def step() -> object:
        return await js.create_key_value(config)

    return await retrying(f"declare bucket {bucket}", settings.setup_timeout, step)


async def open_consumer(
    js: JetStreamContext, settings: JetStreamSettings, *, filter_subject: str, after: int
) -> str:
    """An ephemeral pull consumer of one replica delivering `filter_subject` from the stream
    sequence after `after`; its name. Its owner keeps the position itself (the rules keep
    it in their KV state), so when the consumer's node dies it makes another one on a live
    node where it had got to, instead of waiting for a replicated consumer's election; an
    abandoned one is removed by the server after `inactive_threshold`."""
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    config = ConsumerConfig(
        ack_policy=AckPolicy.ALL,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=after + 1,
        ack_wait=settings.ack_wait.total_seconds(),
        max_ack_pending=settings.max_ack_pending,
        filter_subject=filter_subject,
        num_replicas=1,
        inactive_threshold=30.0,
    )

    async def step() -> str:
        info = await js.add_consumer(streams.TELEMETRY_STREAM, config)
        return info.name

    return str(await retrying(f"open a consumer of {filter_subject}", settings.setup_timeout, step))
