"""Types shared by the request models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be a time between 2000 and 2100")
    return value


# A time a person or a handheld sends: aware, and within the range the payloads on the bus
# (epoch milliseconds, never negative) and the SLA arithmetic can carry.
Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]


def _plausible_day(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError("must be a date between 2000 and 2100")
    return value


Day = Annotated[date, AfterValidator(_plausible_day)]
