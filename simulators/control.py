"""The control API of a running simulator: see the devices, inject and clear faults.

    GET    /devices                    id, kind, active and accepted faults, current values
    GET    /devices/{device}           one of them
    GET    /faults                     the fault vocabulary
    POST   /faults                     {"device": ..., "fault": ..., "exception_code": 4?}
    DELETE /faults/{device}/{fault}    clear one fault
    DELETE /faults/{device}            clear every fault of the device

Served by uvicorn inside the simulator's own event loop, on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterator
from types import TracebackType
from typing import Annotated, Any

import httpx
import uvicorn
from fastapi import FastAPI, HTTPException, Path
from pydantic import BaseModel, ConfigDict

from estatewatch.config import DeviceKind
from estatewatch.contracts.payloads import Scalar
from estatewatch.ready import announce, bound_port
from simulators.errors import FaultError, SimulatorError, UnknownDevice
from simulators.estate import SimulatedEstate
from simulators.faults import Fault

DeviceId = Annotated[str, Path(description="a device id of the site config")]


class FaultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: str
    fault: str
    exception_code: int | None = None


class DevicePublic(BaseModel):
    id: str
    kind: DeviceKind
    faults: list[Fault]
    accepted_faults: list[Fault]
    values: dict[str, Scalar | None]
    """NaN (a `garbage` float) is shown as null."""


def describe(estate: SimulatedEstate, device_id: str) -> DevicePublic:
    values = {
        name: None if isinstance(v, float) and not math.isfinite(v) else v
        for name, v in estate.values(device_id).items()
    }
    return DevicePublic(
        id=device_id,
        kind=estate.kind(device_id),
        faults=sorted(estate.faults(device_id)),
        accepted_faults=sorted(estate.accepted_faults(device_id)),
        values=values,
    )


@contextlib.contextmanager
def _http_errors() -> Iterator[None]:
    try:
        yield
    except UnknownDevice as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except FaultError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


def create_app(estate: SimulatedEstate) -> FastAPI:
    app = FastAPI(title="EstateWatch simulators", version="1")

    @app.get("/devices")
    def list_devices() -> list[DevicePublic]:
        return [describe(estate, device_id) for device_id in estate.device_ids()]

    @app.get("/devices/{device}")
    def get_device(device: DeviceId) -> DevicePublic:
        with _http_errors():
            return describe(estate, device)

    @app.get("/faults")
    def vocabulary() -> list[Fault]:
        return list(Fault)

    @app.post("/faults", status_code=201)
    def inject(request: FaultRequest) -> DevicePublic:
        with _http_errors():
            estate.inject(request.device, request.fault, exception_code=request.exception_code)
            return describe(estate, request.device)

    @app.delete("/faults/{device}/{fault}")
    def clear_one(device: DeviceId, fault: str) -> DevicePublic:
        with _http_errors():
            estate.clear(device, fault)
            return describe(estate, device)

    @app.delete("/faults/{device}")
    def clear_all(device: DeviceId) -> DevicePublic:
        with _http_errors():
            estate.clear(device)
            return describe(estate, device)

    return app


class _QuietServer(uvicorn.Server):
    """The simulator owns signal handling; this server must not take SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ControlServer:
    """The control API on `host:port` for as long as the block runs."""

    def __init__(self, estate: SimulatedEstate, *, host: str = "127.0.0.1", port: int) -> None:
        config = uvicorn.Config(
            create_app(estate), host=host, port=port, log_level="warning", lifespan="off"
        )
        self.host = host
        self.url = f"http://{host}:{port}"  # the port it got, once listening (port 0: any)
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ControlServer:
        self._task = asyncio.create_task(self._server.serve(), name="sim-control")
        for _ in range(1000):  # 10 s
            if self._server.started:
                port = bound_port(self._server)
                self.url = f"http://{self.host}:{port}"
                announce("control", port)
                return self
            if self._task.done():
                break
            await asyncio.sleep(0.01)
        self._server.should_exit = True
        with contextlib.suppress(BaseException):
            await self._task
        raise SimulatorError(f"the control API could not listen on {self.url}")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task


async def request_fault(
    control_url: str,
    device: str,
    fault: str | None,
    *,
    clear: bool = False,
    exception_code: int | None = None,
) -> dict[str, Any]:
    """Ask a running simulator to inject (or clear) a fault; its answer about the device."""
    base = control_url.rstrip("/")
    async with httpx.AsyncClient(timeout=10.0) as client:
        try:
            if clear:
                url = f"{base}/faults/{device}" + (f"/{fault}" if fault else "")
                response = await client.delete(url)
            else:
                body = {"device": device, "fault": fault, "exception_code": exception_code}
                response = await client.post(f"{base}/faults", json=body)
        except httpx.HTTPError as exc:
            raise SimulatorError(f"no simulator answering at {base}: {exc}") from exc
    if response.status_code >= 300:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise SimulatorError(f"{response.status_code}: {detail}")
    answer: dict[str, Any] = response.json()
    return answer
