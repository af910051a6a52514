"""One home for patrol windows (estatewatch.patrol): rounds between two times, the shift at
a time, and where a scan falls, on the example estate (Shanghai)."""

from __future__ import annotations

from datetime import timedelta

from estatewatch import patrol
from estatewatch.config import PatrolRoute, SiteConfig
from estatewatch.patrol import Placement
from tests.dates import SHANGHAI, day, local

GRACE = timedelta(minutes=60)


def _route(site: SiteConfig, route_id: str) -> PatrolRoute:
    return next(r for r in site.routes if r.id == route_id)


def test_rounds_between_and_their_shifts(example_site: SiteConfig) -> None:
    found = patrol.rounds_between(example_site.routes, SHANGHAI, local(0, 8), local(0, 11))
    assert [(r.route.id, r.shift, r.start.strftime("%H:%M")) for r in found] == [
        ("equipment-round", "day", "08:30"),
        ("towers-round", "day", "09:00"),
        ("perimeter-round", "day", "10:00"),
    ]


def test_night_shift_rounds_run_into_the_next_morning(example_site: SiteConfig) -> None:
    night = next(s for s in example_site.shifts if s.id == "night")
    found = patrol.rounds_of_shift(example_site, night, day(0), SHANGHAI)
    assert found[0].start == local(0, 20, 30)
    assert found[-1].start == local(1, 5, 30)
    assert {r.shift for r in found} == {"night"}
    assert patrol.shift_at(example_site, SHANGHAI, local(1, 3)) == (night, day(0))


def test_next_and_open_rounds(example_site: SiteConfig) -> None:
    perimeter = _route(example_site, "perimeter-round")
    nxt = patrol.next_rounds([perimeter], SHANGHAI, local(0, 10))
    assert nxt[0].start == local(0, 13)  # 10:00 itself is not after 10:00
    opened = patrol.open_rounds([perimeter], SHANGHAI, local(0, 10, 20))
    assert [r.start for r in opened] == [local(0, 10)]


def test_where_a_scan_falls(example_site: SiteConfig) -> None:
    perimeter = _route(example_site, "perimeter-round")  # 10:00-10:45, 13:00-13:45

    def where(hour: int, minute: int) -> tuple[Placement, str | None]:
        found = patrol.place(perimeter, SHANGHAI, local(0, hour, minute), grace=GRACE)
        return found.placement, found.round.start.strftime("%H:%M") if found.round else None

    assert where(10, 10) == (Placement.IN_ROUND, "10:00")
    assert where(11, 0) == (Placement.LATE, "10:00")
    assert where(12, 30) == (Placement.EARLY, "13:00")
    assert where(11, 50) == (Placement.OUTSIDE, None)
    assert where(9, 30) == (Placement.EARLY, "10:00")
