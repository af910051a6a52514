"""The records: signed shift handovers, fault analysis, a device's record, the monthly
report, the maintenance calendar."""

from __future__ import annotations

from datetime import date, datetime
from datetime import date as Date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.alarm import AlarmPublic
from api.schemas.patrol import ShiftCompletion
from api.schemas.pm import ChecklistItem, PmSignature
from api.schemas.report import BreachPublic, ClockRow, ClockSummary
from estatewatch.config.base import Identifier
from estatewatch.contracts.payloads import LongText

# --- the shift handover -----------------------------------------------------------------


class OrderClocks(BaseModel):
    """An open order as the next shift inherits it, with every SLA clock."""

    id: str
    title: str
    title_zh: str | None = None
    state: str
    urgency: str
    trade: str
    device: str | None
    assignee: str | None
    reported_at: datetime
    clocks: list[ClockRow]


class IncidentLine(BaseModel):
    id: str
    type: str
    title: str
    state: str
    building: str | None
    opened_at: datetime
    closed_at: datetime | None


class ReadingFinding(BaseModel):
    device: str
    device_name: str
    kind: str
    point: str
    unit: str
    verdict: Literal["out_of_band", "near_threshold"]
    value: float
    limit: float
    side: Literal["low", "high"]
    basis: str


class OfflineSpan(BaseModel):
    device: str
    device_name: str
    kind: str
    start: datetime
    end: datetime
    minutes: int
    source: Literal["readings", "status"]


class UnusualReadings(BaseModel):
    """Out-of-band and near-threshold values of the shift, and devices offline in it."""

    available: bool = Field(description="False: no readings store answered (status only)")
    out_of_band: list[ReadingFinding] = Field(default_factory=list)
    near_threshold: list[ReadingFinding] = Field(default_factory=list)
    offline: list[OfflineSpan] = Field(default_factory=list)


class HandoverReport(BaseModel):
    site: str
    shift: str
    date: str
    start: datetime
    end: datetime
    as_of: datetime = Field(description="the shift's end, or the filing time if earlier")
    open_alarms: list[AlarmPublic]
    open_orders: list[OrderClocks]
    breaches: list[BreachPublic]
    patrol: ShiftCompletion
    incidents: list[IncidentLine]
    unusual: UnusualReadings


class Signature(BaseModel):
    role: Literal["outgoing", "incoming"]
    by: str
    name: str
    at: datetime
    note: str
    digest: str = Field(description="SHA-256 of the report's canonical JSON it signs")


class HandoverPublic(BaseModel):
    id: str
    site: str
    shift: str
    date: str
    start: datetime
    end: datetime
    revision: int
    state: Literal["filed", "signed"]
    frozen: bool
    digest: str
    signatures: list[Signature]
    report: HandoverReport


class HandoverFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: Identifier
    shift: Identifier | None = Field(default=None, description="default: the shift running now")
    date: Date | None = Field(default=None, description="the local date the shift started on")
    note: LongText = ""


class HandoverSign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: LongText = ""
    digest: str | None = Field(
        default=None, description="the digest read; refused (409) when the report changed"
    )


class ShiftHandoverStatus(BaseModel):
    """A shift's handover state, for the board: `unfiled` and `filed` shifts that ended
    more than 30 minutes ago are unsigned."""

    site: str
    shift: str
    date: str
    start: datetime
    end: datetime
    state: Literal["unfiled", "filed", "signed"]
    handover_id: str | None
    filed_by: str | None
    signed_by: str | None
    notified: list[str] | None = Field(description="supervisors told it ended unsigned")


# --- fault analysis -----------------------------------------------------------------------


class FaultGroup(BaseModel):
    key: str
    faults: int
    repeats: int = Field(description="faults of a device repeating a category within 30 days")
    devices: int
    mtbf_hours: float | None
    mttr_hours: float | None


class FaultReport(BaseModel):
    site: str
    by: Literal["device", "kind", "location", "rule"]
    since: datetime
    until: datetime
    generated_at: datetime
    faults: int
    repeats: int
    mtbf_hours: float | None
    mttr_hours: float | None
    groups: list[FaultGroup]


# --- a device's record --------------------------------------------------------------------


class RecordAlarm(BaseModel):
    alarm_id: str
    rule: str
    category: str
    severity: str
    title: str
    title_zh: str | None = None
    state: str
    raised_at: datetime
    cleared_at: datetime | None
    acknowledged_by: str | None
    work_order_id: str | None


class RecordStep(BaseModel):
    action: str
    to_state: str
    by: str
    at: datetime
    note: str


class RecordOrder(BaseModel):
    id: str
    source: str
    category: str
    title: str
    title_zh: str | None = None
    state: str
    urgency: str
    reported_at: datetime
    assignee: str | None
    completed_at: datetime | None
    closed_at: datetime | None
    result: str | None
    parts: list[str]
    photo_refs: list[str]
    callback_note: str | None
    due_by: datetime | None = Field(default=None, description="a PM order's due-by date")
    checklist: list[ChecklistItem] | None = None
    signature: PmSignature | None = None
    parent_order_id: str | None = Field(
        default=None, description="the PM order whose failed checklist item opened it"
    )
    steps: list[RecordStep]


class RecordDay(BaseModel):
    """A day with readings: its equipment operation log is at `link`."""

    date: str
    link: str


class StatutoryRecord(BaseModel):
    """What the Special Equipment Safety Law (特种设备安全法) and the fire-protection rules
    ask an elevator's or a fire system's record to hold, and whether it is up to date."""

    basis: str
    maintenance_interval_days: int
    last_maintenance_at: datetime | None
    maintenance_overdue: bool
    entrapments: int
    faults: int
    repairs: int


class DeviceRecord(BaseModel):
    site: str
    device: str
    name: str
    kind: str
    building: str
    room: str
    since: datetime
    until: datetime
    generated_at: datetime
    alarms: list[RecordAlarm]
    repairs: list[RecordOrder]
    maintenance: list[RecordOrder]
    operation_log_days: list[RecordDay] | None = Field(
        description="None: no readings store answered"
    )
    statutory: StatutoryRecord | None


# --- the monthly report -------------------------------------------------------------------


class GuardPatrol(BaseModel):
    guard: str
    scans: int
    rounds: int
    complete_rounds: int


class RoutePatrol(BaseModel):
    route: str
    route_name: str
    rounds: int
    complete_rounds: int
    percent: float


class MaintenanceMonth(BaseModel):
    planned: int
    done: int
    open: int
    percent: float | None


class QualityMonth(BaseModel):
    samples: int
    callbacks: int
    satisfied: int
    reopened: int


class MonthlyReport(BaseModel):
    site: str
    month: str
    since: datetime
    until: datetime
    generated_at: datetime
    orders: int
    sla: list[ClockSummary]
    faults: FaultReport
    patrol_by_route: list[RoutePatrol]
    patrol_by_guard: list[GuardPatrol]
    maintenance: MaintenanceMonth
    quality: QualityMonth


# --- the maintenance calendar -------------------------------------------------------------


class CalendarEntry(BaseModel):
    plan_id: str
    title: str
    device: str | None
    trade: str
    due: list[date]


class MaintenanceCalendar(BaseModel):
    site: str
    year: int
    months: list[list[CalendarEntry]] = Field(description="12 lists, January first")
    plans: list[CalendarEntry]
