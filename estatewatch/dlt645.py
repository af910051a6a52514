"""DL/T 645-2007 (多功能电能表通信协议): frames and data values. Pure; shared by the gateway
(which reads meters) and the simulators (which answer as meters), so the two cannot disagree.

A frame (DL/T 645-2007 §4.1):

    [FE FE FE FE]  68  A0..A5  68  C  L  DATA  CS  16

- an optional wake-up preamble of 0xFE bytes (up to four) that a receiver skips;
- the address: 12 BCD digits, sent least significant byte first (meter 000000000161 is
  ``61 01 00 00 00 00`` on the wire); AAAAAAAAAAAA is the wildcard a meter answers whatever
  its address;
- C, the control code: bit 7 the direction (1: the meter answers), bit 6 an abnormal answer,
  bit 5 a follow-up frame, bits 4..0 the function (0x11 read data);
- L, the length of DATA; every DATA byte is sent plus 0x33 (§4.3.4) and taken minus 0x33;
- CS, the sum modulo 256 of every byte from the first 0x68 to the end of DATA.

A read (C = 0x11) carries the 4-byte data identifier DI3 DI2 DI1 DI0, sent DI0 first; the
normal answer (0x91, or 0xB1 with a follow-up) repeats the DI and adds the value; the
abnormal answer (0xD1) carries one error byte (§7.1.3: bit 1 "no requested data").
Values are BCD, least significant byte first, with the decimal places of the identifier's
format (`XXX.X` volts); signed quantities (currents, powers, power factors) carry the sign
in the top bit of their most significant byte (Appendix A).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from estatewatch.errors import EstateWatchError

START = 0x68
END = 0x16
WAKE = 0xFE
OFFSET = 0x33
WILDCARD = "AAAAAAAAAAAA"
READ = 0x11
ANSWER = 0x80
ABNORMAL = 0x40
FOLLOW_UP = 0x20
FUNCTION = 0x1F
MAX_DATA = 200  # §4.1.5: L is at most 200 for a read


class FrameError(EstateWatchError):
    """Bytes that are not a valid DL/T 645 frame (framing, length, checksum, BCD)."""


class MeterError(IntEnum):
    """Bits of the error byte of an abnormal answer (DL/T 645-2007 table 5)."""

    OTHER = 0x01
    NO_DATA = 0x02
    UNAUTHORISED = 0x04
    BAUD_RATE = 0x08
    YEAR_ZONES = 0x10
    DAY_SLOTS = 0x20
    TARIFFS = 0x40


def describe_error(code: int) -> str:
    """An abnormal answer's error byte in words."""
    names = {
        MeterError.OTHER: "other error",
        MeterError.NO_DATA: "no requested data",
        MeterError.UNAUTHORISED: "unauthorised (password)",
        MeterError.BAUD_RATE: "baud rate cannot change",
        MeterError.YEAR_ZONES: "too many year zones",
        MeterError.DAY_SLOTS: "too many day slots",
        MeterError.TARIFFS: "too many tariffs",
    }
    found = [text for bit, text in names.items() if code & bit]
    return ", ".join(found) or f"error 0x{code:02X}"


# --- data identifiers and their formats (Appendix A) ---------------------------------------


@dataclass(frozen=True, slots=True)
class DataFormat:
    """How a value is written: `size` bytes of BCD with `decimals` places; `signed` puts the
    sign in the top bit."""

    size: int
    decimals: int
    signed: bool = False
    unit: str = ""

    @property
    def limit(self) -> float:
        """The largest magnitude it holds (signed: the top digit is 0..7 beside the sign)."""
        digits = self.size * 2
        top: int = 8 * 10 ** (digits - 1) if self.signed else 10**digits
        return (top - 1) / float(10**self.decimals)


ENERGY = DataFormat(4, 2, unit="kWh")  # XXXXXX.XX
VOLTAGE = DataFormat(2, 1, unit="V")  # XXX.X
CURRENT = DataFormat(3, 3, signed=True, unit="A")  # XXX.XXX
POWER = DataFormat(3, 4, signed=True, unit="kW")  # XX.XXXX
REACTIVE = DataFormat(3, 4, signed=True, unit="kvar")  # XX.XXXX
FACTOR = DataFormat(2, 3, signed=True)  # X.XXX
FREQUENCY = DataFormat(2, 2, unit="Hz")  # XX.XX

IDENTIFIERS: dict[int, tuple[str, DataFormat]] = {
    0x00000000: ("combined active energy, total", ENERGY),
    0x00010000: ("forward active energy, total", ENERGY),
    0x00020000: ("reverse active energy, total", ENERGY),
    0x02010100: ("phase A voltage", VOLTAGE),
    0x02010200: ("phase B voltage", VOLTAGE),
    0x02010300: ("phase C voltage", VOLTAGE),
    0x02020100: ("phase A current", CURRENT),
    0x02020200: ("phase B current", CURRENT),
    0x02020300: ("phase C current", CURRENT),
    0x02030000: ("active power, total", POWER),
    0x02030100: ("phase A active power", POWER),
    0x02030200: ("phase B active power", POWER),
    0x02030300: ("phase C active power", POWER),
    0x02040000: ("reactive power, total", REACTIVE),
    0x02060000: ("power factor, total", FACTOR),
    0x02060100: ("phase A power factor", FACTOR),
    0x02060200: ("phase B power factor", FACTOR),
    0x02060300: ("phase C power factor", FACTOR),
    0x02800002: ("grid frequency", FREQUENCY),
}
"""The identifiers EstateWatch knows the format of; a site file may describe others."""


def parse_identifier(text: str) -> int:
    """A data identifier as printed, DI3 first: ``"02010100"`` or ``"02 01 01 00"``."""
    digits = text.replace(" ", "").replace("_", "")
    if len(digits) != 8:
        raise ValueError(f"{text!r}: a data identifier is 4 bytes, 8 hex digits (DI3..DI0)")
    try:
        return int(digits, 16)
    except ValueError:
        raise ValueError(f"{text!r}: a data identifier is hex digits") from None


def format_identifier(di: int) -> str:
    return f"{di:08X}"


# --- BCD values ----------------------------------------------------------------------------


def _bcd_byte(byte: int) -> int:
    high, low = byte >> 4, byte & 0x0F
    if high > 9 or low > 9:
        raise FrameError(f"0x{byte:02X} is not a BCD byte")
    return high * 10 + low


def decode_value(data: bytes, fmt: DataFormat) -> float:
    """A value from its bytes as sent (least significant first, 0x33 already taken off)."""
    if len(data) != fmt.size:
        raise FrameError(f"a value of this format is {fmt.size} bytes, got {len(data)}")
    ordered = bytearray(reversed(data))  # most significant first
    negative = False
    if fmt.signed and ordered[0] & 0x80:
        negative = True
        ordered[0] &= 0x7F
    number = 0
    for byte in ordered:
        number = number * 100 + _bcd_byte(byte)
    value: float = number / float(10**fmt.decimals)
    return -value if negative else value


def encode_value(value: float, fmt: DataFormat) -> bytes:
    """A value's bytes as sent (least significant first, before the 0x33); out of range is
    clamped to the format's limit, as a meter's display saturates."""
    magnitude = min(abs(value), fmt.limit)
    number = round(magnitude * 10**fmt.decimals)
    digits = f"{number:0{fmt.size * 2}d}"
    out = bytearray(int(digits[i : i + 2], 16) for i in range(0, len(digits), 2))
    if fmt.signed and value < 0 and number:
        out[0] |= 0x80
    return bytes(reversed(out))


# --- addresses -----------------------------------------------------------------------------


def address_bytes(address: str) -> bytes:
    """12 digits (or the AA wildcard) as sent: least significant byte first."""
    text = address.upper()
    if len(text) != 12 or not (text.isdigit() or text == WILDCARD):
        raise ValueError(f"{address!r}: a meter address is 12 decimal digits")
    return bytes(reversed(bytes.fromhex(text)))


def address_text(wire: bytes) -> str:
    return bytes(reversed(wire)).hex().upper()


# --- frames --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame with its DATA as meant (0x33 taken off)."""

    address: str
    control: int
    data: bytes = b""

    @property
    def is_answer(self) -> bool:
        return bool(self.control & ANSWER)

    @property
    def abnormal(self) -> bool:
        return bool(self.control & ABNORMAL)

    @property
    def function(self) -> int:
        return self.control & FUNCTION


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def encode_frame(frame: Frame, *, wake: int = 4) -> bytes:
    """The bytes of `frame` on the wire, after `wake` 0xFE bytes."""
    if len(frame.data) > MAX_DATA:
        raise ValueError(f"DATA of {len(frame.data)} bytes: at most {MAX_DATA}")
    body = (
        bytes((START,))
        + address_bytes(frame.address)
        + bytes((START, frame.control, len(frame.data)))
        + bytes((b + OFFSET) & 0xFF for b in frame.data)
    )
    return bytes((WAKE,)) * wake + body + bytes((checksum(body), END))


def frame_length(buffer: bytes) -> tuple[int, int] | None:
    """Where the first frame in `buffer` starts (past the wake-up bytes and any noise) and
    how many bytes it takes, or None while its header is incomplete."""
    start = buffer.find(bytes((START,)))
    if start < 0 or len(buffer) < start + 10:
        return None
    return start, 12 + buffer[start + 9]


def decode_frame(raw: bytes) -> Frame:
    """The frame in `raw` (wake-up bytes before it are skipped); `FrameError` if it is not
    one: no start, a bad second start byte, a short frame, a bad checksum or end byte."""
    start = 0
    while start < len(raw) and raw[start] == WAKE:
        start += 1
    body = raw[start:]
    if len(body) < 12 or body[0] != START:
        raise FrameError(f"no DL/T 645 frame in {raw.hex(' ')}")
    if body[7] != START:
        raise FrameError("the second start byte (0x68) is missing")
    length = body[9]
    if len(body) < 12 + length:
        raise FrameError(f"frame cut short: L={length}, {len(body) - 12} data bytes")
    end = 10 + length
    if checksum(body[:end]) != body[end]:
        raise FrameError(
            f"checksum 0x{body[end]:02X}, the bytes sum to 0x{checksum(body[:end]):02X}"
        )
    if body[end + 1] != END:
        raise FrameError(f"end byte 0x{body[end + 1]:02X}, not 0x16")
    address = address_text(body[1:7])
    data = bytes((b - OFFSET) & 0xFF for b in body[10:end])
    return Frame(address, body[8], data)


def read_request(address: str, di: int) -> Frame:
    """A master's read of data identifier `di` (C = 0x11)."""
    return Frame(address, READ, di.to_bytes(4, "little"))


def read_answer(address: str, di: int, value: bytes) -> Frame:
    """A meter's normal answer to a read (C = 0x91)."""
    return Frame(address, READ | ANSWER, di.to_bytes(4, "little") + value)


def error_answer(address: str, code: int) -> Frame:
    """A meter's abnormal answer to a read (C = 0xD1) with its error byte."""
    return Frame(address, READ | ANSWER | ABNORMAL, bytes((code,)))


class AbnormalAnswer(EstateWatchError):
    """The meter answered a read with an error byte."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"abnormal answer: {describe_error(code)} (0x{code:02X})")


def answer_value(frame: Frame, address: str, di: int) -> bytes:
    """The value bytes of a meter's answer to a read of `di` from `address`; `AbnormalAnswer`
    for an error answer, `FrameError` for an answer to something else."""
    if not frame.is_answer or frame.function != READ:
        raise FrameError(f"not an answer to a read (control 0x{frame.control:02X})")
    if address != WILDCARD and frame.address != address:
        raise FrameError(f"an answer from meter {frame.address}, not {address}")
    if frame.abnormal:
        raise AbnormalAnswer(frame.data[0] if frame.data else 0)
    if len(frame.data) < 4 or int.from_bytes(frame.data[:4], "little") != di:
        raise FrameError(f"an answer about {frame.data[:4][::-1].hex().upper()}, not {di:08X}")
    return frame.data[4:]
