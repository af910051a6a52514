"""Request coalescing: as few reads as the protocol allows, never more than it allows."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estatewatch.config import RegisterMap, RegisterPoint, SiteConfig
from gateway.plan import MAX_BITS, MAX_REGISTERS, plan_reads


def point(name: str, address: int, **kw: Any) -> RegisterPoint:
    return RegisterPoint.model_validate(
        {"name": name, "table": "holding", "address": address, **kw}
    )


def spans(points: list[RegisterPoint], max_gap: int) -> list[tuple[str, int, int]]:
    return [(r.table.value, r.address, r.count) for r in plan_reads(points, max_gap)]


@pytest.mark.parametrize(
    ("points", "max_gap", "expected"),
    [
        # contiguous points: one read
        ([point("a", 0), point("b", 1, type="float32"), point("c", 3)], 0, [("holding", 0, 4)]),
        # a gap of 5 registers is bridged with max_gap 8, not with max_gap 4
        ([point("a", 0), point("b", 6)], 8, [("holding", 0, 7)]),
        ([point("a", 0), point("b", 6)], 4, [("holding", 0, 1), ("holding", 6, 1)]),
        # exactly max_gap registers between them: bridged
        ([point("a", 0), point("b", 9)], 8, [("holding", 0, 10)]),
        # the bits of one register are one register
        (
            [point("a", 5, type="bool", bit=0), point("b", 5, type="bool", bit=3)],
            0,
            [("holding", 5, 1)],
        ),
        # order of the map does not matter
        ([point("b", 2), point("a", 0)], 1, [("holding", 0, 3)]),
        # a string of 8 registers then a float
        (
            [point("s", 10, type="string", length=8), point("f", 18, type="float64")],
            0,
            [("holding", 10, 12)],
        ),
        # tables are read apart, inputs first
        (
            [point("h", 0), point("i", 0, table="input"), point("c", 0, table="coil", type="bool")],
            8,
            [("input", 0, 1), ("holding", 0, 1), ("coil", 0, 1)],
        ),
        # bits: a gap of max_gap * 16 bits is bridged
        (
            [
                point("x", 0, table="discrete_input", type="bool"),
                point("y", 129, table="discrete_input", type="bool"),
            ],
            8,
            [("discrete_input", 0, 130)],
        ),
        (
            [point("x", 0, table="coil", type="bool"), point("y", 130, table="coil", type="bool")],
            8,
            [("coil", 0, 1), ("coil", 130, 1)],
        ),
    ],
)
def test_plan_reads(points: list[RegisterPoint], max_gap: int, expected: list[Any]) -> None:
    assert spans(points, max_gap) == expected


def test_a_read_never_exceeds_125_registers() -> None:
    points = [point(f"p{i}", i * 2, type="float32") for i in range(100)]  # 200 registers
    reads = plan_reads(points, 8)
    assert [r.count for r in reads] == [124, 76]
    assert sum(len(r.points) for r in reads) == 100


def test_a_read_never_exceeds_2000_bits() -> None:
    points = [point(f"b{i}", i, table="coil", type="bool") for i in range(2500)]
    reads = plan_reads(points, 0)
    assert [r.count for r in reads] == [MAX_BITS, 500]


def test_the_example_estate_is_read_in_a_few_requests(example_site: SiteConfig) -> None:
    """pump controller: 21 points in 4 reads (one per table); elevator: 15 in 2; power: 16 in 2."""
    maps = example_site.register_maps
    assert len(plan_reads(maps["pump-controller"].points, 8)) == 4
    assert len(plan_reads(maps["elevator-controller"].points, 8)) == 2
    assert len(plan_reads(maps["power-monitor"].points, 8)) == 2


def test_split_gives_gap_free_reads() -> None:
    (read,) = plan_reads([point("a", 0), point("b", 1), point("c", 5), point("d", 9)], 8)
    assert read.bridges_gap
    parts = read.split()
    assert [(p.address, p.count) for p in parts] == [(0, 2), (5, 1), (9, 1)]
    assert not any(p.bridges_gap for p in parts)


def test_an_overlapping_register_map_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="overlap in holding registers at address 1"):
        RegisterMap.model_validate(
            {"points": [{"name": "a", "table": "holding", "address": 0, "type": "float32"},
                        {"name": "b", "table": "holding", "address": 1}]}
        )  # fmt: skip


def test_a_point_past_the_register_space_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="overruns the register space"):
        point("far", 65535, type="float32")


@st.composite
def register_maps(draw: st.DrawFn) -> list[RegisterPoint]:
    points, address = [], draw(st.integers(0, 50))
    for i in range(draw(st.integers(1, 60))):
        kind = draw(st.sampled_from(["uint16", "float32", "float64", "string"]))
        extra: dict[str, Any] = {"length": draw(st.integers(1, 20))} if kind == "string" else {}
        p = point(f"p{i}", address, type=kind, **extra)
        points.append(p)
        address = p.end + draw(st.integers(0, 30))
    return points


@settings(max_examples=200, deadline=None)
@given(points=register_maps(), max_gap=st.integers(0, 40))
def test_every_point_is_read_once_within_the_limits(
    points: list[RegisterPoint], max_gap: int
) -> None:
    reads = plan_reads(points, max_gap)
    covered = [p.name for r in reads for p in r.points]
    assert sorted(covered) == sorted(p.name for p in points)
    for read in reads:
        assert read.count <= MAX_REGISTERS
        for p in read.points:
            assert read.address <= p.address
            assert p.end <= read.end
        inner = sorted(read.points, key=lambda p: p.address)
        for before, after in itertools.pairwise(inner):
            assert after.address - before.end <= max_gap
    # no two consecutive reads could have been one
    for a, b in itertools.pairwise(reads):
        assert b.address - a.end > max_gap or b.end - a.address > MAX_REGISTERS
