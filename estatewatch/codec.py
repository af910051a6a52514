"""Register codec: Modbus register words <-> engineering values, as the register map says.

Pure functions, shared by the gateway (decode) and the simulators (encode), so the two can
never disagree about a byte order.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from typing import NoReturn

from estatewatch.config.registers import DataType, Order, RegisterPoint
from estatewatch.errors import EstateWatchError

Value = float | int | bool | str

_FORMATS: dict[DataType, str] = {
    DataType.INT16: "h",
    DataType.UINT16: "H",
    DataType.INT32: "i",
    DataType.UINT32: "I",
    DataType.FLOAT32: "f",
    DataType.INT64: "q",
    DataType.UINT64: "Q",
    DataType.FLOAT64: "d",
}
_FLOATS = (DataType.FLOAT32, DataType.FLOAT64)


class DecodeError(EstateWatchError):
    """Registers that cannot be a value of the point's type (wrong count, NaN, ...)."""


def _words_to_bytes(words: Sequence[int], byte_order: Order, word_order: Order) -> bytes:
    ordered = list(words) if word_order is Order.BIG else list(reversed(words))
    out = bytearray()
    for word in ordered:
        hi, lo = (word >> 8) & 0xFF, word & 0xFF
        out += bytes((hi, lo)) if byte_order is Order.BIG else bytes((lo, hi))
    return bytes(out)


def _bytes_to_words(data: bytes, byte_order: Order, word_order: Order) -> list[int]:
    words = []
    for i in range(0, len(data), 2):
        hi, lo = data[i], data[i + 1]
        words.append((hi << 8) | lo if byte_order is Order.BIG else (lo << 8) | hi)
    return words if word_order is Order.BIG else list(reversed(words))


def _scaled(raw: float | int, point: RegisterPoint) -> float | int:
    if point.scale == 1.0 and point.offset == 0.0:
        return raw
    return raw * point.scale + point.offset


def decode(words: Sequence[int], point: RegisterPoint) -> Value:
    """The value of `point` from exactly its registers (`point.count` words, each 0..65535).

    For coils and discrete inputs pass the bit as a one-element sequence.
    """
    if len(words) != point.count:
        raise DecodeError(f"{point.name}: expected {point.count} registers, got {len(words)}")
    if point.type is DataType.BOOL:
        if point.bit is None:
            return bool(words[0])
        return bool((words[0] >> point.bit) & 1)
    data = _words_to_bytes(words, point.byte_order, point.word_order)
    if point.type is DataType.STRING:
        return data.split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()
    (raw,) = struct.unpack(">" + _FORMATS[point.type], data)
    if point.type in _FLOATS and not math.isfinite(raw):
        raise DecodeError(f"{point.name}: register value is not a finite number ({raw})")
    return _scaled(raw, point)


Decoder = Callable[[Sequence[int]], Value]


def decoder(point: RegisterPoint) -> Decoder:
    """`decode` for one point, prepared once: `decoder(point)(words) == decode(words, point)`
    for every input, at a fraction of the cost (a gateway decodes every point every poll).
    The byte and word orders become two precompiled `struct` formats."""
    count, name, bit = point.count, point.name, point.bit

    def wrong_count(words: Sequence[int]) -> NoReturn:
        raise DecodeError(f"{name}: expected {count} registers, got {len(words)}")

    if point.type is DataType.BOOL:

        def flag(words: Sequence[int]) -> Value:
            if len(words) != 1:
                wrong_count(words)
            return bool(words[0]) if bit is None else bool((words[0] >> bit) & 1)

        return flag
    pack = struct.Struct(("<" if point.byte_order is Order.LITTLE else ">") + f"{count}H").pack
    swap = point.word_order is Order.LITTLE
    if point.type is DataType.STRING:

        def text(words: Sequence[int]) -> Value:
            if len(words) != count:
                wrong_count(words)
            data = pack(*(words[::-1] if swap else words))
            return data.split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()

        return text
    unpack = struct.Struct(">" + _FORMATS[point.type]).unpack
    is_float = point.type in _FLOATS
    scale, offset = point.scale, point.offset
    plain = scale == 1.0 and offset == 0.0

    def number(words: Sequence[int]) -> Value:
        if len(words) != count:
            wrong_count(words)
        raw: float | int = unpack(pack(*(words[::-1] if swap else words)))[0]
        if is_float and not math.isfinite(raw):
            raise DecodeError(f"{name}: register value is not a finite number ({raw})")
        return raw if plain else raw * scale + offset

    return number


def encode(value: Value, point: RegisterPoint) -> list[int]:
    """The registers that make `decode` return `value` (the simulators' side)."""
    if point.type is DataType.BOOL:
        flag = bool(value)
        if point.bit is None:
            return [int(flag)]
        return [int(flag) << point.bit]
    if point.type is DataType.STRING:
        assert point.length is not None
        data = str(value).encode("utf-8")[: point.length * 2].ljust(point.length * 2, b"\x00")
        return _bytes_to_words(data, point.byte_order, point.word_order)
    if isinstance(value, str):
        raise TypeError(f"{point.name}: cannot encode text into a {point.type.value}")
    raw: float | int
    if point.scale == 1.0 and point.offset == 0.0:
        raw = value  # exact for 64-bit integers, which a float would round
    else:
        raw = (float(value) - point.offset) / point.scale
    if point.type not in _FLOATS:
        fmt = _FORMATS[point.type]
        bits = struct.calcsize(fmt) * 8
        lo, hi = (0, 2**bits - 1) if fmt.isupper() else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        raw = min(hi, max(lo, round(raw)))
    data = struct.pack(">" + _FORMATS[point.type], raw)
    return _bytes_to_words(data, point.byte_order, point.word_order)


def enum_text(point: RegisterPoint, value: Value) -> str | None:
    """The readable text of a coded value (a fault code), if the map names it."""
    if point.enum is None or (isinstance(value, str | float) and not float(value).is_integer()):
        return None
    return point.enum.get(int(value))
