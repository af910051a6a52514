"""Block answers to values with quality, and the device state machine: pure table tests."""

from __future__ import annotations

import math
import struct

import pytest

from estatewatch.config import RegisterPoint
from estatewatch.contracts.payloads import DeviceError, DeviceErrorKind, DeviceState, Quality
from gateway.plan import plan_reads
from gateway.readout import ReadFailure, read_out
from gateway.status import DeviceHealth, PollResult, observe


def pt(name: str, address: int, type_: str = "uint16", **kw: object) -> RegisterPoint:
    return RegisterPoint.model_validate(
        {"name": name, "table": "input", "address": address, "type": type_, **kw}
    )


POINTS = [
    pt("pressure", 0, "float32", word_order="little"),
    pt("level", 2, scale=0.1),
    pt("running", 3, "bool", bit=1),
    pt("temp", 4, "int16", scale=0.1, offset=-1.0),
]


def float_words(value: float, swap: bool) -> list[int]:
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [lo, hi] if swap else [hi, lo]


def test_good_block_decodes_every_type() -> None:
    requests = plan_reads(POINTS, 8)
    words = [*float_words(0.5, swap=True), 455, 0b10, (-105) & 0xFFFF]
    out = read_out(requests, [words], {})
    assert out.values["pressure"] == pytest.approx(0.5)
    assert out.values["level"] == pytest.approx(45.5)
    assert out.values["running"] is True
    assert out.values["temp"] == pytest.approx(-11.5)
    assert out.quality == {}
    assert out.good_points == 4


def test_failed_read_repeats_last_good_as_stale() -> None:
    requests = plan_reads(POINTS, 8)
    failure = ReadFailure(DeviceErrorKind.MODBUS_EXCEPTION, "exception 4", code=4)
    out = read_out(requests, [failure], {"pressure": 0.4, "level": 40.0})
    assert out.values == {"pressure": 0.4, "level": 40.0}
    assert out.quality == {
        "pressure": Quality.STALE,
        "level": Quality.STALE,
        "running": Quality.ERROR,
        "temp": Quality.ERROR,
    }
    assert out.errors[0].code == 4


def test_decode_failure_is_error_without_value() -> None:
    requests = plan_reads(POINTS, 8)
    nan = float_words(math.nan, swap=True)
    out = read_out(requests, [[*nan, 1, 0, 0]], {"pressure": 0.4})
    assert "pressure" not in out.values
    assert out.quality == {"pressure": Quality.ERROR}
    assert out.errors[0].kind is DeviceErrorKind.DECODE
    assert out.good_points == 3


def test_answers_must_match_requests() -> None:
    with pytest.raises(ValueError, match="answers"):
        read_out(plan_reads(POINTS, 8), [], {})


TIMEOUT = DeviceError(kind=DeviceErrorKind.TIMEOUT, message="no answer")


@pytest.mark.parametrize(
    ("results", "states", "changes"),
    [
        ([PollResult.GOOD], [DeviceState.ONLINE], [True]),
        (
            [PollResult.GOOD, PollResult.NO_ANSWER, PollResult.NO_ANSWER, PollResult.NO_ANSWER],
            [DeviceState.ONLINE, DeviceState.ONLINE, DeviceState.ONLINE, DeviceState.OFFLINE],
            [True, False, False, True],
        ),
        (
            [PollResult.NO_ANSWER] * 3 + [PollResult.GOOD],
            [None, None, DeviceState.OFFLINE, DeviceState.ONLINE],
            [False, False, True, True],
        ),
        (
            [PollResult.GOOD, PollResult.PARTIAL, PollResult.PARTIAL, PollResult.GOOD],
            [DeviceState.ONLINE, DeviceState.DEGRADED, DeviceState.DEGRADED, DeviceState.ONLINE],
            [True, True, False, True],
        ),
        (  # an answer in between resets the count
            [PollResult.NO_ANSWER, PollResult.NO_ANSWER, PollResult.PARTIAL, PollResult.NO_ANSWER],
            [None, None, DeviceState.DEGRADED, DeviceState.DEGRADED],
            [False, False, True, False],
        ),
    ],
)
def test_state_machine(
    results: list[PollResult], states: list[DeviceState | None], changes: list[bool]
) -> None:
    health = DeviceHealth()
    for i, (result, state, change) in enumerate(zip(results, states, changes, strict=True)):
        health, changed = observe(health, result, 1000 * i, offline_after=3, error=TIMEOUT)
        assert (health.state, changed) == (state, change), i
        if changed:
            assert health.since_ms == 1000 * i


def test_offline_keeps_last_seen_and_error() -> None:
    health, _ = observe(DeviceHealth(), PollResult.GOOD, 5, offline_after=1)
    health, _ = observe(health, PollResult.NO_ANSWER, 9, offline_after=1, error=TIMEOUT)
    assert health.state is DeviceState.OFFLINE
    assert health.last_seen_ms == 5
    assert health.last_error == TIMEOUT
    assert health.consecutive_failures == 1
