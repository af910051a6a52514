"""Patrol rounds of a shift and how complete they were, as pure functions.

A route's schedule gives, per shift, windows (start, duration) in site local time. A round
is complete when every checkpoint of the route was scanned within its window; scans are
matched by their original time (`scanned_at`), so a batch synced late from a basement counts
where it was made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from estatewatch import patrol
from estatewatch.config import Shift, SiteConfig


@dataclass(frozen=True, slots=True)
class Round:
    route: str
    route_name: str
    checkpoints: tuple[str, ...]
    ordered: bool
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class ScanFact:
    checkpoint: str
    scanned_at: datetime
    guard: str


@dataclass
class RoundResult:
    route: str
    route_name: str
    start: datetime
    end: datetime
    expected: list[str]
    scanned: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    out_of_order: bool = False
    guards: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float:
        done = len(self.expected) - len(self.missed)
        return round(100.0 * done / len(self.expected), 1) if self.expected else 100.0

    @property
    def complete(self) -> bool:
        return not self.missed


shift_bounds = patrol.shift_bounds


def shift_of(site: SiteConfig, moment: datetime, tz: tzinfo) -> tuple[Shift, date] | None:
    """The shift running at `moment`, with the local date it started on."""
    return patrol.shift_at(site, tz, moment)


def rounds_of_shift(site: SiteConfig, shift: Shift, day: date, tz: tzinfo) -> list[Round]:
    """Every round scheduled in the shift that starts on `day` (see
    `estatewatch.patrol.rounds_of_shift`)."""
    return [
        Round(r.route.id, r.route.name, tuple(r.route.checkpoints), r.route.ordered, r.start, r.end)
        for r in patrol.rounds_of_shift(site, shift, day, tz)
    ]


def completion(rounds: Iterable[Round], scans: Iterable[ScanFact]) -> list[RoundResult]:
    """How complete each round was: checkpoints scanned within its window, in what order."""
    ordered_scans = sorted(scans, key=lambda s: s.scanned_at)
    results = []
    for r in rounds:
        result = RoundResult(r.route, r.route_name, r.start, r.end, list(r.checkpoints))
        wanted = set(r.checkpoints)
        for scan in ordered_scans:
            if r.start <= scan.scanned_at <= r.end and scan.checkpoint in wanted:
                if scan.checkpoint not in result.scanned:
                    result.scanned.append(scan.checkpoint)
                if scan.guard not in result.guards:
                    result.guards.append(scan.guard)
        result.missed = [c for c in r.checkpoints if c not in result.scanned]
        expected_order = [c for c in r.checkpoints if c in result.scanned]
        result.out_of_order = r.ordered and result.scanned != expected_order
        results.append(result)
    return results
