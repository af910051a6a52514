"""Exponential backoff with full jitter, as a pure function of the attempt number."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before retry `attempt` (1, 2, ...): uniform in ``[0, min(cap, base * 2**(n-1))]``
    ("full jitter"), so instances that failed together do not retry together; never less
    than the server's `Retry-After` hint."""

    base: float = 0.2
    cap: float = 30.0

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError("backoff needs 0 < base <= cap")

    def ceiling(self, attempt: int) -> float:
        return min(self.cap, self.base * 2.0 ** min(max(attempt, 1) - 1, 62))

    def delay(
        self,
        attempt: int,
        *,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        delay = rand() * self.ceiling(attempt)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap))
        return delay
