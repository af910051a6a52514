"""The gateway's HTTP side on 127.0.0.1 by default: `POST /scans` (a handheld syncing the scans
it kept offline) plus `/health` and `/metrics`, served from the gateway's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from types import TracebackType

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from estatewatch.contracts.payloads import ScanSource
from estatewatch.ops import Health
from gateway.scan_intake import ScanIntake

MAX_BODY = 4 * 1024 * 1024


def build_app(intake: ScanIntake, registry: CollectorRegistry, health: Health) -> FastAPI:
    app = FastAPI(title="EstateWatch gateway", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/scans")
    async def post_scans(request: Request) -> JSONResponse:
        """A JSON array of HandheldScan; answers one result per scan, in order. Malformed
        scans are forwarded as PatrolExceptions and answered as such, never dropped."""
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"detail": f"body over {MAX_BODY} bytes"}, status_code=413)
        try:
            items = json.loads(body)
        except ValueError:
            items = None
        if not isinstance(items, list):
            results = await intake.submit([body], ScanSource.HTTP)
            return JSONResponse(
                {
                    "detail": "expected a JSON array of scans",
                    "results": [r.as_dict() for r in results],
                },
                status_code=422,
            )
        results = await intake.submit(items, ScanSource.HTTP)
        return JSONResponse({"results": [r.as_dict() for r in results]})

    @app.get("/health")
    async def get_health() -> JSONResponse:
        body = dict(health())
        status = 200 if body.get("status", "ok") in ("ok", "degraded") else 503
        return JSONResponse(body, status_code=status)

    @app.get("/metrics")
    async def get_metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


class _QuietServer(uvicorn.Server):
    """The gateway owns signal handling, not uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    def __init__(self, app: FastAPI, *, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HttpServer:
        self._task = asyncio.create_task(self._server.serve(), name="gateway-http")
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
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
