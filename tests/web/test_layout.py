"""The site layout the pages draw, as a pure function of the site config and a moment."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from api.web.layout import site_layout, tag_hint
from estatewatch.config import SiteConfig
from tests.dates import iso

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).astimezone(UTC)


def test_a_day_moment_gives_the_day_rounds_and_then_the_night_ones(
    example_site: SiteConfig,
) -> None:
    layout = site_layout(example_site, now=_at(f"{iso(0)}T16:00"), tz=SHANGHAI)
    assert layout.shift is not None
    assert (layout.shift.id, layout.shift.date.isoformat()) == ("day", iso(0))
    assert layout.shift.start == _at(f"{iso(0)}T08:00")
    by_shift = {s: [r for r in layout.rounds if r.shift == s] for s in ("day", "night")}
    assert len(by_shift["day"]) == 7
    assert len(by_shift["night"]) == 8
    first_day = by_shift["day"][0]
    assert (first_day.route, first_day.start) == ("equipment-round", _at(f"{iso(0)}T08:30"))
    assert first_day.checkpoints[0] == "pump-room"
    # the night shift's 00:30 window belongs to the next morning
    late = next(r for r in by_shift["night"] if r.start.astimezone(SHANGHAI).hour == 0)
    assert late.start == _at(f"{iso(1)}T00:30")
    assert [r.start for r in layout.rounds] == sorted(r.start for r in layout.rounds)


@pytest.mark.parametrize(
    ("moment", "shift", "day"),
    [(f"{iso(1)}T03:00", "night", iso(0)), (f"{iso(0)}T20:00", "night", iso(0))],
)
def test_after_midnight_the_shift_is_the_one_that_started_the_day_before(
    example_site: SiteConfig, moment: str, shift: str, day: str
) -> None:
    layout = site_layout(example_site, now=_at(moment), tz=SHANGHAI)
    assert layout.shift is not None
    assert (layout.shift.id, layout.shift.date.isoformat()) == (shift, day)
    assert {r.shift for r in layout.rounds} == {"night", "day"}


def test_devices_carry_what_their_tiles_show(example_site: SiteConfig) -> None:
    layout = site_layout(example_site, now=_at(f"{iso(0)}T16:00"), tz=SHANGHAI)
    devices = {d.id: d for d in layout.devices}
    assert devices["power-room-1"].attributes == {
        "nominal_voltage_v": 230.0,
        "transformer_kva": 1250.0,
    }
    assert devices["elevator-3"].attributes["highest_floor"] == 32
    assert devices["leak-pump-room"].attributes == {"sensor_type": "leak"}
    pressure = next(p for p in devices["pump-domestic-low"].points if p.name == "outlet_pressure")
    assert (pressure.unit, pressure.enum) == ("MPa", None)
    assert [b.id for b in layout.buildings] == ["podium", "t1", "t2", "t3", "t4", "office"]
    assert layout.buildings[0].rooms[0].name == "Domestic pump room 生活泵房"


def test_a_site_without_shifts_has_no_rounds(example_site: SiteConfig) -> None:
    bare = example_site.model_copy(update={"shifts": [], "routes": []})
    layout = site_layout(bare, now=_at(f"{iso(0)}T16:00"), tz=SHANGHAI)
    assert layout.shift is None
    assert layout.rounds == []


def test_checkpoints_carry_a_tag_hint_not_their_uid(example_site: SiteConfig) -> None:
    """16 bits of a hash of the UID name an offline scan's checkpoint on the phone; the
    UID itself never reaches a page (a guard could type a round in without walking it)."""
    layout = site_layout(example_site, now=_at(f"{iso(0)}T16:00"), tz=SHANGHAI)
    assert "tag_uid" not in layout.model_dump_json()
    hints = {c.id: c.tag_hint for c in layout.checkpoints}
    assert hints["power-room-1"] == tag_hint("harbour-view", "04A1B20013")
    assert all(h is not None and len(h) == 4 for h in hints.values())
    assert len(set(hints.values())) == len(hints)
    # Two checkpoints sharing a hint: neither is guessed.
    first = example_site.checkpoints[0]
    clash = next(
        f"{n:010X}"
        for n in range(1 << 20)
        if tag_hint("harbour-view", f"{n:010X}") == tag_hint("harbour-view", first.tag_uid)
        and f"{n:010X}" != first.tag_uid
    )
    twin = example_site.checkpoints[1].model_copy(update={"tag_uid": clash})
    clashing = example_site.model_copy(
        update={"checkpoints": [first, twin, *example_site.checkpoints[2:]]}
    )
    again = site_layout(clashing, now=_at(f"{iso(0)}T16:00"), tz=SHANGHAI)
    assert [c.tag_hint for c in again.checkpoints[:2]] == [None, None]
    assert again.checkpoints[2].tag_hint is not None
