"""The DL/T 645-2007 codec against frames of a real meter session and the standard's rules.

The session below is a published capture of a master reading meter 000000000161 (its
frames as sent and as the meter answered); the formats are Appendix A's (XXXXXX.XX kWh,
XXX.X V, XXX.XXX A with the sign in the top bit, XX.XXXX kW, X.XXX)."""

from __future__ import annotations

import pytest

from estatewatch.dlt645 import (
    CURRENT,
    ENERGY,
    FACTOR,
    FREQUENCY,
    POWER,
    VOLTAGE,
    AbnormalAnswer,
    DataFormat,
    Frame,
    FrameError,
    MeterError,
    answer_value,
    decode_frame,
    decode_value,
    encode_frame,
    encode_value,
    error_answer,
    frame_length,
    parse_identifier,
    read_answer,
    read_request,
)

METER = "000000000161"

# (data identifier, the master's request, the meter's answer, the value it carries)
SESSION = [
    (
        0x00010000,  # forward active energy, total
        "FE FE FE FE 68 61 01 00 00 00 00 68 11 04 33 33 34 33 14 16",
        "68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33 33 33 8A 16",
        0.26,
    ),
    (
        0x02010100,  # phase A voltage
        "FE FE FE FE 68 61 01 00 00 00 00 68 11 04 33 34 34 35 17 16",
        "68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16",
        100.1,
    ),
]


@pytest.mark.parametrize(("di", "request_hex", "answer_hex", "value"), SESSION)
def test_a_real_session_encodes_and_decodes(
    di: int, request_hex: str, answer_hex: str, value: float
) -> None:
    request = bytes.fromhex(request_hex)
    assert encode_frame(read_request(METER, di)) == request
    assert decode_frame(request) == read_request(METER, di)
    answer = decode_frame(bytes.fromhex(answer_hex))
    assert answer.address == METER
    assert answer.control == 0x91
    fmt = ENERGY if di == 0x00010000 else VOLTAGE
    assert decode_value(answer_value(answer, METER, di), fmt) == pytest.approx(value)
    assert encode_frame(read_answer(METER, di, encode_value(value, fmt)), wake=0) == bytes.fromhex(
        answer_hex
    )


def test_the_current_request_of_the_session() -> None:
    assert encode_frame(read_request(METER, 0x02020100)).hex(" ").upper() == (
        "FE FE FE FE 68 61 01 00 00 00 00 68 11 04 33 34 35 35 18 16"
    )


@pytest.mark.parametrize(
    ("fmt", "value", "wire"),
    [
        (ENERGY, 123456.78, "78 56 34 12"),
        (VOLTAGE, 230.4, "04 23"),
        (CURRENT, 12.345, "45 23 01"),
        (CURRENT, -12.345, "45 23 81"),  # sign in the top bit of the most significant byte
        (POWER, 5.4321, "21 43 05"),
        (POWER, -0.0001, "01 00 80"),
        (FACTOR, 0.953, "53 09"),
        (FACTOR, -0.5, "00 85"),
        (FREQUENCY, 50.01, "01 50"),
    ],
)
def test_bcd_values_by_format(fmt: DataFormat, value: float, wire: str) -> None:
    assert encode_value(value, fmt).hex(" ") == wire.lower()
    assert decode_value(bytes.fromhex(wire), fmt) == pytest.approx(value)


def test_out_of_range_values_saturate() -> None:
    assert decode_value(encode_value(1e9, VOLTAGE), VOLTAGE) == 999.9
    assert decode_value(encode_value(-1e9, CURRENT), CURRENT) == -799.999


def test_data_offset_and_address_order() -> None:
    frame = encode_frame(Frame("123456789012", 0x11, bytes([0x00, 0xCD, 0xFF])), wake=0)
    assert frame[1:7] == bytes([0x12, 0x90, 0x78, 0x56, 0x34, 0x12])  # reversed BCD
    assert frame[10:13] == bytes([0x33, 0x00, 0x32])  # +0x33, modulo 256
    assert decode_frame(frame).data == bytes([0x00, 0xCD, 0xFF])


def test_abnormal_answer() -> None:
    raw = encode_frame(error_answer(METER, MeterError.NO_DATA))
    frame = decode_frame(raw)
    assert frame.control == 0xD1
    with pytest.raises(AbnormalAnswer, match="no requested data"):
        answer_value(frame, METER, 0x02010100)


@pytest.mark.parametrize(
    ("mangle", "match"),
    [
        (lambda b: b[:-2] + bytes([(b[-2] + 1) & 0xFF]) + b[-1:], "checksum"),
        (lambda b: b[:-1] + b"\x17", "end byte"),
        (lambda b: b[:7] + b"\x00" + b[8:], "second start"),
        (lambda b: b[:12], "cut short|no DL/T"),
        (lambda b: b"\x00\x01", "no DL/T 645 frame"),
    ],
)
def test_bad_frames_are_refused(mangle: object, match: str) -> None:
    raw = encode_frame(read_answer(METER, 0x02010100, encode_value(230.0, VOLTAGE)), wake=0)
    with pytest.raises(FrameError, match=match):
        decode_frame(mangle(raw))  # type: ignore[operator]


def test_answers_about_something_else_are_refused() -> None:
    other = read_answer("000000000162", 0x02010100, encode_value(230.0, VOLTAGE))
    with pytest.raises(FrameError, match="from meter 000000000162"):
        answer_value(other, METER, 0x02010100)
    with pytest.raises(FrameError, match="not 02010200"):
        answer_value(read_answer(METER, 0x02010100, b"\x00\x23"), METER, 0x02010200)
    with pytest.raises(FrameError, match="not an answer"):
        answer_value(read_request(METER, 0x02010100), METER, 0x02010100)
    with pytest.raises(FrameError, match="BCD"):
        decode_value(b"\x0a\x23", VOLTAGE)


def test_frame_length_skips_the_wake_up_bytes() -> None:
    raw = encode_frame(read_request(METER, 0x02010100))
    assert frame_length(raw[:8]) is None
    assert frame_length(raw) == (4, 16)


def test_identifiers_as_printed() -> None:
    assert parse_identifier("02 01 01 00") == 0x02010100
    assert parse_identifier("00000000") == 0
    with pytest.raises(ValueError, match="8 hex digits"):
        parse_identifier("020101")
