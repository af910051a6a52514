"""A guard's handheld on a patrol round: which tags it scans, when, and what it sends.

`plan_round` is pure: from a route and a start time it makes the `HandheldScan`s of one
round, with the exceptions a duty room must see made to order — a missed checkpoint
(`skip`), a late one (scanned after the window closed), two checkpoints swapped
(`out_of_order`), a captured scan sent again (`replay`), a tag that is not the site's
(`unknown_tag`), or a round done without signal and synced later (`offline`). With a key,
each scan is signed as the contract says; `counter` rises by one per scan.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection
from datetime import datetime, timedelta
from random import Random
from zoneinfo import ZoneInfo

from estatewatch.clock import to_epoch_ms
from estatewatch.config import PatrolRoute, SiteConfig
from estatewatch.contracts.payloads import HandheldScan
from simulators.errors import SimulatorError


def sign(scan: HandheldScan, key: bytes) -> HandheldScan:
    """The scan with its HMAC-SHA256 signature over `scan.signing_text()`."""
    signature = hmac.new(key, scan.signing_text(), hashlib.sha256).hexdigest()
    return scan.model_copy(update={"signature": signature})


def verify(scan: HandheldScan, key: bytes) -> bool:
    """Whether the scan's signature is the key's (what a gateway checks)."""
    if scan.signature is None:
        return False
    expected = hmac.new(key, scan.signing_text(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, scan.signature)


def route_window(site: SiteConfig, route: PatrolRoute, start: datetime) -> timedelta:
    """How long the round starting at `start` may take: the duration of the route's window
    that starts at that local time, else the shortest of its windows."""
    local = start.astimezone(ZoneInfo(site.site.timezone)).time().replace(second=0, microsecond=0)
    windows = [w for sched in route.schedule for w in sched.windows]
    for window in windows:
        if window.start.replace(second=0, microsecond=0) == local:
            return window.duration
    return min(w.duration for w in windows)


def unknown_tag_uid(site: SiteConfig, rng: Random) -> str:
    known = {cp.tag_uid for cp in site.checkpoints}
    for _ in range(100):
        uid = "04FF" + "".join(rng.choice("0123456789ABCDEF") for _ in range(10))
        if uid not in known:
            return uid
    raise SimulatorError("could not make up a tag uid the site does not know")


def plan_round(
    site: SiteConfig,
    route_id: str,
    guard_id: str,
    handheld_id: str,
    start: datetime,
    *,
    seed: int,
    key: bytes | None = None,
    skip: Collection[str] = (),
    late: Collection[str] = (),
    out_of_order: bool = False,
    replay: bool = False,
    unknown_tag: bool = False,
    offline: bool = False,
    counter_start: int = 0,
    window: timedelta | None = None,
    joined: bool = False,
) -> list[HandheldScan]:
    """The scans of one round of `route_id` starting at `start`, in the order sent.

    Checkpoints are walked in route order, spaced at random (never closer than 1.5 ×
    `min_transit`) to finish within 85 % of the window (`window`: what is left of it, for a
    round `joined` late, whose guard is already out and near a checkpoint; default the
    window that starts at `start`). `late` checkpoints are
    scanned 5–15 minutes after the window closed; a `replay` is an earlier scan sent again
    unchanged.
    """
    if start.tzinfo is None:
        raise SimulatorError("start must be timezone-aware")
    route = next((r for r in site.routes if r.id == route_id), None)
    if route is None:
        raise SimulatorError(f"no route {route_id!r} in site {site.site.id}")
    for name, chosen in (("skip", skip), ("late", late)):
        strangers = set(chosen) - set(route.checkpoints)
        if strangers:
            raise SimulatorError(f"{name}: {sorted(strangers)} not on route {route_id}")
    rng = Random(f"{seed}:{route_id}:{guard_id}:{to_epoch_ms(start)}")
    tags = {cp.id: cp.tag_uid for cp in site.checkpoints}
    window = window if window is not None else route_window(site, route, start)

    walk = [tags[c] for c in route.checkpoints if c not in skip and c not in late]
    if out_of_order and len(walk) >= 2:
        i = rng.randrange(len(walk) - 1)
        walk[i], walk[i + 1] = walk[i + 1], walk[i]
    if unknown_tag:
        walk.insert(rng.randint(1, len(walk)) if walk else 0, unknown_tag_uid(site, rng))

    first = JOINED_WALK_S if joined else FIRST_WALK_S
    times = _spacing(len(walk), window * 0.85, route.min_transit * 1.5, rng, first)
    timed = [(start + t, tag) for t, tag in zip(times, walk, strict=True)]
    moment = start + window + timedelta(minutes=rng.uniform(5.0, 15.0))  # the first late one
    for checkpoint in (c for c in route.checkpoints if c in late):
        if timed:
            moment = max(moment, timed[-1][0] + route.min_transit * 1.5)
        timed.append((moment, tags[checkpoint]))
        moment += timedelta(minutes=rng.uniform(1.0, 3.0))

    scans = []
    for counter, (moment, tag) in enumerate(timed, start=counter_start):
        scan = HandheldScan(
            handheld=handheld_id,
            guard=guard_id,
            tag_uid=tag,
            scanned_at=to_epoch_ms(moment),
            counter=counter,
            offline=offline,
        )
        scans.append(sign(scan, key) if key is not None else scan)
    if replay and scans:
        scans.append(scans[rng.randrange(len(scans))].model_copy())
    return scans


def shortest_walk(route: PatrolRoute, *, joined: bool = False) -> timedelta:
    """The least time `plan_round` needs for a round of `route` (the slowest first walk,
    then the closest spacing), over the 85 % of the window it plans in."""
    gaps = max(0, len(route.checkpoints) - 1)
    first = (JOINED_WALK_S if joined else FIRST_WALK_S)[1]
    return (timedelta(seconds=first) + route.min_transit * 1.5 * gaps) / 0.85


FIRST_WALK_S = (30.0, 120.0)  # from the round's start to its first checkpoint
JOINED_WALK_S = (5.0, 30.0)  # a round joined under way: the guard is already out


def _spacing(
    n: int,
    budget: timedelta,
    shortest: timedelta,
    rng: Random,
    first_walk: tuple[float, float] = FIRST_WALK_S,
) -> list[timedelta]:
    """`n` rising offsets from the start: a short walk to the first, random gaps after,
    squeezed to fit `budget` but never closer than `shortest`."""
    if n == 0:
        return []
    first = timedelta(seconds=rng.uniform(*first_walk))
    mean = max(shortest, (budget - first) / n)
    gaps = [max(shortest, mean * rng.uniform(0.6, 1.4)) for _ in range(n - 1)]
    room = budget - first
    total = sum(gaps, timedelta())
    if total > room and total > shortest * len(gaps):
        factor = (room - shortest * len(gaps)) / (total - shortest * len(gaps))
        gaps = [shortest + (g - shortest) * max(0.0, factor) for g in gaps]
    offsets = [first]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    return offsets
