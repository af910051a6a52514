"""BACnet/IP devices served by bacpypes3: each simulated device with a `bacnet` connection
is one BACnet device (its device object, instance and UDP address from the site file) with
one local object per point, its present-value following the physics after every step.

Analog objects report their units (the point's, or the simulator's own for the names it
knows) and a COV increment, so the gateway can take both from the device and subscribe to
changes. The one protocol fault: `offline`, which stops the device answering anything
(Who-Is included), as a controller that lost power does.

On one loopback host every device needs its own UDP port (or its own 127.0.0.x address):
BACnet/IP's well-known port 47808 can be bound once per address.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from bacpypes3.app import Application
from bacpypes3.local.analog import AnalogInputObject, AnalogOutputObject, AnalogValueObject
from bacpypes3.local.binary import BinaryInputObject, BinaryOutputObject, BinaryValueObject
from bacpypes3.local.multistate import (
    MultiStateInputObject,
    MultiStateOutputObject,
    MultiStateValueObject,
)

from estatewatch.config import Bacnet, BacnetPoint
from estatewatch.contracts.payloads import Scalar
from simulators.device import DeviceSim
from simulators.errors import SimulatorError
from simulators.faults import Fault

log = logging.getLogger(__name__)

DEFAULT_PORT = 47808

OBJECT_CLASSES: dict[str, Any] = {
    "analog-input": AnalogInputObject,
    "analog-output": AnalogOutputObject,
    "analog-value": AnalogValueObject,
    "binary-input": BinaryInputObject,
    "binary-output": BinaryOutputObject,
    "binary-value": BinaryValueObject,
    "multi-state-input": MultiStateInputObject,
    "multi-state-output": MultiStateOutputObject,
    "multi-state-value": MultiStateValueObject,
}
"""The object types a simulated device serves (a point of another type is not served)."""

UNITS = {
    "supply_air_temp": "degreesCelsius",
    "leaving_water_temp": "degreesCelsius",
    "filter_dp": "pascals",
}
"""The units the simulated controllers report for the values they know, as BACnet names
them (EngineeringUnits)."""


class _DeviceApp(Application):  # type: ignore[misc]
    """A device that can be silenced: with `offline` it drops every request unanswered."""

    sim: DeviceSim

    async def indication(self, apdu: Any) -> None:
        if Fault.OFFLINE in self.sim.faults:
            return
        await super().indication(apdu)


def _bacnet_value(point: BacnetPoint, value: Scalar) -> Any:
    if point.object_type.startswith("binary-"):
        return "active" if value else "inactive"
    if point.object_type.startswith("multi-state-"):
        return max(1, int(value))
    return float(value)


class BacnetDevice:
    """One simulated device on its own UDP address."""

    def __init__(self, sim: DeviceSim, bind_host: str | None) -> None:
        conn = sim.device.connection
        assert isinstance(conn, Bacnet)
        assert conn.address is not None
        host, _, port = conn.address.partition(":")
        self.sim = sim
        self.connection = conn
        self.address = f"{bind_host or host.split('/')[0]}:{port or DEFAULT_PORT}"
        self.points = [p for p in conn.points if p.object_type in OBJECT_CLASSES]
        self.objects: dict[str, Any] = {}
        self.app: _DeviceApp | None = None

    def start(self) -> None:
        host, port = self.address.split(":")
        args = argparse.Namespace(
            vendoridentifier=999,
            instance=self.connection.device_instance,
            name=self.sim.device.id,
            address=f"{host}/8:{port}" if host.startswith("127.") else self.address,
            network=0,
            foreign=None,
            ttl=30,
            bbmd=None,
        )
        try:
            app = _DeviceApp.from_args(args)
        except (OSError, ValueError, RuntimeError) as exc:
            raise SimulatorError(f"cannot serve BACnet on {self.address}: {exc}") from exc
        app.sim = self.sim
        values = self.sim.values()
        for point in self.points:
            options: dict[str, Any] = {
                "objectIdentifier": (point.object_type, point.instance),
                "objectName": point.name,
                "presentValue": _bacnet_value(point, values.get(point.name, 0)),
            }
            if point.object_type.startswith("analog-"):
                options["units"] = UNITS.get(point.name, "noUnits")
                options["covIncrement"] = 0.1
            if point.object_type.startswith("multi-state-"):
                options["numberOfStates"] = 16
            obj = OBJECT_CLASSES[point.object_type](**options)
            app.add_object(obj)
            self.objects[point.name] = obj
        self.app = app

    def refresh(self) -> None:
        """Serve the physics' current values (a change fires the COV subscriptions)."""
        values = self.sim.values()
        for point in self.points:
            value = _bacnet_value(point, values.get(point.name, 0))
            obj = self.objects[point.name]
            if obj.presentValue != value:
                obj.presentValue = value

    def close(self) -> None:
        app, self.app = self.app, None
        if app is not None:
            app.close()


class BacnetServers:
    """Every simulated BACnet device with an address; an async context."""

    def __init__(self, sims: Iterable[DeviceSim], *, bind_host: str | None = "127.0.0.1") -> None:
        self.devices = [
            BacnetDevice(sim, bind_host)
            for sim in sims
            if isinstance(sim.device.connection, Bacnet) and sim.device.connection.address
        ]
        self._loop: asyncio.AbstractEventLoop | None = None

    def refresh(self) -> None:
        """Serve the current values; from another thread (the control API injects faults
        from its worker threads) on the servers' event loop, as bacpypes3 needs its COV
        detection to run there."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._refresh()
        elif self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._refresh)

    def _refresh(self) -> None:
        for device in self.devices:
            if device.app is not None:
                device.refresh()

    async def __aenter__(self) -> BacnetServers:
        self._loop = asyncio.get_running_loop()
        try:
            for device in self.devices:
                device.start()
        except BaseException:
            self.close()
            raise
        if self.devices:
            log.info("%d BACnet devices served", len(self.devices))
        return self

    def close(self) -> None:
        for device in self.devices:
            device.close()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
