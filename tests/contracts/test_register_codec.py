"""Table tests of the register codec: every data type in every byte/word order."""

from __future__ import annotations

import math
import struct

import pytest

from estatewatch.codec import DecodeError, decode, encode, enum_text
from estatewatch.config import DataType, Order, RegisterPoint, RegisterType

# (type, value, registers in big/big order = ABCD as on the wire)
CASES = [
    (DataType.INT16, -2, [0xFFFE]),
    (DataType.UINT16, 0xBEEF, [0xBEEF]),
    (DataType.INT32, -123456, [0xFFFE, 0x1DC0]),
    (DataType.UINT32, 0xDEADBEEF, [0xDEAD, 0xBEEF]),
    (DataType.FLOAT32, 0.45, list(struct.unpack(">2H", struct.pack(">f", 0.45)))),
    (DataType.INT64, -(2**40) - 5, list(struct.unpack(">4H", struct.pack(">q", -(2**40) - 5)))),
    (DataType.UINT64, 2**63 + 7, list(struct.unpack(">4H", struct.pack(">Q", 2**63 + 7)))),
    (DataType.FLOAT64, 12345.678901, list(struct.unpack(">4H", struct.pack(">d", 12345.678901)))),
]


def _swap_bytes(word: int) -> int:
    return ((word & 0xFF) << 8) | (word >> 8)


def _wire(abcd: list[int], byte_order: Order, word_order: Order) -> list[int]:
    """What a device with these orders puts on the wire for a big/big value."""
    words = list(abcd) if word_order is Order.BIG else list(reversed(abcd))
    return words if byte_order is Order.BIG else [_swap_bytes(w) for w in words]


def _point(
    data_type: DataType, byte_order: Order, word_order: Order, **kw: object
) -> RegisterPoint:
    return RegisterPoint(
        name="p",
        table=RegisterType.HOLDING,
        address=10,
        type=data_type,
        byte_order=byte_order,
        word_order=word_order,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("byte_order", list(Order))
@pytest.mark.parametrize("word_order", list(Order))
@pytest.mark.parametrize(("data_type", "value", "abcd"), CASES, ids=[c[0].value for c in CASES])
def test_decode_every_type_and_order(
    data_type: DataType, value: float, abcd: list[int], byte_order: Order, word_order: Order
) -> None:
    if len(abcd) == 1 and word_order is Order.LITTLE:
        with pytest.raises(ValueError, match="word_order applies to values of two or more"):
            _point(data_type, byte_order, word_order)
        return  # one register has no word order: refused in the site file
    point = _point(data_type, byte_order, word_order)
    wire = _wire(abcd, byte_order, word_order)
    decoded = decode(wire, point)
    if data_type in (DataType.FLOAT32,):
        assert decoded == pytest.approx(value, rel=1e-6)
    else:
        assert decoded == value
    assert encode(decoded, point) == wire


def test_word_swapped_float_is_cdab() -> None:
    """The common 'word-swapped' float32 of many controllers: 0.45 as CDAB."""
    a, b = struct.unpack(">2H", struct.pack(">f", 0.45))
    point = _point(DataType.FLOAT32, Order.BIG, Order.LITTLE)
    assert decode([b, a], point) == pytest.approx(0.45)


@pytest.mark.parametrize(
    ("raw", "scale", "offset", "expected"),
    [(1234, 0.1, 0.0, 123.4), (500, 0.01, -2.0, 3.0), (7, 1.0, 0.0, 7), (0, 0.5, 10.0, 10.0)],
)
def test_scale_and_offset(raw: int, scale: float, offset: float, expected: float) -> None:
    point = _point(DataType.UINT16, Order.BIG, Order.BIG, scale=scale, offset=offset)
    assert decode([raw], point) == pytest.approx(expected)
    assert encode(expected, point) == [raw]


def test_unscaled_integers_stay_integers() -> None:
    value = decode([42], _point(DataType.UINT16, Order.BIG, Order.BIG))
    assert value == 42
    assert isinstance(value, int)


def test_bit_in_register_and_coil() -> None:
    bit3 = RegisterPoint(name="b", table=RegisterType.INPUT, address=0, type=DataType.BOOL, bit=3)
    assert decode([0b1000], bit3) is True
    assert decode([0b0111], bit3) is False
    assert encode(True, bit3) == [0b1000]
    coil = RegisterPoint(name="c", table=RegisterType.COIL, address=0, type=DataType.BOOL)
    assert decode([1], coil) is True


@pytest.mark.parametrize("byte_order", list(Order))
def test_string(byte_order: Order) -> None:
    point = _point(DataType.STRING, byte_order, Order.BIG, length=4)
    words = encode("KONE-3", point)
    assert len(words) == 4
    assert decode(words, point) == "KONE-3"


def test_wrong_register_count_and_nan_are_decode_errors() -> None:
    point = _point(DataType.FLOAT32, Order.BIG, Order.BIG)
    with pytest.raises(DecodeError, match="expected 2 registers"):
        decode([1], point)
    nan = list(struct.unpack(">2H", struct.pack(">f", math.nan)))
    with pytest.raises(DecodeError, match="not a finite number"):
        decode(nan, point)


def test_encode_clamps_to_the_type_range() -> None:
    point = _point(DataType.INT16, Order.BIG, Order.BIG)
    assert decode(encode(99999, point), point) == 32767


def test_enum_text() -> None:
    point = _point(
        DataType.UINT16, Order.BIG, Order.BIG, enum={0: "none", 31: "stopped between floors"}
    )
    assert enum_text(point, 31) == "stopped between floors"
    assert enum_text(point, 5) is None
