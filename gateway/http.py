"""The gateway's HTTP endpoint: `POST /scans` for handhelds syncing what they kept offline,
plus `/health` and `/metrics` (estatewatch.ops).

`POST /scans` takes a JSON array of `HandheldScan`s and answers, once every scan's outcome
is committed, `{"results": [{"index", "result": accepted|duplicate|exception, "scan_id",
"checkpoint" | "kind", "reason"}]}` — the handheld may then delete what it kept. A scan that
does not parse is a `malformed` exception in its own slot; the others are still taken.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from types import TracebackType

import orjson
import uvicorn
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from estatewatch.ops import Health, ops_app
from estatewatch.ready import announce, bound_port
from gateway.errors import GatewayError
from gateway.patrol import MAX_SYNC_SCANS, PatrolIntake
from gateway.sink import Sink

MAX_BODY = 4 * 1024 * 1024


def gateway_app(
    patrol: PatrolIntake, sink: Sink, registry: CollectorRegistry, health: Health
) -> Starlette:
    async def scans(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": f"body over {MAX_BODY} bytes"}, status_code=413)
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            await patrol.unreadable(body, f"sync body is not JSON: {exc}", sink)
            return JSONResponse({"error": f"not JSON: {exc}"}, status_code=400)
        if not isinstance(items, list):
            await patrol.unreadable(body, "sync body is not a JSON array of scans", sink)
            return JSONResponse({"error": "expected a JSON array of scans"}, status_code=400)
        if len(items) > MAX_SYNC_SCANS:
            return JSONResponse(
                {"error": f"at most {MAX_SYNC_SCANS} scans per request"}, status_code=413
            )
        results = await patrol.sync(items, sink)
        return JSONResponse({"results": results})

    ops = ops_app(registry, health)
    return Starlette(routes=[Route("/scans", scans, methods=["POST"]), *ops.routes])


class _QuietServer(uvicorn.Server):
    """The gateway owns signal handling; this server must not take SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """Serves the app on `host:port` from the gateway's event loop."""

    def __init__(self, app: Starlette, *, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self._server = _QuietServer(config)
        self._host = host
        self.port = port  # the port it got, once listening (port 0: any)
        self.where = f"{host}:{port}"
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HttpServer:
        self._task = asyncio.create_task(self._server.serve(), name="gateway-http")
        while not self._server.started:
            if self._task.done():
                with contextlib.suppress(SystemExit):  # uvicorn's answer to a busy port
                    self._task.result()
                raise GatewayError(f"cannot serve HTTP on {self.where}")
            await asyncio.sleep(0.01)
        self.port = bound_port(self._server)
        self.where = f"{self._host}:{self.port}"
        announce("http", self.port)
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
