"""The API's inbound MQTT messages: which payload model each topic kind carries, and which
workflow each consumed message goes to (called inside a transaction). Not the top-level
`ingest/` component, which writes telemetry to the readings store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from api.sites import Sites
from api.store import patrol as patrol_store
from api.workflows import alarms, devices, patrol
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import (
    AlarmEvent,
    DeviceStatus,
    PatrolException,
    PatrolScan,
    Payload,
)

MODELS = topics.models("alarm", "device_status", "patrol_scan", "patrol_exception")
"""Topic kind (see `topics.parse`) → the payload model the API consumes there."""


def apply_batch(
    session: Session, payloads: Sequence[Payload], *, now: datetime, sites: Sites
) -> list[str]:
    """Store consumed messages idempotently in one transaction: the AlarmEvents among them
    as one batch (`workflows.alarms.on_alarm_events`: a storm costs a statement per table,
    not an ORM unit of work per alarm), the rest one by one. Returns what happened to each."""
    events = [p for p in payloads if isinstance(p, AlarmEvent)]
    outcomes = iter(alarms.on_alarm_events(session, events, now=now, sites=sites))
    return [
        next(outcomes) if isinstance(p, AlarmEvent) else apply(session, p, now=now, sites=sites)
        for p in payloads
    ]


def apply(session: Session, payload: Payload, *, now: datetime, sites: Sites) -> str:
    """Store one consumed message idempotently; returns what happened, for logs and tests."""
    if isinstance(payload, AlarmEvent):
        return alarms.on_alarm_event(session, payload, now=now, sites=sites)
    if isinstance(payload, DeviceStatus):
        return devices.on_status(session, payload, now=now)
    if isinstance(payload, PatrolScan):
        return patrol.on_scan(session, payload, now=now, sites=sites)
    if isinstance(payload, PatrolException):
        return patrol_store.apply_exception(session, payload, now=now)
    raise TypeError(f"the API does not consume {type(payload).__name__}")
