"""Request coalescing: the points of one device and register table merged into as few reads
as Modbus allows. Pure; table-tested without a device.

A read covers at most 125 registers (function codes 3 and 4) or 2000 bits (1 and 2). Two
points are read together when the registers between them number at most `max_gap` (for
coils and discrete inputs `max_gap * 16` bits, the same bytes on the wire): reading a few
unused registers is cheaper than another round trip. Some devices refuse a read that touches
an address they do not map (exception 2); `ReadRequest.split` gives the gap-free parts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from estatewatch.config import RegisterPoint, RegisterType

MAX_REGISTERS = 125
"""Registers one read of holding or input registers may return (Modbus spec, FC 3/4)."""
MAX_BITS = 2000
"""Coils or discrete inputs one read may return (Modbus spec, FC 1/2)."""
BITS_PER_REGISTER = 16

TABLE_ORDER = (
    RegisterType.INPUT,
    RegisterType.HOLDING,
    RegisterType.DISCRETE_INPUT,
    RegisterType.COIL,
)


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One Modbus read: `count` registers (or bits) of `table` from `address`, and the
    points they hold."""

    table: RegisterType
    address: int
    count: int
    points: tuple[RegisterPoint, ...]

    @property
    def end(self) -> int:
        return self.address + self.count

    @property
    def bridges_gap(self) -> bool:
        """Whether some registers of this read belong to no point."""
        return sum(n for _, n in _runs(self.points)) < self.count

    def split(self) -> list[ReadRequest]:
        """The same points read without bridging any gap."""
        return plan_reads(self.points, 0)

    def __str__(self) -> str:
        return f"{self.table.value} {self.address}..{self.end - 1} ({len(self.points)} points)"


def _runs(points: Iterable[RegisterPoint]) -> list[tuple[int, int]]:
    """The contiguous runs of addresses the points cover, as (first, length)."""
    runs: list[tuple[int, int]] = []
    for point in sorted(points, key=lambda p: p.address):
        if runs and point.address <= runs[-1][0] + runs[-1][1]:
            first, length = runs[-1]
            runs[-1] = (first, max(length, point.end - first))
        else:
            runs.append((point.address, point.count))
    return runs


def plan_reads(
    points: Iterable[RegisterPoint],
    max_gap: int,
    *,
    max_registers: int = MAX_REGISTERS,
    max_bits: int = MAX_BITS,
) -> list[ReadRequest]:
    """The fewest reads that cover `points`, table by table, in address order.

    A read is extended to the next point while the gap before it is at most `max_gap`
    registers and the read stays within the protocol's size limit.
    """
    if max_gap < 0:
        raise ValueError("max_gap must be zero or more")
    by_table: dict[RegisterType, list[RegisterPoint]] = {}
    for point in points:
        by_table.setdefault(point.table, []).append(point)
    requests: list[ReadRequest] = []
    for table in TABLE_ORDER:
        table_points = sorted(by_table.get(table, ()), key=lambda p: (p.address, p.bit or 0))
        if not table_points:
            continue
        limit = max_bits if table.is_bit else max_registers
        gap = max_gap * BITS_PER_REGISTER if table.is_bit else max_gap
        start, end = table_points[0].address, table_points[0].end
        members = [table_points[0]]
        for point in table_points[1:]:
            new_end = max(end, point.end)
            if point.address - end <= gap and new_end - start <= limit:
                end = new_end
                members.append(point)
                continue
            requests.append(ReadRequest(table, start, end - start, tuple(members)))
            start, end, members = point.address, point.end, [point]
        requests.append(ReadRequest(table, start, end - start, tuple(members)))
    return requests
