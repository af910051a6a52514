"""Devices as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from estatewatch.contracts.payloads import DeviceState


class DevicePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    site: str
    device: str
    gateway: str
    kind: str
    building: str
    room: str
    state: DeviceState
    ts: datetime
    since: datetime
    last_seen: datetime | None
    consecutive_failures: int
    last_error: dict[str, object] | None
