"""What the change feed carries: one validated model per kind of change.

A change is stored as its `kind` and its payload's JSON (`api.models.FeedEvent`); read back,
it is validated into one of these by its `kind`. The live stream sends the payload's JSON
as it was stored, as the event's `data`, under the kind as the event's name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from api.schemas.alarm import AlarmPublic
from api.schemas.device import DevicePublic
from estatewatch.contracts.payloads import WorkOrderEvent


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str
    subject_id: str


class AlarmChange(_Change):
    """An alarm's new state, as the board shows it."""

    kind: Literal["alarm"] = "alarm"
    payload: AlarmPublic


class WorkOrderChange(_Change):
    """A work order's new revision, as published on its MQTT topic."""

    kind: Literal["workorder"] = "workorder"
    payload: WorkOrderEvent


class DeviceStatusChange(_Change):
    """A device whose state changed (online, degraded, offline)."""

    kind: Literal["device_status"] = "device_status"
    payload: DevicePublic


FeedChange = Annotated[
    AlarmChange | WorkOrderChange | DeviceStatusChange, Field(discriminator="kind")
]
FEED_CHANGE: TypeAdapter[FeedChange] = TypeAdapter(FeedChange)


def parse_change(*, kind: str, site: str, subject_id: str, payload: dict[str, Any]) -> FeedChange:
    """A stored change, validated (pydantic's `ValidationError` if it is not one)."""
    return FEED_CHANGE.validate_python(
        {"kind": kind, "site": site, "subject_id": subject_id, "payload": payload}
    )
