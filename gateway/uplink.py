"""Telemetry straight into the engine's replicated stream, for a central side on NATS JetStream.

The MQTT listener of nats-server acknowledges a QoS 1 publish before the stream that takes
it has stored it: with the node leading `EW_TELEMETRY` killed, acknowledged batches were in
no stream (measured on 2.9.10, 2.10.25 and 2.15.1; docs/scaling.md). A JetStream publish is
answered by the stream's leader once the stream's replicas have the message, so a row the
forwarder deletes on that answer is stored. Telemetry goes this way; statuses (retained),
scans and health stay on MQTT, which keeps the retained state and the last will.

A batch is sent with a `Nats-Msg-Id` of its bytes' digest: a publish repeated because its
answer was lost is dropped by the stream's duplicate window instead of stored twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from estatewatch.contracts import streams, topics
from estatewatch.jetstream import JetStreamError, JetStreamSettings, connect
from estatewatch.mqtt import MqttClient

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.js.client import JetStreamContext

log = logging.getLogger(__name__)

ATTEMPT_TIMEOUT_S = 2.0
"""How long one attempt waits for the stream's answer."""
RETRY_FOR_S = 15.0
"""How long a publish is tried again (every quarter second) before the forwarder is told it
failed: a stream's election takes a few seconds, and the forwarder's back-off after a
refusal (up to 30 s) is meant for a broker that is away, not for an election."""


class Uplink(Protocol):
    """What the forwarder publishes through: a future per message, resolved once stored."""

    @property
    def connected(self) -> asyncio.Event: ...

    def publish_nowait(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        urgent: bool = False,
    ) -> asyncio.Future[None]: ...


class JetStreamUplink:
    """Telemetry into `EW_TELEMETRY` by JetStream, the rest through the MQTT client.
    `async with` connects to the cluster (reconnecting for ever to whichever node lives)."""

    def __init__(self, mqtt: MqttClient, settings: JetStreamSettings, *, name: str) -> None:
        self.mqtt = mqtt
        self.settings = settings
        self.name = name
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._connecting: asyncio.Task[None] | None = None

    @property
    def connected(self) -> asyncio.Event:
        return self.mqtt.connected

    async def __aenter__(self) -> JetStreamUplink:
        self._connecting = asyncio.create_task(self._connect(), name="jetstream-uplink")
        return self

    async def _connect(self) -> None:
        """Until the first connection (the client reconnects by itself after): the gateway
        buffers from its start, with the cluster away or not."""
        delay = 0.5
        while True:
            try:
                self._nc, self._js = await connect(self.settings, self.name)
                return
            except JetStreamError as exc:
                log.warning("%s; trying again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in [*self._tasks, *([self._connecting] if self._connecting else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, *([self._connecting] if self._connecting else []),
                             return_exceptions=True)  # fmt: skip
        if self._nc is not None:
            await self._nc.close()

    def publish_nowait(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        urgent: bool = False,
    ) -> asyncio.Future[None]:
        parts = topics.parse(topic)
        if parts is None or parts.kind != "telemetry":
            return self.mqtt.publish_nowait(topic, payload, qos=qos, retain=retain, urgent=urgent)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._js is None:
            future.set_exception(JetStreamError(f"not connected to {self.settings.servers}"))
            return future
        task = asyncio.create_task(self._publish(self._js, topic, payload, future))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return future

    @staticmethod
    async def _publish(
        js: JetStreamContext, topic: str, payload: bytes, future: asyncio.Future[None]
    ) -> None:
        from nats.errors import Error as NatsError

        msg_id = hashlib.blake2b(payload, digest_size=16).hexdigest()
        deadline = asyncio.get_running_loop().time() + RETRY_FOR_S
        try:
            while True:
                try:
                    await js.publish(
                        streams.subject(topic),
                        payload,
                        timeout=ATTEMPT_TIMEOUT_S,
                        stream=streams.TELEMETRY_STREAM,
                        headers={"Nats-Msg-Id": msg_id},
                    )
                    break
                except (NatsError, OSError) as exc:
                    if asyncio.get_running_loop().time() >= deadline:
                        if not future.done():  # the forwarder keeps the row, tries later
                            future.set_exception(exc)
                        return
                    await asyncio.sleep(0.25)
        except asyncio.CancelledError:
            if not future.done():
                future.cancel()
            raise
        if not future.done():
            future.set_result(None)
