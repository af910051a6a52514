"""A real HTTP endpoint that records what is POSTed to it (a gateway's `/scans` stand-in)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from estatewatch.testing.services import free_port


class _Quiet(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def http_receiver() -> AsyncIterator[tuple[str, asyncio.Queue[Any]]]:
    """Yields the base URL and a queue of every body POSTed to /scans."""
    bodies: asyncio.Queue[Any] = asyncio.Queue()

    async def scans(request: Request) -> Response:
        bodies.put_nowait(await request.json())
        return Response(status_code=202)

    port = free_port()
    app = Starlette(routes=[Route("/scans", scans, methods=["POST"])])
    server = _Quiet(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "the test receiver did not start"
    try:
        yield f"http://127.0.0.1:{port}", bodies
    finally:
        server.should_exit = True
        await task
