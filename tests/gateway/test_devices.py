"""A device's state: online, degraded, offline after N silent polls, back on an answer."""

from __future__ import annotations

import logging

import pytest

from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import DeviceError, DeviceErrorKind, DeviceState, Quality
from gateway.devices import DeviceTracker, PollResult

TIMEOUT = DeviceError(kind=DeviceErrorKind.TIMEOUT, message="no answer within 1 s")
REFUSED = DeviceError(kind=DeviceErrorKind.MODBUS_EXCEPTION, code=4, message="exception 4")
NAN = DeviceError(kind=DeviceErrorKind.DECODE, message="not a finite number")


@pytest.fixture
def tracker(example_site: SiteConfig) -> DeviceTracker:
    device = example_site.device("pump-domestic-low")  # offline_after 3, 1 s interval
    return DeviceTracker(device, site="harbour-view", gateway="gw")


def good(**values: float) -> PollResult:
    return PollResult(values=dict(values))


def silent(*names: str) -> PollResult:
    return PollResult(failed={n: TIMEOUT for n in names}, answered=False)


def test_online_on_the_first_answer(tracker: DeviceTracker) -> None:
    reading, changed = tracker.observe(good(a=1.0, b=2.0), 1000)
    assert changed
    assert tracker.state is DeviceState.ONLINE
    assert reading is not None
    assert reading.values == {"a": 1.0, "b": 2.0}
    assert reading.quality == {}
    assert reading.ts == 1000
    status = tracker.status(1000)
    assert status is not None
    assert status.state is DeviceState.ONLINE
    assert status.since == 1000
    _, changed = tracker.observe(good(a=1.1, b=2.0), 2000)
    assert not changed  # no state change, no status


def test_offline_after_n_silent_polls_and_back(tracker: DeviceTracker) -> None:
    tracker.observe(good(a=1.0), 1000)
    for t, expect in ((2000, DeviceState.ONLINE), (3000, DeviceState.ONLINE)):
        reading, changed = tracker.observe(silent("a"), t)
        assert tracker.state is expect
        assert not changed
        assert reading is not None
        assert reading.quality == {"a": Quality.STALE}
        assert reading.values == {"a": 1.0}  # the last good value, marked stale
    reading, changed = tracker.observe(silent("a"), 4000)
    assert changed
    assert tracker.state is DeviceState.OFFLINE
    assert reading is None
    status = tracker.status(4000)
    assert status is not None
    assert status.consecutive_failures == 3
    assert status.last_seen == 1000
    assert status.since == 4000
    assert status.last_error is not None
    assert status.last_error.kind is DeviceErrorKind.TIMEOUT
    reading, changed = tracker.observe(good(a=5.0), 9000)
    assert changed
    assert tracker.status(9000) is not None
    assert tracker.status(9000).state is DeviceState.ONLINE  # type: ignore[union-attr]
    assert tracker.failures == 0
    assert reading is not None
    assert reading.values == {"a": 5.0}


def test_an_exception_response_means_degraded_with_its_code(tracker: DeviceTracker) -> None:
    tracker.observe(good(a=1.0, b=2.0), 1000)
    result = PollResult(values={"b": 2.5}, failed={"a": REFUSED})
    reading, changed = tracker.observe(result, 2000)
    assert changed
    assert tracker.state is DeviceState.DEGRADED
    status = tracker.status(2000)
    assert status is not None
    assert status.last_error is not None
    assert status.last_error.code == 4
    assert status.consecutive_failures == 0
    assert reading is not None
    assert reading.values == {"a": 1.0, "b": 2.5}
    assert reading.quality == {"a": Quality.STALE}


def test_a_value_that_does_not_decode_is_an_error_without_value(tracker: DeviceTracker) -> None:
    tracker.observe(good(a=1.0, b=2.0), 1000)
    reading, _ = tracker.observe(PollResult(values={"b": 3.0}, failed={"a": NAN}), 2000)
    assert reading is not None
    assert reading.values == {"b": 3.0}
    assert reading.quality == {"a": Quality.ERROR}


def test_stale_only_while_recent(tracker: DeviceTracker) -> None:
    tracker.observe(good(a=1.0, b=1.0), 1000)
    result = PollResult(values={"b": 2.0}, failed={"a": REFUSED})
    reading, _ = tracker.observe(result, 1000 + tracker.stale_ms + 1)
    assert reading is not None
    assert reading.quality == {"a": Quality.ERROR}
    assert "a" not in reading.values


def test_nothing_but_errors_gives_no_reading(tracker: DeviceTracker) -> None:
    reading, changed = tracker.observe(PollResult(failed={"a": REFUSED}), 1000)
    assert reading is None
    assert changed
    assert tracker.state is DeviceState.DEGRADED


def test_a_new_error_code_is_a_new_status(tracker: DeviceTracker) -> None:
    tracker.observe(PollResult(failed={"a": REFUSED}), 1000)
    other = DeviceError(kind=DeviceErrorKind.MODBUS_EXCEPTION, code=2, message="exception 2")
    _, changed = tracker.observe(PollResult(failed={"a": other}), 2000)
    assert changed
    _, changed = tracker.observe(PollResult(failed={"a": other}), 3000)
    assert not changed


def test_the_first_error_is_loud_and_repeats_quiet(
    tracker: DeviceTracker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway.devices")
    tracker.observe(good(a=1.0), 0)
    for t in range(1, 6):
        tracker.observe(silent("a"), t * 1000)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings  # the first failure, then going offline
    assert "pump-domestic-low: no answer within 1 s" in warnings[0]
    assert "offline after 3 polls" in warnings[1]
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 4
    caplog.clear()
    tracker.observe(good(a=1.0), 9000)
    assert any("back online" in r.getMessage() for r in caplog.records)


def test_a_single_missed_poll_is_forgotten_on_the_next_answer(tracker: DeviceTracker) -> None:
    tracker.observe(good(a=1.0), 1000)
    tracker.observe(silent("a"), 2000)
    assert tracker.failures == 1
    assert tracker.last_error is TIMEOUT
    reading, changed = tracker.observe(good(a=2.0), 3000)
    assert tracker.failures == 0
    assert tracker.last_error is None
    assert not changed  # it never stopped being online
    assert reading is not None
    assert reading.values == {"a": 2.0}
    assert reading.quality == {}
