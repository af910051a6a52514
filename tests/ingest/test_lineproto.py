"""The line-protocol encoder, table-tested against the escaping rules InfluxDB parses."""

from __future__ import annotations

import pytest

from ingest.lineproto import encode_line, escape_key, escape_measurement, format_value


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("water_pump_set", "water_pump_set"),
        ("my measurement", "my\\ measurement"),
        ("a,b", "a\\,b"),
        ("a=b", "a=b"),  # '=' needs no escape in a measurement
        ('say "hi"', 'say\\ "hi"'),
        ("水泵", "水泵"),
    ],
)
def test_measurement_escaping(name: str, expected: str) -> None:
    assert escape_measurement(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pump-1", "pump-1"),
        ("a b", "a\\ b"),
        ("a,b", "a\\,b"),
        ("a=b", "a\\=b"),
        ("x.quality", "x.quality"),
        ('quote"d', 'quote"d'),  # quotes are literal in keys and tag values
    ],
)
def test_key_escaping(name: str, expected: str) -> None:
    assert escape_key(name) == expected


@pytest.mark.parametrize("bad", ["", "line\nbreak", "cr\rhere", "ends\\"])
def test_names_that_cannot_be_written(bad: str) -> None:
    with pytest.raises(ValueError, match="cannot"):
        escape_key(bad)
    with pytest.raises(ValueError, match="cannot"):
        escape_measurement(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (3, "3.0"),  # numbers are always floats: no 'i' suffix, ever
        (-7, "-7.0"),
        (0.452, "0.452"),
        (1e16, "1e16"),
        (2**64, "1.8446744073709552e19"),
        ("text", '"text"'),
        ('a "quoted" word', '"a \\"quoted\\" word"'),
        ("back\\slash", '"back\\\\slash"'),
        ("two\nlines", '"two\nlines"'),
        ("", '""'),
    ],
)
def test_field_values(value: bool | int | float | str, expected: str) -> None:
    assert format_value(value) == expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), 10**400])
def test_values_that_cannot_be_written(bad: float | int) -> None:
    with pytest.raises(ValueError, match=r"finite|too large"):
        format_value(bad)


def test_a_line_has_sorted_tags_fields_and_ms_time() -> None:
    line = encode_line(
        "water_pump_set",
        {"site": "hv", "device": "pump 1", "building": "podium", "room": ""},
        [("outlet_pressure", 0.45), ("running", True), ("mode", "auto")],
        1_793_664_000_000,
    )
    assert line == (
        "water_pump_set,building=podium,device=pump\\ 1,site=hv "
        'outlet_pressure=0.45,running=true,mode="auto" 1793664000000'
    )


def test_a_point_needs_a_field() -> None:
    with pytest.raises(ValueError, match="at least one field"):
        encode_line("m", {"a": "b"}, [], 1)
