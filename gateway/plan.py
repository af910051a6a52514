"""Request coalescing: the points of a device merged into as few Modbus reads as allowed.

Pure. Points of one table are sorted by address and greedily merged while the gap to the next
point is at most `max_gap` registers and the read stays within the protocol's limit (125
registers, 2000 bits per request). A 40-point device is read in a few requests, not 40.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from estatewatch.config import RegisterPoint, RegisterType

MAX_REGISTERS = 125
MAX_BITS = 2000
BITS_PER_REGISTER = 16


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One Modbus read: `count` registers (or bits) of `table` from `address`."""

    table: RegisterType
    address: int
    count: int
    points: tuple[RegisterPoint, ...]

    @property
    def end(self) -> int:
        return self.address + self.count


def limit_of(table: RegisterType) -> int:
    return MAX_BITS if table.is_bit else MAX_REGISTERS


def plan_reads(points: Iterable[RegisterPoint], max_gap: int) -> list[ReadRequest]:
    """The reads that cover every point, in table then address order.

    `max_gap` is the largest run of unwanted registers a read bridges; for bit tables it
    counts in registers' worth of bits (16 per register), since that is what a gap costs on
    the wire.
    """
    by_table: dict[RegisterType, list[RegisterPoint]] = {}
    for point in points:
        by_table.setdefault(point.table, []).append(point)
    requests: list[ReadRequest] = []
    for table in sorted(by_table, key=lambda t: t.value):
        limit = limit_of(table)
        gap = max_gap * BITS_PER_REGISTER if table.is_bit else max_gap
        ordered = sorted(by_table[table], key=lambda p: (p.address, p.bit or 0))
        start, end, members = ordered[0].address, ordered[0].end, [ordered[0]]
        for point in ordered[1:]:
            new_end = max(end, point.end)
            if point.address - end <= gap and new_end - start <= limit:
                end = new_end
                members.append(point)
                continue
            requests.append(ReadRequest(table, start, end - start, tuple(members)))
            start, end, members = point.address, point.end, [point]
        requests.append(ReadRequest(table, start, end - start, tuple(members)))
    return requests
