"""One simulated device: its physics model, its faults and what it serves.

For a Modbus device the served registers are the model's values put through
`estatewatch.codec.encode` with the device's register map, so a gateway decoding them with
`decode` reads exactly `values()`. Protocol faults live here, not in the physics: `garbage`
replaces the registers with random words (NaN floats among them), while `offline` and
`modbus_exception` are acted on by the Modbus server.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from random import Random

from estatewatch.codec import DecodeError, Value, decode, encode
from estatewatch.config import (
    Bacnet,
    DataType,
    Device,
    Dlt645,
    MqttSensor,
    RegisterMap,
    RegisterPoint,
    RegisterType,
)
from estatewatch.contracts.payloads import Scalar
from simulators.faults import (
    DEFAULT_EXCEPTION_CODE,
    EXCLUSIVE,
    PROTOCOL_FAULTS,
    Fault,
    check_exception_code,
    check_fault,
)
from simulators.physics import Model

Image = dict[RegisterType, dict[int, int]]
"""Served registers by table and address (a coil or discrete input is a 0/1 word)."""


def zero(point: RegisterPoint) -> Value:
    if point.type is DataType.BOOL:
        return False
    if point.type is DataType.STRING:
        return ""
    return 0


def build_image(points: Iterable[RegisterPoint], values: dict[str, Scalar]) -> Image:
    """The registers that serve `values` (missing points are served as zero)."""
    image: Image = {table: {} for table in RegisterType}
    for point in points:
        value = values.get(point.name, zero(point))
        words = encode(value, point)
        table = image[point.table]
        if point.type is DataType.BOOL and point.bit is not None:
            table[point.address] = table.get(point.address, 0) | words[0]
        else:
            for i, word in enumerate(words):
                table[point.address + i] = word
    return image


def read_image(points: Iterable[RegisterPoint], image: Image) -> dict[str, Scalar]:
    """What a client decodes from `image`: NaN where the registers are no number."""
    values: dict[str, Scalar] = {}
    for point in points:
        words = [image[point.table].get(point.address + i, 0) for i in range(point.count)]
        try:
            values[point.name] = decode(words, point)
        except DecodeError:
            values[point.name] = math.nan
    return values


def garbage_image(points: Iterable[RegisterPoint], rng: Random) -> Image:
    """Random register contents; every other float is a NaN."""
    image: Image = {table: {} for table in RegisterType}
    for point in points:
        if point.type in (DataType.FLOAT32, DataType.FLOAT64) and rng.random() < 0.5:
            words = encode(math.nan, point)
        elif point.table.is_bit:
            words = [rng.randint(0, 1)]
        else:
            words = [rng.randint(0, 0xFFFF) for _ in range(point.count)]
        for i, word in enumerate(words):
            table = image[point.table]
            table[point.address + i] = table.get(point.address + i, 0) | word
    return image


class DeviceSim:
    """A configured device brought to life by a physics model."""

    def __init__(
        self, device: Device, register_map: RegisterMap | None, model: Model, rng: Random
    ) -> None:
        self.device = device
        self.register_map = register_map
        self.model = model
        self.rng = rng
        self.faults: set[Fault] = set()
        self.exception_code = DEFAULT_EXCEPTION_CODE
        self.settings: dict[str, Scalar] = {}  # writable points a client wrote
        self._image: Image | None = None
        self._garbage: Image | None = None

    @property
    def id(self) -> str:
        return self.device.id

    @property
    def points(self) -> list[RegisterPoint]:
        return self.register_map.points if self.register_map is not None else []

    # --- faults ------------------------------------------------------------------------------

    def inject(self, fault: Fault | str, *, exception_code: int | None = None) -> Fault:
        """Turn a fault on (a `FaultError` if this device cannot have it)."""
        parsed = check_fault(self.device, fault)
        if exception_code is not None:
            self.exception_code = check_exception_code(exception_code)
        for group in EXCLUSIVE:
            if parsed in group:
                for other in group - {parsed}:
                    self.clear(other)
        self.faults.add(parsed)
        if parsed not in PROTOCOL_FAULTS:
            self.model.set_fault(parsed, True)
        self._changed()
        return parsed

    def clear(self, fault: Fault | str | None = None) -> None:
        """Turn a fault off, or every fault of this device when `fault` is None."""
        if fault is None:
            for each in sorted(self.faults):
                self.clear(each)
            self.exception_code = DEFAULT_EXCEPTION_CODE
            return
        parsed = check_fault(self.device, fault)
        if parsed not in self.faults:
            return
        self.faults.discard(parsed)
        if parsed not in PROTOCOL_FAULTS:
            self.model.set_fault(parsed, False)
        self._changed()

    # --- time --------------------------------------------------------------------------------

    def step(self, now: datetime, dt: float) -> None:
        self.model.step(now, dt)
        self._changed()

    def _changed(self) -> None:
        self._image = None
        if Fault.GARBAGE in self.faults:
            self._garbage = garbage_image(self.points, self.rng)
        else:
            self._garbage = None

    # --- what is served ----------------------------------------------------------------------

    def image(self) -> Image:
        """The registers served right now."""
        if self._garbage is not None:
            return self._garbage
        if self._image is None:
            self._image = build_image(self.points, {**self.model.values(), **self.settings})
        return self._image

    def values(self) -> dict[str, Scalar]:
        """The engineering values served right now: for a Modbus device, exactly what a
        client decodes from the registers; for an MQTT sensor, its configured points."""
        if isinstance(self.device.connection, Dlt645) and Fault.GARBAGE in self.faults:
            return {name: math.nan for name in self.model.values()}  # no frame checks out
        if isinstance(self.device.connection, MqttSensor | Bacnet):
            model = self.model.values()
            return {p.name: model.get(p.name, 0) for p in self.device.connection.points}
        if self.register_map is None:
            return self.model.values()
        return read_image(self.points, self.image())

    def write(self, table: RegisterType, address: int, words: list[int]) -> bool:
        """A client writes `words` from `address`: taken only if they cover writable points
        exactly; each written point goes to the model as a setting."""
        end = address + len(words)
        touched = [
            p for p in self.points if p.table is table and p.address < end and p.end > address
        ]
        if not touched or not all(p.writable for p in touched):
            return False
        if any(p.address < address or p.end > end for p in touched):
            return False
        merged = dict(self.image()[table])
        for i, word in enumerate(words):
            merged[address + i] = word
        image: Image = {t: {} for t in RegisterType}
        image[table] = merged
        for name, value in read_image(touched, image).items():
            self.model.write(name, value)
            self.settings[name] = value
        self._changed()
        return True
