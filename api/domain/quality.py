"""Quality sampling (品质抽查), pure: quality staff call back a random 20 % (rounded up) of
each week's closed work orders. The draw is `random.Random(seed)` over the sorted order ids,
so a recorded seed reproduces the sample exactly."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta, tzinfo


def sample_size(population: int, percent: float) -> int:
    """20 % of 11 orders is 3: rounded up, never more than there are."""
    if population <= 0:
        return 0
    return min(population, math.ceil(population * percent / 100 - 1e-9))


def draw(population: list[str], percent: float, seed: int) -> list[str]:
    ordered = sorted(set(population))
    # A seeded draw the supervisor can repeat, not a secret.
    picked = random.Random(seed).sample(  # noqa: S311
        ordered, sample_size(len(ordered), percent)
    )
    return sorted(picked)


def week_of(day: date) -> date:
    """The Monday the week of `day` starts on."""
    return day - timedelta(days=day.weekday())


def week_bounds(monday: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) in the site's time zone."""
    start = datetime.combine(monday, time(0), tzinfo=tz)
    return start, datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz)


def new_seed() -> int:
    return random.SystemRandom().getrandbits(48)
