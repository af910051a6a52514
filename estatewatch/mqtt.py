"""A small asyncio layer over paho-mqtt 2.x, shared by every component.

paho runs its network loop in its own thread; this module is the one place where paho's
callbacks cross into asyncio and paho's types become ours (`Message`, `MqttError`). It speaks
MQTT 5 (session expiry, shared subscriptions, receive maximum).

- `publish()` resolves when the broker acknowledged a QoS 1 message (PUBACK), so a caller can
  delete its durable copy only then. paho keeps unacknowledged QoS 1 messages across
  reconnects and resends them; a pending publish is never failed by a reconnect.
- `messages()` yields received messages through a bounded queue. When the consumer falls
  behind, paho's thread blocks, the socket stops being read and the broker holds the rest:
  backpressure instead of unbounded memory.
- With `manual_ack=True`, a QoS 1 message is acknowledged only when the consumer calls
  `ack(message)`, e.g. after InfluxDB accepted it; a crash before that means redelivery.
- **The life-safety lane.** MQTT has no priorities, so EstateWatch marks its own:
  `publish(..., urgent=True)` sends the MQTT 5 user property `ew-priority: life-safety`
  (a fire panel's readings, a critical alarm), and a client with `urgent_first=True` hands
  such messages to its consumer ahead of everything already waiting in its receive queue,
  without taking a place in the queue's bound. A fire alarm therefore waits behind no
  backlog of telemetry in any component; at the broker it waits only behind what the
  consumer's socket already holds, since Mosquitto delivers each connection in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from estatewatch.errors import EstateWatchError

log = logging.getLogger(__name__)


class MqttError(EstateWatchError):
    """Something went wrong talking to the broker."""


class MqttCodeError(MqttError):
    """The broker or paho answered with a failure code."""

    def __init__(self, what: str, rc: int | ReasonCode | MQTTErrorCode) -> None:
        self.rc = rc
        text = paho.error_string(rc) if isinstance(rc, int) else str(rc)
        super().__init__(f"{what}: {text}")


class MqttConnectError(MqttError):
    """The first connection did not succeed within the timeout."""


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True)
class MqttSettings:
    url: str = "mqtt://127.0.0.1:1883"
    """`mqtt://[user:password@]host[:port]`, or `mqtts://` for TLS."""
    client_id: str = ""
    username: str | None = None
    password: str | None = None
    clean_start: bool = True
    session_expiry: int = 0
    """Seconds the broker keeps this client's session (subscriptions and queued QoS 1
    messages) while it is away; with `clean_start=False` nothing is lost across restarts."""
    keepalive: int = 30
    max_inflight: int = 200
    """Unacknowledged QoS 1 messages in each direction (paho's default of 20 caps throughput)."""
    manual_ack: bool = False
    will: Will | None = None
    receive_queue: int = 10_000
    reconnect_min_delay: int = 1
    reconnect_max_delay: int = 30
    protocol_version: int | None = None
    """5 (MQTT 5: session expiry, shared subscriptions) or 4 (MQTT 3.1.1, for brokers such as
    the embedded amqtt that speak nothing newer; `clean_start=False` then keeps the session
    until the client returns, and shared subscriptions are unavailable). None: as the URL
    says (`mqtt://host:1883?version=3.1.1`), else 5."""
    urgent_first: bool = False
    """Received messages published `urgent` (the life-safety lane) go ahead of the others."""
    connect_timeout: float | None = 10.0
    """Seconds `__aenter__` waits for the first connection; None: don't wait (a gateway
    starts buffering even when the uplink is down)."""
    ack_timeout: float | None = None
    """Seconds a QoS 1 publish may wait for its acknowledgement before the connection is
    dropped and made again, which makes paho send it again. NATS's MQTT listener never
    answers a publish whose JetStream stream lost its leader while storing it (measured on
    nats-server 2.9), so without this a publisher stalls with a full window for ever. None:
    wait as long as it takes (Mosquitto always answers)."""

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def version(self) -> int:
        if self.protocol_version is not None:
            return self.protocol_version
        query = parse_qs(urlsplit(self.url).query)
        return 4 if query.get("version", ["5"])[0] in ("3.1.1", "4") else 5

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    properties: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False
    """Published in the life-safety lane (`publish(..., urgent=True)`)."""


PRIORITY_PROPERTY = ("ew-priority", "life-safety")
"""The MQTT 5 user property that marks a message of the life-safety lane."""


OnConnect = Callable[["MqttClient", bool], Awaitable[None] | None]
"""Called on each (re)connection with `session_present`."""


class MqttClient:
    """An MQTT 5 client for asyncio. Use as `async with MqttClient(settings) as client:`."""

    def __init__(self, settings: MqttSettings, *, on_connect: OnConnect | None = None) -> None:
        self.settings = settings
        self._on_connect_hook = on_connect
        self._loop: asyncio.AbstractEventLoop | None = None
        if settings.version not in (4, 5):
            raise ValueError("protocol_version must be 5 (MQTT 5) or 4 (MQTT 3.1.1)")
        v5 = settings.version == 5
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else settings.clean_start,
            manual_ack=settings.manual_ack,
        )
        self._client.max_inflight_messages_set(settings.max_inflight)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(settings.reconnect_min_delay, settings.reconnect_max_delay)
        url = urlsplit(settings.url)
        username = settings.username if settings.username is not None else url.username
        password = settings.password if settings.password is not None else url.password
        if username is not None:
            self._client.username_pw_set(unquote(username), password and unquote(password))
        if settings.tls:
            self._client.tls_set()
        if settings.will is not None:
            w = settings.will
            self._client.will_set(w.topic, w.payload, qos=w.qos, retain=w.retain)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.on_socket_open = _no_delay
        self._lock = threading.Lock()
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._sent_at: dict[int, float] = {}
        self._watchdog: asyncio.Task[None] | None = None
        self._early: dict[int, ReasonCode | None] = {}
        self._subs_pending: dict[int, asyncio.Future[list[ReasonCode]]] = {}
        self._subscriptions: dict[str, int] = {}
        # paho's own view of the connection (its thread), read under _lock by subscribe():
        # `connected` is set later, on the loop, so it cannot tell whether _on_connect has
        # already sent the stored subscriptions.
        self._session_up = False
        # (0 for the life-safety lane, else 1; arrival number; message): urgent first, and
        # in arrival order within each lane.
        self._queue: asyncio.PriorityQueue[tuple[int, int, Message]] | None = None
        self._arrivals = 0
        self._room = threading.Semaphore(settings.receive_queue)
        self._closing = threading.Event()
        self.connected = asyncio.Event()
        self.connections = 0
        self.disconnections = 0

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> MqttClient:
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.PriorityQueue()
        if self.settings.version == 5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.settings.session_expiry
            props.ReceiveMaximum = self.settings.max_inflight
            self._client.connect_async(
                self.settings.host,
                self.settings.port,
                keepalive=self.settings.keepalive,
                clean_start=self.settings.clean_start,
                properties=props,
            )
        else:
            self._client.connect_async(
                self.settings.host, self.settings.port, keepalive=self.settings.keepalive
            )
        self._client.loop_start()
        if self.settings.ack_timeout is not None:
            self._watchdog = asyncio.create_task(self._watch_acks(self.settings.ack_timeout))
        if self.settings.connect_timeout is not None:
            try:
                await asyncio.wait_for(self.connected.wait(), self.settings.connect_timeout)
            except TimeoutError:
                await self._shutdown()
                raise MqttConnectError(
                    f"no connection to {self.settings.url} within {self.settings.connect_timeout}s"
                ) from None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        self._closing.set()
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
        self._room.release(self.settings.receive_queue)  # unblock paho's thread
        await asyncio.to_thread(self._client.disconnect)
        await asyncio.to_thread(self._client.loop_stop)
        # paho closes its wake-up socket pair only from `__del__`; when the client dies in a
        # reference cycle, the sockets may be collected first and warn (a test error here).
        self._client._reset_sockets()
        with self._lock:
            pending = list(self._pending.values()) + list(self._subs_pending.values())
            self._pending.clear()
            self._subs_pending.clear()
        for future in pending:
            if not future.done():
                future.set_exception(MqttError("client closed before the broker answered"))

    # --- publishing --------------------------------------------------------------------

    def publish_nowait(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        urgent: bool = False,
    ) -> asyncio.Future[None]:
        """Queue a message; the future resolves at the broker's acknowledgement (QoS 1) or
        when it was written to the socket (QoS 0). `urgent`: the life-safety lane (MQTT 5)."""
        assert self._loop is not None, "use the client inside `async with`"
        future: asyncio.Future[None] = self._loop.create_future()
        props = None
        if urgent and self.settings.version == 5:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.UserProperty = [PRIORITY_PROPERTY]
        info = self._client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            future.set_exception(MqttCodeError(f"publish to {topic}", info.rc))
            return future
        with self._lock:
            if info.mid in self._early:
                rc = self._early.pop(info.mid)
                self._settle(future, rc)
            else:
                self._pending[info.mid] = future
                if qos > 0:
                    self._sent_at[info.mid] = time.monotonic()
        return future

    async def _watch_acks(self, limit: float) -> None:
        """Drop the connection when a publish has waited `limit` for its acknowledgement:
        paho reconnects and sends every unacknowledged message again."""
        while True:
            await asyncio.sleep(limit / 4)
            with self._lock:
                oldest = min(self._sent_at.values(), default=None)
            if oldest is None or time.monotonic() - oldest < limit or not self.connected.is_set():
                continue
            log.warning(
                "MQTT publish unacknowledged for %.0fs by %s: reconnecting to send it again",
                limit,
                self.settings.url,
            )
            with self._lock:
                now = time.monotonic()
                self._sent_at = dict.fromkeys(self._sent_at, now)
            sock = self._client.socket()
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        urgent: bool = False,
    ) -> None:
        await self.publish_nowait(topic, payload, qos=qos, retain=retain, urgent=urgent)

    @staticmethod
    def _settle(future: asyncio.Future[None], rc: ReasonCode | None) -> None:
        if future.done():
            return
        if isinstance(rc, ReasonCode) and rc.is_failure:
            future.set_exception(MqttCodeError("publish", rc))
        else:
            future.set_result(None)

    # --- subscribing and receiving -----------------------------------------------------

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe now and again after every reconnect that lost the session."""
        assert self._loop is not None
        with self._lock:
            self._subscriptions[topic_filter] = qos
            up = self._session_up
        if not up:
            return  # _on_connect subscribes
        future: asyncio.Future[list[ReasonCode]] = self._loop.create_future()
        with self._lock:
            rc, mid = self._client.subscribe(topic_filter, qos=qos)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
                raise MqttCodeError(f"subscribe to {topic_filter}", rc)
            self._subs_pending[mid] = future
        codes = await future
        failed = [c for c in codes if c.is_failure]
        if failed:
            raise MqttCodeError(f"subscribe to {topic_filter}", failed[0])

    async def messages(self) -> AsyncIterator[Message]:
        """Received messages, in order, until the client closes."""
        assert self._queue is not None
        while True:
            *_, message = await self._queue.get()
            self._free(message)
            yield message

    async def batches(self, max_size: int) -> AsyncIterator[list[Message]]:
        """Received messages in order, as lists of what has arrived (at least one, at most
        `max_size`): a consumer that stores them in one transaction keeps up with a burst."""
        assert self._queue is not None
        while True:
            batch = [(await self._queue.get())[2]]
            while len(batch) < max_size and not self._queue.empty():
                batch.append(self._queue.get_nowait()[2])
            for message in batch:
                self._free(message)
            yield batch

    def _free(self, message: Message) -> None:
        if not (message.urgent and self.settings.urgent_first):
            self._room.release()  # an urgent one took no place in the bound

    def ack(self, message: Message) -> None:
        """Acknowledge a QoS 1 message received with `manual_ack=True`."""
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    @property
    def backlog(self) -> int:
        """Messages received and not yet taken by `messages()`."""
        return self._queue.qsize() if self._queue is not None else 0

    # --- paho callbacks (paho's thread) ------------------------------------------------

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self._loop.call_soon_threadsafe(fn, *args)

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        if rc.is_failure:
            log.warning("MQTT connection to %s refused: %s", self.settings.url, rc)
            return
        session_present = bool(getattr(flags, "session_present", False))
        with self._lock:
            self._session_up = True
            # A present session keeps its subscriptions, except shared ones on a broker that
            # restarted: Mosquitto 2.0 restores the session but not its `$share/...`
            # subscriptions, so a shared consumer would wait in silence. Subscribing to them
            # again is harmless (it replaces the subscription; nothing queued is lost, and
            # shared subscriptions receive no retained messages).
            wanted = [
                (topic_filter, qos)
                for topic_filter, qos in self._subscriptions.items()
                if not session_present or topic_filter.startswith("$share/")
            ]
        for topic_filter, qos in wanted:
            client.subscribe(topic_filter, qos=qos)
        self._call(self._connected, session_present)

    def _connected(self, session_present: bool) -> None:
        self.connections += 1
        self.connected.set()
        log.info("MQTT connected to %s (session present: %s)", self.settings.url, session_present)
        if self._on_connect_hook is not None:
            result = self._on_connect_hook(self, session_present)
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                task.add_done_callback(_log_task_error)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        with self._lock:
            self._session_up = False
        self._call(self._disconnected, str(rc))

    def _disconnected(self, reason: str) -> None:
        if self.connected.is_set():
            self.disconnections += 1
            if not self._closing.is_set():
                log.warning("MQTT connection to %s lost: %s", self.settings.url, reason)
        self.connected.clear()

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, rc: ReasonCode, props: Any
    ) -> None:
        with self._lock:
            self._sent_at.pop(mid, None)
            future = self._pending.pop(mid, None)
            if future is None:
                self._early[mid] = rc
                return
        self._call(self._settle, future, rc)

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, codes: list[ReasonCode], props: Any
    ) -> None:
        with self._lock:
            future = self._subs_pending.pop(mid, None)
        if future is not None:
            self._call(_set_if_pending, future, codes)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        urgent = PRIORITY_PROPERTY in (getattr(msg.properties, "UserProperty", None) or ())
        ahead = urgent and self.settings.urgent_first
        if not ahead:
            self._room.acquire()  # blocks paho's thread while the consumer is behind
        if self._closing.is_set() or self._queue is None:
            return
        message = Message(
            msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain), msg.mid, urgent=urgent
        )
        self._arrivals += 1  # paho's thread is the only writer
        self._call(self._queue.put_nowait, (0 if ahead else 1, self._arrivals, message))


def _no_delay(client: paho.Client, userdata: Any, sock: Any) -> None:
    """Small publishes go out at once: with Nagle's algorithm on, a publisher waiting for
    acknowledgements that a broker sends late (NATS's MQTT listener) crawls at the peer's
    delayed-ACK pace (measured: ~20 messages/s instead of ~1500)."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _set_if_pending(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _log_task_error(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("MQTT on_connect hook failed", exc_info=task.exception())
