"""Register maps: how a device's points sit in its Modbus registers."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, model_validator

from estatewatch.config.base import PointName, StrictModel
from estatewatch.config.names import LocalizedName
from estatewatch.config.report import ReportOptions
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


# The names device manuals and Modbus tools give a 32-bit value's byte layout: A is the most
# significant byte. Each says both orders: (byte order, word order).
LAYOUTS: dict[str, tuple[Order, Order]] = {
    "ABCD": (Order.BIG, Order.BIG),
    "CDAB": (Order.BIG, Order.LITTLE),
    "BADC": (Order.LITTLE, Order.BIG),
    "DCBA": (Order.LITTLE, Order.LITTLE),
}


def _order_of(which: int) -> Any:
    def convert(value: Any) -> Any:
        if isinstance(value, str) and value.strip().upper() in LAYOUTS:
            return LAYOUTS[value.strip().upper()][which]
        if isinstance(value, str) and value.strip().lower() in ("big", "little"):
            return value.strip().lower()
        if isinstance(value, str):
            raise ValueError(
                f"{value!r} is not an order: write big or little, or the layout a manual"
                " gives (ABCD, CDAB, BADC, DCBA; CDAB is the common word-swapped float)"
            )
        return value

    return BeforeValidator(convert)


ByteOrder = Annotated[Order, _order_of(0)]
WordOrder = Annotated[Order, _order_of(1)]


class Addressing(StrEnum):
    """How a register map writes addresses."""

    WIRE = "wire"
    """0-based, as on the wire (the default): holding register 0 is the first."""
    ONE_BASED = "one_based"
    """1-based, as many manuals number them: register 1 is wire address 0."""
    MODICON = "modicon"
    """Modicon 5- or 6-digit references: 0xxxx coils, 1xxxx discrete inputs, 3xxxx input
    registers, 4xxxx holding registers; 40001 is holding register wire address 0."""


_MODICON_TABLE = {0: "coil", 1: "discrete_input", 3: "input", 4: "holding"}


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


class RegisterPoint(ReportOptions):
    """One named value in a device's registers.

    The engineering value is ``raw * scale + offset``. A ``bool`` in a coil or discrete
    input is that bit; a ``bool`` in a holding or input register is bit ``bit`` of it.
    ``byte_order`` is the order of the two bytes within each 16-bit register and
    ``word_order`` the order of the registers within a 32/64-bit value; ``big``/``big`` is
    the Modbus standard (ABCD), ``big``/``little`` the common "word-swapped" CDAB.
    ``deadband`` and ``max_silence`` (`ReportOptions`) say when its value is sent uplink.
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
    byte_order: ByteOrder = Order.BIG
    word_order: WordOrder = Order.BIG
    scale: float = 1.0
    offset: float = 0.0
    enum: dict[int, LocalizedName] | None = Field(
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
        if self.word_order is Order.LITTLE and self.count == 1:
            raise ValueError(
                f"word_order applies to values of two or more registers; a {self.type.value}"
                " is one register (its bytes: byte_order)"
            )
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
    addressing: Addressing | None = Field(
        default=None,
        description="how `address` is written: wire (0-based), one_based, or modicon"
        " (40001 = holding register 0). Unset, it is wire, and an address that looks like a"
        " Modicon reference for its table is refused with the address to write",
    )
    points: list[RegisterPoint] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _to_wire(cls, data: Any) -> Any:
        """Addresses as the manual writes them → wire addresses, before the points check
        their ranges and overlaps."""
        if not isinstance(data, dict) or not isinstance(data.get("points"), list):
            return data
        mode = data.get("addressing")
        points = []
        for point in data["points"]:
            if isinstance(point, dict) and isinstance(point.get("address"), int):
                written = point["address"]
                point = {**point, "address": _wire_address(point, mode)}
                if mode == Addressing.MODICON and "table" not in point:
                    point["table"] = _MODICON_TABLE[_modicon_split(written)[0]]
            points.append(point)
        return {**data, "points": points}

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


def _modicon_split(address: int) -> tuple[int, int]:
    """A 5- or 6-digit Modicon reference → (table digit, 1-based register)."""
    digits = 6 if address >= 100000 else 5
    return divmod(address, int(10 ** (digits - 1)))


def _wire_address(point: dict[str, Any], mode: Any) -> int:
    address = int(point["address"])
    table = point.get("table")
    name = point.get("name", "?")
    if mode == Addressing.ONE_BASED:
        if address < 1:
            raise ValueError(f"point {name!r}: a one_based address starts at 1, not {address}")
        return address - 1
    if mode == Addressing.MODICON:
        prefix, offset = _modicon_split(address)
        modicon_table = _MODICON_TABLE.get(prefix)
        if modicon_table is None or offset < 1:
            raise ValueError(
                f"point {name!r}: {address} is not a Modicon reference (0xxxx coils, 1xxxx"
                " discrete inputs, 3xxxx input, 4xxxx holding registers, from xxxx=1)"
            )
        if table is not None and table != modicon_table:
            raise ValueError(
                f"point {name!r}: {address} is a Modicon {modicon_table} reference but table"
                f" says {table}"
            )
        return offset - 1
    if mode is None and table in ("holding", "input"):
        prefix = 4 if table == "holding" else 3
        if prefix * 10000 < address < (prefix + 1) * 10000:
            raise ValueError(
                f"point {name!r}: address {address} looks like Modicon notation ({table}"
                f" register {address}): write address: {address - prefix * 10000 - 1} (the"
                " wire address), or set addressing: modicon on the map (or addressing: wire"
                " if the device really uses this address)"
            )
    return address
