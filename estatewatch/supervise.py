"""The one place a long-lived part may catch `Exception`: run it, and when it fails, log it
with context and start it again after a pause that doubles up to a cap.

The first failure of a run of failures is logged loudly (ERROR, with its traceback); its
repeats quietly (DEBUG) until the part has run `healthy_after` seconds without failing, which
also resets the pause — a part that fails once a day is not held back by last week's
failures, nor does a part that fails every second fill the log.

    task = asyncio.create_task(supervise("MQTT consumer", consume, clock=clock))
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from estatewatch.clock import Clock, SystemClock

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0


async def supervise(
    name: str,
    body: Callable[[], Awaitable[None]],
    *,
    clock: Clock | None = None,
    max_backoff: float = MAX_BACKOFF_S,
    healthy_after: float | None = None,
    logger: logging.Logger | None = None,
) -> None:
    """Run `body` until it returns: when it raises, log it with `name` and start it again
    after a growing pause (1 s, 2 s, ... `max_backoff`) of `clock`. A run of at least
    `healthy_after` seconds (default: `max_backoff`) counts as a recovery. Cancellation
    stops it."""
    clock = clock or SystemClock()
    logger = logger or log
    healthy = max_backoff if healthy_after is None else healthy_after
    backoff = FIRST_BACKOFF_S
    failures = 0
    while True:
        started = clock.monotonic()
        try:
            await body()
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # the supervisor: log with context, restart with backoff
            if clock.monotonic() - started >= healthy:
                failures, backoff = 0, FIRST_BACKOFF_S  # it had recovered: a new episode
            failures += 1
            if failures == 1:
                logger.exception(
                    "%s failed; restarting in %.0f s (repeats are logged at debug level until"
                    " it recovers)",
                    name,
                    backoff,
                )
            else:
                logger.debug(
                    "%s failed again (%d in a row); restarting in %.0f s",
                    name,
                    failures,
                    backoff,
                    exc_info=True,
                )
        await clock.sleep(backoff)
        backoff = min(backoff * 2, max_backoff)
