"""Preventive maintenance plans (预防性维护)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from api.schemas.common import Moment, Patch
from api.schemas.workorder import Name
from estatewatch.config.base import Identifier, PointName
from estatewatch.contracts.payloads import LongText, ShortText, Trade


class PlanBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Name
    description: LongText = ""
    trade: Trade
    department: ShortText | None = Field(default=None, description="None: from the trade")
    device: Identifier | None = None
    building: Identifier | None = None
    interval_days: int | None = Field(
        default=None, ge=1, le=3660, description="e.g. 15 for an elevator's 半月保养"
    )
    counter_point: PointName | None = Field(
        default=None, description="a counter the device reports, e.g. run_hours or starts"
    )
    counter_interval: float | None = Field(
        default=None, gt=0, le=1e9, description="e.g. 500 (run hours) between services"
    )
    checklist: list[ShortText] = Field(
        default_factory=list,
        max_length=50,
        description="what the technician checks and answers on completion, e.g. 'brake'",
    )
    due_within_days: int | None = Field(
        default=None,
        ge=1,
        le=366,
        description="a PM order is due by its date + this many days (default: the interval, "
        "else 7)",
    )


class PlanCreate(PlanBase):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site": "harbour-view",
                    "title": "Elevator half-monthly maintenance",
                    "trade": "elevator",
                    "device": "elevator-3",
                    "interval_days": 15,
                    "first_due_at": "2026-11-15T01:00:00Z",
                    "due_within_days": 3,
                    "checklist": ["brake", "door operator", "alarm bell", "car lighting"],
                }
            ]
        },
    )

    site: Identifier
    first_due_at: Moment | None = Field(
        default=None, description="the first calendar due date; required with interval_days"
    )

    @model_validator(mode="after")
    def _one_schedule_at_least(self) -> Self:
        if (self.counter_point is None) != (self.counter_interval is None):
            field = "counter_interval" if self.counter_interval is None else "counter_point"
            raise PydanticCustomError(
                "usage_pair", f"{field} is needed with the other counter field"
            )
        if self.interval_days is None and self.counter_point is None:
            raise PydanticCustomError(
                "no_schedule", "give interval_days, or counter_point and counter_interval"
            )
        if (self.interval_days is None) != (self.first_due_at is None):
            raise PydanticCustomError("calendar_pair", "interval_days and first_due_at go together")
        if self.counter_point is not None and self.device is None:
            raise PydanticCustomError("usage_device", "a usage plan needs its device")
        return self


class PlanUpdate(Patch):
    """Clearing `interval_days` (with `next_due_at`) leaves a usage-only plan; the result must
    still have a schedule."""

    nullable = frozenset({"interval_days", "next_due_at", "counter_interval", "due_within_days"})

    title: Name | None = None
    description: LongText | None = None
    interval_days: int | None = Field(default=None, ge=1, le=3660)
    next_due_at: Moment | None = None
    counter_interval: float | None = Field(default=None, gt=0, le=1e9)
    active: bool | None = None
    checklist: list[ShortText] | None = Field(default=None, max_length=50)
    due_within_days: int | None = Field(default=None, ge=1, le=366)


class PlanPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    site: str
    device: str | None
    building: str | None
    title: str
    description: str
    trade: Trade
    department: str
    interval_days: int | None
    next_due_at: datetime | None
    counter_point: str | None
    counter_interval: float | None
    counter_next: float | None
    counter_value: float | None
    counter_seen_at: datetime | None
    active: bool
    last_order_id: str | None
    checklist: list[str]
    due_within_days: int | None
    created_at: datetime
    created_by: str
