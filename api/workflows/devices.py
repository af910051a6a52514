"""Devices: a gateway reports a device's status; a change of state goes to the live feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.schemas.device import DevicePublic
from api.schemas.feed import DeviceStatusChange
from api.store import devices as device_store
from api.store import feed
from estatewatch.contracts.payloads import DeviceState, DeviceStatus


def on_status(session: Session, status: DeviceStatus, *, now: datetime) -> str:
    """Keep the newest status per device; a change of state goes to the live feed."""
    outcome, record = device_store.keep_status(session, status)
    if outcome == "applied":
        payload = DevicePublic.model_validate(record)
        feed.append(
            session,
            DeviceStatusChange(site=status.site, subject_id=status.device, payload=payload),
            at=now,
        )
    return outcome


def list_devices(
    session: Session, *, sites: list[str] | None = None, states: list[DeviceState] | None = None
) -> list[DevicePublic]:
    return [
        DevicePublic.model_validate(r)
        for r in device_store.list_devices(session, sites=sites, states=states)
    ]
