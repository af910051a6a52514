"""The latest status of each device (from retained DeviceStatus messages), in the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import DeviceStatusRecord
from estatewatch.clock import from_epoch_ms
from estatewatch.contracts.payloads import DeviceState, DeviceStatus


def keep_status(session: Session, status: DeviceStatus) -> tuple[str, DeviceStatusRecord]:
    """Keep the newest status per device (by its time, then the gateway's seq). Returns
    what happened (`stale`, `applied`: a change of state, `refreshed`) and the row."""
    key = (status.site, status.device)
    record = session.get(DeviceStatusRecord, key, with_for_update=True)
    ts = from_epoch_ms(status.ts)
    if record is not None and (record.ts, record.seq) >= (ts, status.seq):
        return "stale", record
    changed = record is None or record.state != status.state
    if record is None:
        record = DeviceStatusRecord(site=status.site, device=status.device)
        session.add(record)
    record.gateway = status.gateway
    record.seq = status.seq
    record.kind = status.kind
    record.building = status.building
    record.room = status.room
    record.state = status.state
    record.ts = ts
    record.since = from_epoch_ms(status.since)
    record.last_seen = from_epoch_ms(status.last_seen) if status.last_seen else None
    record.consecutive_failures = status.consecutive_failures
    record.last_error = status.last_error.model_dump(mode="json") if status.last_error else None
    session.flush()
    return ("applied" if changed else "refreshed"), record


def list_devices(
    session: Session, *, sites: list[str] | None = None, states: list[DeviceState] | None = None
) -> list[DeviceStatusRecord]:
    query = select(DeviceStatusRecord)
    if sites:
        query = query.where(DeviceStatusRecord.site.in_(sites))
    if states:
        query = query.where(DeviceStatusRecord.state.in_([str(s) for s in states]))
    rows = session.scalars(query.order_by(DeviceStatusRecord.site, DeviceStatusRecord.device))
    return list(rows)
