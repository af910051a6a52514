"""Patrol scans and findings as guards submit them, and patrol results as the API shows them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Moment
from estatewatch.config.base import Identifier
from estatewatch.contracts.payloads import Finding, TagUid, WorkOrderState


class ScanIn(BaseModel):
    """One NFC scan from a guard's handheld; `scanned_at` is when it was made, which may be
    long before a basement's batch is synced."""

    model_config = ConfigDict(extra="forbid")

    handheld: Identifier
    tag_uid: TagUid
    scanned_at: Moment
    finding: Finding | None = None
    offline: bool = Field(default=False, description="kept on the handheld and synced later")


class ScanBatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "site": "harbour-view",
                    "scans": [
                        {
                            "handheld": "hh-01",
                            "tag_uid": "04A1B20001",
                            "scanned_at": "2026-11-02T08:00:00Z",
                        },
                        {
                            "handheld": "hh-01",
                            "tag_uid": "04A1B20002",
                            "scanned_at": "2026-11-02T08:06:00Z",
                            "offline": True,
                            "finding": {
                                "description": "Roof door does not latch",
                                "priority": "immediate",
                                "location": "T1 roof",
                            },
                        },
                    ],
                }
            ]
        },
    )

    site: Identifier
    scans: list[ScanIn] = Field(min_length=1, max_length=500)


class ScanStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    EXCEPTION = "exception"  # recorded for the duty room, e.g. an unknown tag
    EARLY = "early"  # made before its round opened: refused, scan again at `opens_at`


class ScanResult(BaseModel):
    scan_id: str
    status: ScanStatus
    checkpoint: str | None = None
    work_order_id: str | None = None
    reason: str | None = None
    opens_at: Moment | None = None


class ScanPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    scan_id: str
    site: str
    handheld: str
    guard: str
    tag_uid: str
    checkpoint: str
    building: str
    scanned_at: datetime
    received_at: datetime
    source: str
    synced_late: bool
    verified: str
    finding: dict[str, Any] | None


class PatrolExceptionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    site: str
    kind: str
    reason: str
    received_at: datetime
    source: str
    handheld: str | None
    guard: str | None
    tag_uid: str | None
    scanned_at: datetime | None


class RoundPublic(BaseModel):
    route: str
    route_name: str
    start: datetime
    end: datetime
    expected: list[str]
    scanned: list[str]
    missed: list[str]
    out_of_order: bool
    guards: list[str]
    percent: float
    complete: bool


class ShiftCompletion(BaseModel):
    site: str
    shift: str
    date: str
    start: datetime
    end: datetime
    rounds: list[RoundPublic]
    percent: float = Field(description="checkpoints scanned in time, over all rounds")


class Reinspection(BaseModel):
    order_id: str
    title: str
    checkpoint: str
    routes: list[str] = Field(description="the routes whose rounds pass the checkpoint")
    due_at: datetime
    owner: str | None
    state: WorkOrderState
    photos_before: list[str] = Field(description="the finding's photos (the guard's)")
    photos_after: list[str] = Field(description="the repair's photos (the technician's)")
    reinspected: bool = Field(description="scanned again since the repair was completed")
