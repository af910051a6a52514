"""Stored readings as the API shows them: a point's history, the equipment operation log."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from estatewatch.contracts.payloads import Scalar


class SamplePublic(BaseModel):
    ts: dt.datetime
    """The reading's time; for an aggregate, the start of its window."""
    value: Scalar | None
    quality: str = "good"


class HistoryPublic(BaseModel):
    """One point of one device over `[start, end)`: raw readings, or `aggregate` per
    `window`. `truncated`: raw readings stopped at `limit` (ask from the last `ts` on, or
    aggregate)."""

    site: str
    device: str
    kind: str
    point: str
    unit: str
    source: str
    aggregate: str | None
    window: str | None
    start: dt.datetime
    end: dt.datetime
    truncated: bool
    samples: list[SamplePublic]


class LogValue(BaseModel):
    """A point's value at a fixed time of day: the newest reading at or before it, within
    the tolerance (else None), as a duty engineer's round would have noted it."""

    time: str
    at: dt.datetime
    value: Scalar | None
    ts: dt.datetime | None
    quality: str | None


class LogPoint(BaseModel):
    point: str
    unit: str
    description: str
    min: Scalar | None
    max: Scalar | None
    mean: float | None
    last: Scalar | None = Field(
        default=None,
        description="codes, states and text: the day's last value (they have no min, max or "
        "mean: a mean fault code means nothing)",
    )
    values: list[LogValue]


class OperationLog(BaseModel):
    """The equipment operation log (设备运行日志) of one device for one day, site time."""

    site: str
    device: str
    name: str
    kind: str
    building: str
    room: str
    date: dt.date
    timezone: str
    start: dt.datetime
    end: dt.datetime
    times: list[str]
    generated_at: dt.datetime
    points: list[LogPoint]
