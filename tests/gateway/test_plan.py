"""The coalescing planner, table-tested."""

from __future__ import annotations

import pytest

from estatewatch.config import RegisterMap, RegisterPoint, RegisterType, SiteConfig
from gateway.plan import MAX_BITS, MAX_REGISTERS, plan_reads


def hr(name: str, address: int, type_: str = "uint16", **kw: object) -> RegisterPoint:
    return RegisterPoint.model_validate(
        {"name": name, "table": "holding", "address": address, "type": type_, **kw}
    )


def spans(points: list[RegisterPoint], gap: int) -> list[tuple[str, int, int]]:
    return [(r.table.value, r.address, r.count) for r in plan_reads(points, gap)]


@pytest.mark.parametrize(
    ("points", "gap", "expected"),
    [
        ([hr("a", 0)], 8, [("holding", 0, 1)]),
        ([hr("a", 0), hr("b", 1)], 0, [("holding", 0, 2)]),
        ([hr("a", 0), hr("b", 5)], 4, [("holding", 0, 6)]),  # gap of 4 bridged
        ([hr("a", 0), hr("b", 6)], 4, [("holding", 0, 1), ("holding", 6, 1)]),  # gap of 5 not
        ([hr("b", 9, "float32"), hr("a", 0)], 8, [("holding", 0, 11)]),  # sorted first
        ([hr("a", 0, "float64"), hr("b", 4)], 0, [("holding", 0, 5)]),  # multi-register end
        (
            [hr("a", 0), hr("b", 124), hr("c", 125)],
            124,
            [("holding", 0, 125), ("holding", 125, 1)],  # the 125-register limit
        ),
        (
            [hr("s", 0, "string", length=100), hr("t", 100, "string", length=30)],
            8,
            [("holding", 0, 100), ("holding", 100, 30)],
        ),
        (
            [hr("x", 3, "bool", bit=0), hr("y", 3, "bool", bit=5)],
            0,
            [("holding", 3, 1)],  # bits of one register: one read
        ),
    ],
)
def test_plan_table(
    points: list[RegisterPoint], gap: int, expected: list[tuple[str, int, int]]
) -> None:
    assert spans(points, gap) == expected


def test_tables_are_read_apart() -> None:
    points = [
        hr("a", 0),
        RegisterPoint(name="b", table=RegisterType.INPUT, address=0),
        RegisterPoint(name="c", table=RegisterType.COIL, address=0, type="bool"),  # type: ignore[arg-type]
    ]
    assert sorted(spans(points, 8)) == [("coil", 0, 1), ("holding", 0, 1), ("input", 0, 1)]


def test_bits_bridge_and_limit() -> None:
    coils = [
        RegisterPoint(name=f"c{i}", table=RegisterType.COIL, address=a, type="bool")  # type: ignore[arg-type]
        for i, a in enumerate([0, 100, 1999, 2000])
    ]
    assert spans(coils, 200) == [("coil", 0, MAX_BITS), ("coil", 2000, 1)]
    assert spans(coils, 8) == [("coil", 0, 101), ("coil", 1999, 2)]  # 8 registers = 128 bits


def test_every_point_is_in_exactly_one_request() -> None:
    points = [hr(f"p{i}", i * 3, "float32") for i in range(60)]
    requests = plan_reads(points, 1)
    covered = [p.name for r in requests for p in r.points]
    assert sorted(covered) == sorted(p.name for p in points)
    for request in requests:
        assert request.count <= MAX_REGISTERS
        for p in request.points:
            assert request.address <= p.address
            assert p.end <= request.end


def test_example_maps_need_a_few_reads(example_site: SiteConfig) -> None:
    for name, register_map in example_site.register_maps.items():
        requests = plan_reads(register_map.points, example_site.gateway.max_gap_registers)
        assert len(requests) <= 4, name
        assert len(requests) < len(register_map.points) / 3, name


def test_forty_point_device_is_one_read() -> None:
    register_map = RegisterMap(points=[hr(f"p{i}", i) for i in range(40)])
    assert len(plan_reads(register_map.points, 8)) == 1
