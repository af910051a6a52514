"""Devices: status as the gateways last reported it, and their latest values."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import DeviceReader, ReaderDep, ReadingsReader, RuntimeDep
from api.domain.errors import Unavailable
from api.readings import find_device
from api.schemas.device import DevicePublic
from api.workflows import devices
from estatewatch.clock import from_epoch_ms
from estatewatch.contracts.payloads import DeviceState, Scalar
from estatewatch.errors import EstateWatchError

router = APIRouter(prefix="/devices", tags=["devices"])


class PointPublic(BaseModel):
    value: Scalar
    ts: datetime
    quality: str


class DeviceLatest(BaseModel):
    site: str
    device: str
    kind: str
    points: dict[str, PointPublic]


@router.get("")
def list_devices(
    user: DeviceReader,
    session: ReaderDep,
    site: Annotated[list[str] | None, Query()] = None,
    state: Annotated[list[DeviceState] | None, Query()] = None,
) -> list[DevicePublic]:
    return devices.list_devices(session, sites=user.scope.narrow(site), states=state)


@router.get("/{device}/latest")
async def latest(
    _: ReadingsReader,
    runtime: RuntimeDep,
    device: str,
    site: Annotated[str | None, Query(description="default: the only site served")] = None,
    point: Annotated[list[str] | None, Query(description="default: every stored point")] = None,
) -> DeviceLatest:
    """The newest value of each point, from the readings store."""
    target = find_device(runtime, site, device)
    try:
        found = await target.store.latest(
            site=target.site, kind=target.kind, device=device, points=point
        )
    except EstateWatchError as exc:
        raise Unavailable(f"the readings store did not answer: {exc}") from exc
    return DeviceLatest(
        site=target.site,
        device=device,
        kind=target.kind,
        points={
            name: PointPublic(value=p.value, ts=from_epoch_ms(p.ts), quality=str(p.quality))
            for name, p in found.items()
        },
    )
