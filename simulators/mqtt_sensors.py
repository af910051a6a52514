"""MQTT sensors: each simulated sensor publishes JSON to its configured topic.

The payload carries the fields the site config maps (`leak`, `battery`, `env.temperature`,
... — dotted paths nest) and the sensor's own time in epoch seconds when the config names a
`timestamp_field`. Like real battery sensors, each reports when something changes (a state,
or a reading by more than its step) and otherwise every `interval` seconds of estate time.
An `offline` sensor publishes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from types import TracebackType

from estatewatch.clock import Clock
from estatewatch.config import MqttSensor, Sensor
from estatewatch.contracts.payloads import Scalar
from estatewatch.mqtt import MqttClient, MqttError, MqttSettings
from simulators.device import DeviceSim
from simulators.faults import Fault

log = logging.getLogger(__name__)

REPORT_STEP = {"temperature": 0.5, "humidity": 3.0, "battery": 5.0}
"""A reading that moved this much since the last report is reported at once."""


def sensor_payload(sensor: Sensor, values: dict[str, Scalar], now: datetime) -> bytes:
    """The JSON a sensor publishes: each configured point at its field, as raw as the
    config's scale and offset say, plus its timestamp field (epoch seconds)."""
    conn = sensor.connection
    assert isinstance(conn, MqttSensor)
    body: dict[str, object] = {}
    for point in conn.points:
        value = values.get(point.name, 0)
        raw: Scalar
        if point.type == "bool":
            raw = bool(value)
        elif point.type == "string":
            raw = str(value)
        else:
            number = (float(value) - point.offset) / point.scale
            raw = round(number) if point.type == "int" else round(number, 4)
        _put(body, point.field, raw)
    if conn.timestamp_field:
        _put(body, conn.timestamp_field, int(now.timestamp()))
    return json.dumps(body, separators=(",", ":")).encode()


def publish_topic(sensor: Sensor) -> str:
    """The sensor's topic; a wildcard in the config (the gateway's subscription) becomes
    the device id, which the subscription then matches."""
    conn = sensor.connection
    assert isinstance(conn, MqttSensor)
    return "/".join(sensor.id if level in ("+", "#") else level for level in conn.topic.split("/"))


def _put(body: dict[str, object], path: str, value: object) -> None:
    *parents, last = path.split(".")
    node = body
    for name in parents:
        child = node.setdefault(name, {})
        assert isinstance(child, dict), f"field {name!r} is both a value and an object"
        node = child
    node[last] = value


def changed(before: dict[str, Scalar] | None, now: dict[str, Scalar]) -> bool:
    """Whether a sensor reports at once: a new state, or a reading that moved a step."""
    if before is None:
        return True
    for name, value in now.items():
        old = before.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            if value != old:
                return True
        elif not isinstance(old, int | float) or abs(value - old) >= REPORT_STEP.get(name, 1.0):
            return True
    return False


class SensorPublisher:
    """Publishes every MQTT sensor of an estate on a broker; an async context manager."""

    def __init__(
        self,
        sims: Iterable[DeviceSim],
        *,
        url: str,
        clock: Clock,
        interval: float = 60.0,
        client_id: str | None = None,
    ) -> None:
        self.sensors = [
            s
            for s in sims
            if isinstance(s.device, Sensor) and isinstance(s.device.connection, MqttSensor)
        ]
        self.clock = clock
        self.interval = interval
        self.settings = MqttSettings(
            url=url, client_id=client_id or f"ew-sim-sensors-{uuid.uuid4().hex[:8]}"
        )
        self.published = 0
        self._last: dict[str, dict[str, Scalar]] = {}
        self._due: set[str] = set()
        self._wake = asyncio.Event()
        self._client: MqttClient | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> SensorPublisher:
        self._client = await MqttClient(self.settings).__aenter__()
        self._due = {s.id for s in self.sensors}
        self._wake.set()
        self._tasks = [
            asyncio.create_task(self._publish_loop(), name="sim-sensors-publish"),
            asyncio.create_task(self._ticker(), name="sim-sensors-ticker"),
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.__aexit__(exc_type, exc, tb)

    def notice(self) -> None:
        """Values may have changed (a physics step, a fault): report what changed."""
        for sim in self.sensors:
            if Fault.OFFLINE in sim.faults:
                self._last.pop(sim.id, None)  # report at once when it comes back
            elif changed(self._last.get(sim.id), sim.values()):
                self._due.add(sim.id)
        if self._due:
            self._wake.set()

    async def _ticker(self) -> None:
        while True:
            await self.clock.sleep(self.interval)
            self._due.update(s.id for s in self.sensors)
            self._wake.set()

    async def _publish_loop(self) -> None:
        assert self._client is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            due, self._due = self._due, set()
            for sim in self.sensors:
                if sim.id not in due or Fault.OFFLINE in sim.faults:
                    continue
                values = sim.values()
                assert isinstance(sim.device, Sensor)
                payload = sensor_payload(sim.device, values, self.clock.now())
                self._last[sim.id] = values  # reported: changes are measured from here
                try:
                    await self._client.publish(publish_topic(sim.device), payload, qos=1)
                except MqttError as exc:
                    log.warning("sensor %s: publish failed: %s", sim.id, exc)
                    self._last.pop(sim.id, None)
                    self._due.add(sim.id)
                    continue
                self.published += 1
