"""Patrol rules against the guard simulator's rounds (`simulators.guard.plan_round`) on the
equipment round of the example estate, window local 08:30-09:30."""

from __future__ import annotations

from datetime import timedelta

import pytest

from estatewatch.clock import to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import HandheldScan
from simulators.guard import plan_round, sign
from tests.dates import utc
from tests.rules.driver import Driver
from tests.rules.sim_gateway import ScanGateway

KEY = b"hh-01 test key"
WINDOW_START = utc(0, 0, 30)  # 08:30 in Shanghai
ROUTE = "equipment-round"


def round_of(site: SiteConfig, **exceptions: object) -> list[HandheldScan]:
    return plan_round(
        site,
        ROUTE,
        "guard-zhang",
        "hh-01",
        WINDOW_START,
        seed=7,
        key=KEY,
        **exceptions,  # type: ignore[arg-type]
    )


def patrol(
    site: SiteConfig,
    scans: list[HandheldScan],
    *,
    until_min: float = 75,
    arrive_at: int | None = None,
) -> Driver:
    """Deliver `scans` (at their scan time, or all at `arrive_at`) and run to 08:30 + until."""
    start = to_epoch_ms(WINDOW_START - timedelta(minutes=5))
    d = Driver(site, "builtin: false\n", start=start)  # patrol rules only
    gateway = ScanGateway(site, {"hh-01": KEY})
    for scan in scans:
        t = max(d.now, arrive_at if arrive_at is not None else scan.scanned_at)
        d.tick((t - d.now) / 1000, every=15)
        d.send(gateway.accept(scan, d.now))
    end = to_epoch_ms(WINDOW_START + timedelta(minutes=until_min))
    d.tick((end - d.now) / 1000, every=15)
    return d


def raised(d: Driver) -> list[tuple[str, str]]:
    return [(e.rule, e.target) for e in d.events if e.event.value == "raised"]


def test_a_clean_round_raises_nothing(example_site: SiteConfig) -> None:
    d = patrol(example_site, round_of(example_site))
    assert d.events == []


def test_skipped_checkpoint(example_site: SiteConfig) -> None:
    d = patrol(example_site, round_of(example_site, skip=["power-room-2"]))
    assert raised(d) == [("patrol.missed_checkpoint", ROUTE)]  # one alarm for the round
    [missed] = [e for e in d.events if e.rule == "patrol.missed_checkpoint"]
    assert missed.details["checkpoints"] == "power-room-2"


def test_late_checkpoint(example_site: SiteConfig) -> None:
    d = patrol(example_site, round_of(example_site, late=["fire-control"]), until_min=90)
    assert ("patrol.late_scan", "fire-control") in raised(d)
    # missed when the window closed, cleared by the late scan
    assert d.kinds("patrol.missed_checkpoint") == ["raised", "cleared"]


def test_out_of_order(example_site: SiteConfig) -> None:
    d = patrol(example_site, round_of(example_site, out_of_order=True))
    assert raised(d) == [("patrol.out_of_order", ROUTE)]


def test_replayed_scan(example_site: SiteConfig) -> None:
    d = patrol(example_site, round_of(example_site, replay=True))
    assert raised(d) == [("patrol.replay", "hh-01")]


def test_unknown_tag(example_site: SiteConfig) -> None:
    d = patrol(example_site, round_of(example_site, unknown_tag=True))
    assert raised(d) == [("patrol.unknown_tag", "hh-01")]
    assert d.events[0].details["tag_uid"] is not None


def test_bad_signature(example_site: SiteConfig) -> None:
    scans = round_of(example_site)
    scans[2] = sign(scans[2], b"someone else's key")
    d = patrol(example_site, scans)
    assert ("patrol.bad_signature", "hh-01") in raised(d)


def test_silent_guard(example_site: SiteConfig) -> None:
    scans = round_of(example_site)[:2]  # two checkpoints, then nothing for over an hour
    d = patrol(example_site, scans, until_min=125)
    assert ("patrol.silent_guard", "guard-zhang") in raised(d)
    assert {r for r, _ in raised(d)} == {"patrol.silent_guard", "patrol.missed_checkpoint"}


def test_cloned_tag_scanned_in_an_impossible_time(example_site: SiteConfig) -> None:
    scans = round_of(example_site)
    clone = next(c for c in example_site.checkpoints if c.id == "t1-lift-machine")
    fake = HandheldScan(
        handheld="hh-01", guard="guard-zhang", tag_uid=clone.tag_uid,
        scanned_at=scans[1].scanned_at + 5_000, counter=(scans[1].counter or 0) + 1,
    )  # fmt: skip
    rest = [s.model_copy(update={"counter": (s.counter or 0) + 1}) for s in scans[2:]]
    scans = [*scans[:2], sign(fake, KEY), *(sign(s, KEY) for s in rest)]
    d = patrol(example_site, scans)
    assert ("patrol.impossible_transit", "t1-lift-machine") in raised(d)


@pytest.mark.parametrize("late_min", [70, 80])
def test_round_kept_offline_and_synced_later_is_on_time(
    example_site: SiteConfig, late_min: int
) -> None:
    scans = round_of(example_site, offline=True)
    arrive = to_epoch_ms(WINDOW_START + timedelta(minutes=late_min))
    d = patrol(example_site, scans, arrive_at=arrive, until_min=late_min + 5)
    missed = [e for e in d.events if e.rule == "patrol.missed_checkpoint"]
    assert {e.event.value for e in missed} == {"raised", "cleared"}  # seen late, then put right
    assert d.active_rules() == set()
    assert not [e for e in d.events if e.rule != "patrol.missed_checkpoint"]
