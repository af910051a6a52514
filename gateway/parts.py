"""The gateway's long-lived tasks that must not end: a part that stops (a bug) is the
gateway's failure, which `Parts.wait()` raises so the process exits and its supervisor
(systemd) restarts it. Sources are not such parts: they run under `estatewatch.supervise`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Parts:
    def __init__(self) -> None:
        self.failure: BaseException | None = None
        self._failed = asyncio.Event()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run `coro` as the task `gateway-{name}`; cancelling it is no failure, any other
        end is."""
        task = asyncio.ensure_future(coro)
        task.set_name(f"gateway-{name}")
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        log.critical("%s stopped: %r", task.get_name(), error, exc_info=error)
        self.failure = error or RuntimeError(f"{task.get_name()} ended")
        self._failed.set()

    async def wait(self) -> None:
        """Return never; raise what stopped a part."""
        await self._failed.wait()
        assert self.failure is not None
        raise self.failure


async def cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel `tasks` and wait until they are gone."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()
