"""Work orders: the model ladder and the body of each lifecycle action."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.domain.transitions import Action
from api.schemas.common import Moment, Patch
from api.schemas.pm import ChecklistAnswer, ChecklistItem, PmSignature, SignatureIn
from estatewatch.config.base import Identifier
from estatewatch.contracts.payloads import (
    LongText,
    ShortText,
    Trade,
    Urgency,
    WorkOrderSource,
    WorkOrderState,
)

Text1 = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=256, strip_whitespace=True)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkOrderBase(_In):
    title: Name
    description: LongText = ""
    department: ShortText | None = Field(default=None, description="None: from the trade")
    urgency: Urgency = Urgency.GENERAL
    building: Identifier | None = None
    device: Identifier | None = None
    location: ShortText = ""


PhotoRef = Annotated[str, StringConstraints(pattern=r"^ph_[0-9a-f]{16}$")]


class WorkOrderCreate(WorkOrderBase):
    """An owner's report or complaint that customer service logs by hand."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site": "harbour-view",
                    "title": "Water dripping from the ceiling of 12B",
                    "trade": "water_electric",
                    "urgency": "general",
                    "building": "t1",
                    "location": "flat 12B, bathroom",
                    "requester_name": "Mrs Chen",
                    "requester_contact": "+86 139 0000 0000",
                }
            ]
        },
    )

    site: Identifier
    source: Literal[WorkOrderSource.MANUAL, WorkOrderSource.COMPLAINT] = WorkOrderSource.MANUAL
    category: Identifier | None = Field(
        default=None,
        description="a category of the site's dispatch policy (entrapment, pipe_burst, outage, "
        "fire ...): the order gets the trade, urgency and clocks of an alarm of that category. "
        "None: an ordinary repair or complaint",
    )
    trade: Trade | None = Field(default=None, description="None: from the category's rule")
    requester_name: Name
    requester_contact: Name
    reported_at: Moment | None = Field(
        default=None, description="None: now; at most 2 min (clock skew) in the future"
    )
    photo_refs: list[PhotoRef] = Field(
        default_factory=list,
        max_length=20,
        description="the owner's photos, uploaded first (`PUT /photos/{ref}`); each must "
        "exist and show nothing of another estate",
    )


class WorkOrderUpdate(Patch):
    nullable = frozenset({"building", "device", "requester_name", "requester_contact", "owner"})

    title: Name | None = None
    description: LongText | None = None
    trade: Trade | None = None
    department: ShortText | None = None
    urgency: Urgency | None = Field(
        default=None,
        description="lowering an urgent order needs a supervisor, or the duty engineer with "
        "a reason",
    )
    building: Identifier | None = None
    device: Identifier | None = None
    location: ShortText | None = None
    requester_name: Name | None = None
    requester_contact: Name | None = None
    owner: ShortText | None = Field(
        default=None,
        description="a by-deadline finding's owner (整改责任人): an active user; default the "
        "first technician it is dispatched to",
    )
    reason: Text1 | None = Field(
        default=None, description="why: kept in the order's log (required to lower urgency)"
    )


class PartIn(_In):
    """A part the technician used on the order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "door belt DB-200", "quantity": 1, "unit": "pc", "note": ""}]
        },
    )

    name: Name
    quantity: float = Field(gt=0, le=1_000_000)
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]
    note: ShortText = ""


class PartUsed(BaseModel):
    name: str
    quantity: float
    unit: str
    note: str = ""
    by: str
    at: datetime


class PendingClockPublic(BaseModel):
    clock: str = Field(description="an SLA clock not met yet (`dispatch`, `response`, ...)")
    due: datetime


class ReturnPublic(BaseModel):
    """Why an order in the dispatch queue came back there: a technician declined it
    (`reject`) or handed it back (`hand_back`), with their reason."""

    action: Action
    reason: str
    by: str
    at: datetime


class WorkOrderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    site: str
    source: WorkOrderSource
    alarm_id: str | None
    scan_id: str | None
    category: str
    finding_priority: str | None
    title: str
    title_zh: str | None = None
    """The title in Chinese when the order has it in both languages (opened by an alarm)."""
    description: str
    trade: Trade
    department: str
    urgency: Urgency
    building: str | None
    device: str | None
    location: str
    requester_name: str | None
    requester_contact: str | None
    state: WorkOrderState
    revision: int
    escalation_level: int
    assignee: str | None
    assignee_contact: str | None
    eta: datetime | None
    result: str | None
    parts: list[str]
    parts_used: list[PartUsed] = Field(
        default_factory=list, description="parts the technician recorded (`POST .../parts`)"
    )
    photo_refs: list[str]
    callback_note: str | None
    reported_at: datetime
    fix_due_at: datetime | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    dispatched_at: datetime | None
    responded_at: datetime | None
    on_site_at: datetime | None
    completed_at: datetime | None
    verified_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    requester_answered_at: datetime | None
    expected_done_at: datetime | None
    progress_at: datetime | None
    due_by: datetime | None = Field(default=None, description="a PM order's due-by date")
    checklist: list[ChecklistItem] | None = Field(
        default=None, description="a PM order's checklist, answered on completion"
    )
    signature: PmSignature | None = Field(
        default=None, description="the technician's signature on a completed PM order"
    )
    parent_order_id: str | None = Field(
        default=None, description="the PM order whose failed checklist item opened this one"
    )
    owner: str | None = Field(default=None, description="a by-deadline finding's owner")
    deadlines: dict[str, datetime] = Field(default_factory=dict)
    pending_clocks: list[PendingClockPublic] = Field(
        default_factory=list,
        description="the clocks not met yet, nearest first; the pages count the first one down"
        " and render the rest (they keep no copy of when a clock is met)",
    )
    open: bool = Field(
        default=True, description="neither closed nor cancelled: the pages list it as open work"
    )
    last_return: ReturnPublic | None = Field(
        default=None,
        description="while the order waits in the dispatch queue (`new`) after a technician"
        " declined it or handed it back: who, when and why (from the order's log)",
    )
    breached: list[str] = Field(default_factory=list)
    allowed_actions: list[Action] = Field(default_factory=list)
    alarm_active: bool = Field(
        default=False,
        description="the fault of the order's alarm is still active: completing or closing"
        " needs an `override_reason`",
    )


class WorkOrderLogPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    revision: int
    action: str
    from_state: str | None
    to_state: str
    by: str
    at: datetime
    note: str
    data: dict[str, Any]


class WorkOrderDetail(WorkOrderPublic):
    log: list[WorkOrderLogPublic]


# --- lifecycle action bodies ---------------------------------------------------------------


class NoteIn(_In):
    note: LongText = ""


class DispatchIn(NoteIn):
    """Dispatch tells the technician's name, contact and ETA (domain.md, step 3)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "assignee": "li-ming",
                    "contact": "+86 138 0000 0000",
                    "eta": "2026-11-02T08:20:00Z",
                    "note": "bring a car key",
                }
            ]
        },
    )

    assignee: Identifier = Field(description="username of a technician")
    contact: Name
    eta: Moment


class AcceptIn(NoteIn):
    """Accepting sets the clock until done: when the technician expects to finish."""

    done_by: Moment | None = Field(
        default=None,
        description="expected completion, in the future; None: the site's default "
        "(sla.urgent_completion 4 h, sla.general_completion 72 h)",
    )


class ProgressIn(_In):
    """A structured progress answer to the requester (every 24 h while a general order is
    open): why it is still open, and by when it will be done."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "why_open": "The pump seal is on order, arriving Thursday",
                    "done_by": "2026-11-06T10:00:00Z",
                }
            ]
        },
    )

    why_open: Text1
    done_by: Moment


class CompleteIn(NoteIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "result": "Door operator belt replaced; 10 test runs OK",
                    "parts": ["door belt DB-200"],
                    "photo_refs": ["photos/3f2a9c.jpg"],
                }
            ]
        },
    )

    result: Text1
    parts: list[ShortText] = Field(default_factory=list, max_length=100)
    photo_refs: list[ShortText] = Field(default_factory=list, max_length=20)
    override_reason: LongText | None = Field(
        default=None, description="why complete while the order's alarm is still active"
    )
    checklist: list[ChecklistAnswer] = Field(
        default_factory=list,
        max_length=50,
        description="a PM order: every item of its checklist, passed or failed (a failed "
        "item opens a work order on the device)",
    )
    signature: SignatureIn | None = Field(
        default=None, description="a PM order: the technician's signature (required)"
    )


class CloseIn(NoteIn):
    override_reason: LongText | None = Field(
        default=None, description="why close while the order's alarm is still active"
    )


class VerifyIn(NoteIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"callback_note": "Owner confirms the lift runs normally"}]
        },
    )

    callback_note: Text1 = Field(description="what the requester or duty engineer confirmed")


class ReasonIn(_In):
    reason: Text1


class ReopenIn(ReasonIn):
    """Not fixed: re-dispatch (to the same technician unless another is named) and escalate."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "Still dripping after the repair", "assignee": "li-ming"}]
        },
    )

    assignee: Identifier | None = None
    contact: Name | None = None
    eta: Moment | None = None


class CommentIn(_In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "Parts ordered, arriving tomorrow", "to_requester": True}]
        },
    )
    text: Text1
    to_requester: bool = Field(
        default=False, description="this note was given to the requester (stops that clock)"
    )
