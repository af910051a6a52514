"""Report by exception: the pure filter, table-tested."""

from __future__ import annotations

from datetime import timedelta

import pytest

from estatewatch.codec import Value
from estatewatch.config import Dlt645Point
from estatewatch.config.report import Deadband, ReportOptions
from estatewatch.contracts.payloads import Quality
from gateway.devices import Reading
from gateway.report import PointPolicy, ReportFilter, changed, policies

ABS = Deadband(value=1.0)
PCT = Deadband(value=2.0, percent=True)


@pytest.mark.parametrize(
    ("sent", "now", "band", "expected"),
    [
        (230.0, 230.9, ABS, False),
        (230.0, 231.0, ABS, False),  # exactly the band: not beyond it
        (230.0, 231.01, ABS, True),
        (230.0, 228.9, ABS, True),
        (100.0, 101.9, PCT, False),
        (100.0, 102.5, PCT, True),
        (-100.0, -97.0, PCT, True),  # a percentage of the magnitude
        (0.0, 0.001, PCT, True),  # 2 % of zero is zero: any change
        (5, 5, Deadband(value=0), False),
        (5, 6, Deadband(value=0), True),
        (True, False, ABS, True),  # bools, enums and strings: any change
        (True, True, ABS, False),
        ("door open", "door open", ABS, False),
        ("door open", "closed", ABS, True),
        (1, True, ABS, True),  # a change of type is a change
        (None, 3.0, ABS, True),
    ],
)
def test_changed(sent: Value | None, now: Value | None, band: Deadband, expected: bool) -> None:
    assert changed(sent, now, band) is expected


def test_deadband_is_parsed_as_written() -> None:
    assert ReportOptions.model_validate({"deadband": "0.5%"}).deadband == Deadband(
        value=0.5, percent=True
    )
    assert ReportOptions.model_validate({"deadband": 2}).deadband == Deadband(value=2)
    assert ReportOptions.model_validate({"deadband": "3"}).deadband == Deadband(value=3)
    with pytest.raises(ValueError, match="not a deadband"):
        ReportOptions.model_validate({"deadband": "lots"})
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        ReportOptions.model_validate({"deadband": -1})


def test_policies_only_for_points_that_ask_unless_everything() -> None:
    points = [
        Dlt645Point(name="voltage_l1", di="02010100", deadband=ABS),
        Dlt645Point(name="energy", di="00000000", max_silence=timedelta(seconds=300)),
    ]
    assert policies(points, everything=False) == {"voltage_l1": PointPolicy(ABS, 60_000)}
    assert policies(points, everything=True) == {
        "voltage_l1": PointPolicy(ABS, 60_000),
        "energy": PointPolicy(Deadband(value=0), 300_000),
    }


Step = tuple[int, dict[str, Value], dict[str, Quality]]


def _run(
    report: ReportFilter, steps: list[Step]
) -> list[tuple[dict[str, Value], dict[str, Quality]] | None]:
    out: list[tuple[dict[str, Value], dict[str, Quality]] | None] = []
    for ts, values, quality in steps:
        sent = report(Reading(ts, values, quality))
        out.append(None if sent is None else (sent.values, sent.quality))
    return out


def test_a_steady_value_goes_out_once_a_minute_and_a_change_at_once() -> None:
    report = ReportFilter({"v": PointPolicy(ABS, 60_000)})
    steps: list[Step] = [
        (0, {"v": 230.0, "raw": 1}, {}),
        (1_000, {"v": 230.4, "raw": 1}, {}),
        (2_000, {"v": 230.8}, {}),  # within 1 V of 230.0, the value last sent
        (3_000, {"v": 231.2}, {}),  # drifted beyond the band since the last *sent*
        (4_000, {"v": 231.0}, {}),
        (63_000, {"v": 231.0}, {}),  # a minute of silence
        (64_000, {"v": 231.0}, {}),
    ]
    assert _run(report, steps) == [
        ({"v": 230.0, "raw": 1}, {}),
        ({"raw": 1}, {}),  # a point without a policy goes out every time
        None,
        ({"v": 231.2}, {}),
        None,
        ({"v": 231.0}, {}),
        None,
    ]
    assert (report.values_in, report.values_out) == (9, 5)


def test_quality_changes_go_out_and_a_reset_sends_everything() -> None:
    report = ReportFilter({"v": PointPolicy(ABS, 60_000), "w": PointPolicy(ABS, 60_000)})
    steps: list[Step] = [
        (0, {"v": 1.0, "w": 2.0}, {}),
        (1_000, {"v": 1.0, "w": 2.0}, {"w": Quality.STALE}),  # same value, now stale
        (2_000, {"v": 1.0}, {"w": Quality.ERROR}),  # no value at all
        (3_000, {"v": 1.0, "w": 2.0}, {}),  # good again
        (4_000, {"v": 1.0, "w": 2.0}, {}),
    ]
    assert _run(report, steps) == [
        ({"v": 1.0, "w": 2.0}, {}),
        ({"w": 2.0}, {"w": Quality.STALE}),
        ({}, {"w": Quality.ERROR}),
        ({"w": 2.0}, {}),
        None,
    ]
    report.reset()
    assert report(Reading(5_000, {"v": 1.0, "w": 2.0}, {})) == Reading(
        5_000, {"v": 1.0, "w": 2.0}, {}
    )


def test_without_policies_the_filter_passes_everything() -> None:
    report = ReportFilter({})
    assert not report
    reading = Reading(0, {"a": 1}, {})
    assert report(reading) == reading
