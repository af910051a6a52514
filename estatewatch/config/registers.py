"""Register maps: how a device's points sit in its Modbus registers."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from estatewatch.config.base import PointName, StrictModel
from estatewatch.durations import Duration


class RegisterType(StrEnum):
    COIL = "coil"
    DISCRETE_INPUT = "discrete_input"
    HOLDING = "holding"
    INPUT = "input"

    @property
    def is_bit(self) -> bool:
        return self in (RegisterType.COIL, RegisterType.DISCRETE_INPUT)


class DataType(StrEnum):
    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT64 = "float64"
    STRING = "string"


class Order(StrEnum):
    BIG = "big"
    LITTLE = "little"


# Registers a value of each type occupies (bool and string are decided per point).
REGISTER_COUNT: dict[DataType, int] = {
    DataType.INT16: 1,
    DataType.UINT16: 1,
    DataType.INT32: 2,
    DataType.UINT32: 2,
    DataType.FLOAT32: 2,
    DataType.INT64: 4,
    DataType.UINT64: 4,
    DataType.FLOAT64: 4,
}

MAX_ADDRESS = 65535


class RegisterPoint(StrictModel):
    """One named value in a device's registers.

    The engineering value is ``raw * scale + offset``. A ``bool`` in a coil or discrete
    input is that bit; a ``bool`` in a holding or input register is bit ``bit`` of it.
    ``byte_order`` is the order of the two bytes within each 16-bit register and
    ``word_order`` the order of the registers within a 32/64-bit value; ``big``/``big`` is
    the Modbus standard (ABCD), ``big``/``little`` the common "word-swapped" CDAB.
    """

    name: PointName
    unit: str = ""
    description: str = ""
    table: RegisterType = Field(
        description="the Modbus table: coil, discrete_input, holding, input"
    )
    address: int = Field(ge=0, le=MAX_ADDRESS)
    type: DataType = DataType.UINT16
    bit: int | None = Field(default=None, ge=0, le=15)
    length: int | None = Field(default=None, ge=1, le=125, description="registers of a string")
    byte_order: Order = Order.BIG
    word_order: Order = Order.BIG
    scale: float = 1.0
    offset: float = 0.0
    enum: dict[int, str] | None = Field(
        default=None, description="raw codes to readable text, e.g. fault codes"
    )
    writable: bool = False
    poll_interval: Duration | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> Self:
        if self.table.is_bit and self.type is not DataType.BOOL:
            raise ValueError(f"a {self.table.value} holds a single bit: type must be bool")
        if self.bit is not None and (self.type is not DataType.BOOL or self.table.is_bit):
            raise ValueError("bit applies only to a bool in a holding or input register")
        if self.type is DataType.STRING and self.length is None:
            raise ValueError("a string point needs length (in registers)")
        if self.length is not None and self.type is not DataType.STRING:
            raise ValueError("length applies only to string points")
        if self.address + self.count - 1 > MAX_ADDRESS:
            raise ValueError(
                f"overruns the register space: {self.address} + {self.count} registers"
                f" ends past {MAX_ADDRESS}"
            )
        return self

    @property
    def count(self) -> int:
        """Registers (or bits, for coils and discrete inputs) this point occupies."""
        if self.type is DataType.BOOL:
            return 1
        if self.type is DataType.STRING:
            assert self.length is not None
            return self.length
        return REGISTER_COUNT[self.type]

    @property
    def end(self) -> int:
        """One past the last register (or bit) of this point."""
        return self.address + self.count


class RegisterMap(StrictModel):
    """The points of one device model, shared by every device of that model."""

    description: str = ""
    points: list[RegisterPoint] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_overlaps(self) -> Self:
        names: set[str] = set()
        for point in self.points:
            if point.name in names:
                raise ValueError(f"point {point.name!r} is defined twice")
            names.add(point.name)
        by_type: dict[RegisterType, list[RegisterPoint]] = {}
        for point in self.points:
            by_type.setdefault(point.table, []).append(point)
        for table, points in by_type.items():
            points.sort(key=lambda p: (p.address, p.bit or 0))
            reach: RegisterPoint | None = None  # the point reaching furthest so far
            for cur in points:
                if reach is not None and cur.address < reach.end:
                    bits_of_one_register = (
                        reach.bit is not None
                        and cur.bit is not None
                        and reach.address == cur.address
                        and reach.bit != cur.bit
                    )
                    if not bits_of_one_register:
                        raise ValueError(
                            f"points {reach.name!r} and {cur.name!r} overlap in"
                            f" {table.value} registers at address {cur.address}"
                        )
                if reach is None or cur.end > reach.end:
                    reach = cur
        return self

    def point(self, name: str) -> RegisterPoint:
        for point in self.points:
            if point.name == name:
                return point
        raise KeyError(name)
