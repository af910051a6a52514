"""Preventive maintenance plans (预防性维护)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.schemas.workorder import Name
from estatewatch.config.base import Identifier
from estatewatch.contracts.payloads import LongText, ShortText, Trade


class PlanBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Name
    description: LongText = ""
    trade: Trade
    department: ShortText | None = Field(default=None, description="None: from the trade")
    device: Identifier | None = None
    building: Identifier | None = None
    interval_days: int = Field(ge=1, le=3660, description="e.g. 15 for an elevator's 半月保养")


class PlanCreate(PlanBase):
    site: Identifier
    first_due_at: AwareDatetime


class PlanUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Name | None = None
    description: LongText | None = None
    interval_days: int | None = Field(default=None, ge=1, le=3660)
    next_due_at: AwareDatetime | None = None
    active: bool | None = None


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
    interval_days: int
    next_due_at: datetime
    active: bool
    last_order_id: str | None
    created_at: datetime
    created_by: str
