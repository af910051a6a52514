"""The group monitoring centre (集团监控中心): every estate a user may see, side by side."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Attention = Literal["critical", "warning", "ok"]


class EstateFigures(BaseModel):
    site: str
    name: str
    attention: Attention = Field(
        description="critical: open critical alarms or orders past their clocks; warning: "
        "devices offline, SLA compliance under 90 % or patrols under 90 % done; else ok"
    )
    critical_alarms: int = Field(description="open (not closed) critical alarms")
    overdue_orders: int = Field(description="open orders with an SLA clock run out")
    sla_compliance_percent: float | None = Field(
        description="clocks met of those decided, orders reported this month (site time); "
        "null: none decided yet"
    )
    patrol_percent: float | None = Field(
        description="checkpoints scanned in time of today's rounds begun so far; null: none"
    )
    devices_offline: int


class GroupOverview(BaseModel):
    generated_at: datetime
    estates: list[EstateFigures] = Field(description="what needs attention first")
