"""Operations plumbing every long-running component shares: an HTTP endpoint with
`/health` (JSON) and `/metrics` (Prometheus text format). Structured logs: `estatewatch.logs`.

A component builds its metrics on its own `CollectorRegistry` (so several components can
run in one process, as `estatewatch up` does) and passes a `health` callable that says
whether it can do its job right now.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from estatewatch.ready import announce, bound_port

Health = Callable[[], Mapping[str, Any]]
"""Returns at least `{"status": "ok" | "degraded" | "down"}` plus whatever explains it."""


def ops_app(registry: CollectorRegistry, health: Health) -> Starlette:
    async def health_endpoint(request: Request) -> JSONResponse:
        body = dict(health())
        status = 200 if body.get("status", "ok") in ("ok", "degraded") else 503
        return JSONResponse(body, status_code=status)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[Route("/health", health_endpoint), Route("/metrics", metrics_endpoint)]
    )


class _QuietServer(uvicorn.Server):
    """The component owns signal handling; this server must not take SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class OpsServer:
    """`/health` and `/metrics` on `host:port`, served from the component's own event loop."""

    def __init__(
        self, registry: CollectorRegistry, health: Health, *, host: str = "127.0.0.1", port: int
    ) -> None:
        config = uvicorn.Config(
            ops_app(registry, health), host=host, port=port, log_level="warning", lifespan="off"
        )
        self._server = _QuietServer(config)
        self.port = port  # the port it got, once listening (port 0: any)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OpsServer:
        self._task = asyncio.create_task(self._server.serve(), name="ops-server")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the bind error
            await asyncio.sleep(0.01)
        self.port = bound_port(self._server)
        announce("ops", self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
