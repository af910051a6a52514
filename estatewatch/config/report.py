"""Report by exception: when a polled point's value is worth sending uplink.

A point with report options is sent when it changed by more than its `deadband` since the
value last sent (an absolute amount in the point's unit, or a percentage of that value), and
otherwise at least every `max_silence`, so a steady value still goes out once a minute and
its consumers can tell "steady" from "gone". A bool, enum or string is sent on any change.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from estatewatch.config.base import StrictModel
from estatewatch.durations import Duration

DEFAULT_MAX_SILENCE = timedelta(seconds=60)
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class Deadband(StrictModel):
    """`value` in the point's unit, or `percent` of the value last sent."""

    value: float = Field(ge=0)
    percent: bool = False

    def exceeded(self, sent: float, now: float) -> bool:
        """`now` differs from `sent` by more than the band."""
        band = abs(sent) * self.value / 100 if self.percent else self.value
        return abs(now - sent) > band


def _parse_deadband(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a deadband is a number (in the point's unit) or a percentage ('1%')")
    if isinstance(value, int | float):
        return {"value": value}
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match:
            return {"value": float(match.group(1)), "percent": True}
        try:
            return {"value": float(value)}
        except ValueError:
            raise ValueError(
                f"{value!r} is not a deadband: write a number in the point's unit (0.5)"
                " or a percentage of the value ('1%')"
            ) from None
    return value


DeadbandSpec = Annotated[Deadband, BeforeValidator(_parse_deadband)]


class ReportOptions(StrictModel):
    """Per point: `deadband` turns report by exception on for it (or the gateway's
    `report_by_exception` does, for every polled point, with a deadband of 0: any change)."""

    deadband: DeadbandSpec | None = Field(
        default=None,
        description="send a change beyond this at once: a number in the point's unit or '1%'",
    )
    max_silence: Duration | None = Field(
        default=None,
        description="send the value at least this often even when steady (default 60s)",
    )
