"""Decoding: every type, byte and word order, scale and offset, as the shared codec says."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estatewatch.codec import DecodeError, decode, decoder, encode
from estatewatch.config import RegisterPoint, SiteConfig
from gateway.decoding import decode_block
from gateway.plan import plan_reads

TYPES = ["int16", "uint16", "int32", "uint32", "float32", "int64", "uint64", "float64"]


def point(name: str, address: int = 0, **kw: Any) -> RegisterPoint:
    return RegisterPoint.model_validate({"name": name, "table": "input", "address": address, **kw})


@st.composite
def points_and_words(draw: st.DrawFn) -> tuple[RegisterPoint, list[int]]:
    kind = draw(st.sampled_from([*TYPES, "bool", "string"]))
    extra: dict[str, Any] = {
        "byte_order": draw(st.sampled_from(["big", "little"])),
        "word_order": draw(st.sampled_from(["big", "little"])),
    }
    if kind == "bool":
        extra = {"bit": draw(st.none() | st.integers(0, 15))}
    elif kind == "string":
        extra["length"] = draw(st.integers(1, 8))
        if extra["length"] == 1:
            extra["word_order"] = "big"  # one register has no word order
    elif kind in ("int16", "uint16"):
        extra["word_order"] = "big"
    if kind not in ("bool", "string") and draw(st.booleans()):
        extra["scale"] = draw(st.sampled_from([0.1, 0.01, 10.0, -1.0]))
        extra["offset"] = draw(st.sampled_from([0.0, -40.0, 273.15]))
    p = point("p", type=kind, **extra)
    words = draw(st.lists(st.integers(0, 0xFFFF), min_size=p.count, max_size=p.count))
    return p, words


@settings(max_examples=600, deadline=None)
@given(case=points_and_words())
def test_the_fast_decoder_equals_decode(case: tuple[RegisterPoint, list[int]]) -> None:
    p, words = case
    try:
        expected = decode(words, p)
    except DecodeError as exc:
        with pytest.raises(DecodeError, match=str(exc).split("(")[0].strip()):
            decoder(p)(words)
        return
    got = decoder(p)(words)
    assert type(got) is type(expected)
    assert got == expected or (math.isnan(got) and math.isnan(expected))  # type: ignore[arg-type]


def test_the_fast_decoder_checks_the_count() -> None:
    with pytest.raises(DecodeError, match="expected 2 registers, got 1"):
        decoder(point("f", type="float32"))([1])


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("byte_order", ["big", "little"])
@pytest.mark.parametrize("word_order", ["big", "little"])
def test_round_trip_of_every_type_and_order(kind: str, byte_order: str, word_order: str) -> None:
    if kind.endswith("int16") and word_order == "little":
        with pytest.raises(ValueError, match="word_order applies to values of two or more"):
            point("v", type=kind, word_order=word_order)
        return
    p = point("v", type=kind, byte_order=byte_order, word_order=word_order, scale=0.5, offset=3)
    value = 1234.5 if kind.startswith("float") else (-1000.5 if kind.startswith("int") else 2000.5)
    (read,) = plan_reads([p], 0)
    values, errors = decode_block(read, encode(value, p))
    assert errors == {}
    assert values == {"v": value}


def test_a_block_of_the_example_pump_controller(example_site: SiteConfig) -> None:
    points = example_site.register_maps["pump-controller"].points
    served = {
        "outlet_pressure": 0.4512, "inlet_pressure": 0.12, "tank_level": 73.4,
        "vfd_frequency": 41.25, "pump1_current": 18.3, "run_hours": 123456, "starts": 70000,
        "fault_code": 5, "pump1_running": True, "pump2_running": False, "auto_mode": True,
        "water_temperature": -2.5, "setpoint_pressure": 0.45, "tank_low_switch": True,
    }  # fmt: skip
    for read in plan_reads(points, 8):
        words = [0] * read.count
        for p in read.points:
            if p.name in served:
                for i, w in enumerate(encode(served[p.name], p)):
                    words[p.address - read.address + i] |= w
        values, errors = decode_block(read, words)
        assert errors == {}
        for name, value in values.items():
            if name in served:
                expected = served[name]
                assert value == pytest.approx(expected, rel=1e-6), name
                assert type(value) is (bool if isinstance(expected, bool) else type(value))


def test_a_nan_fails_its_point_alone() -> None:
    f, n = point("f", 0, type="float32"), point("n", 2)
    (read,) = plan_reads([f, n], 0)
    values, errors = decode_block(read, [*encode(math.nan, f), 7])
    assert values == {"n": 7}
    assert "not a finite number" in errors["f"]


def test_a_short_answer_fails_every_point() -> None:
    (read,) = plan_reads([point("a", 0), point("b", 1)], 0)
    values, errors = decode_block(read, [1])
    assert values == {}
    assert set(errors) == {"a", "b"}
    assert "answered 1 of 2" in errors["a"]
