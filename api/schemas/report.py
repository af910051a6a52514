"""Reports: shift handover and SLA compliance."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from api.schemas.alarm import AlarmPublic
from api.schemas.device import DevicePublic
from api.schemas.patrol import ShiftCompletion
from api.schemas.workorder import WorkOrderPublic


class BreachPublic(BaseModel):
    order_id: str
    clock: str
    due_at: datetime
    detected_at: datetime


class Handover(BaseModel):
    """What the outgoing shift hands over (交接班), to be signed off by both shifts."""

    site: str
    shift: str
    date: str
    start: datetime
    end: datetime
    generated_at: datetime
    open_alarms: list[AlarmPublic]
    open_orders: list[WorkOrderPublic]
    breaches: list[BreachPublic]
    patrol: ShiftCompletion
    devices_not_online: list[DevicePublic]


class ClockRow(BaseModel):
    order_id: str
    site: str
    source: str
    urgency: str
    trade: str
    clock: str
    due_at: datetime
    met_at: datetime | None
    status: str  # met, breached, pending


class ClockSummary(BaseModel):
    clock: str
    total: int
    met: int
    breached: int
    pending: int
    compliance_percent: float | None


class SlaReport(BaseModel):
    site: str | None
    since: datetime
    until: datetime
    generated_at: datetime
    orders: int
    clocks: list[ClockSummary]
    rows: list[ClockRow]
