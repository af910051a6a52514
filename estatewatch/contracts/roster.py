"""The duty roster as the API holds it: who works which shift, for the rules engine."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from estatewatch.config.base import Identifier
from estatewatch.contracts.base import EpochMs, Payload, ShortText


class RosterLine(BaseModel):
    """`person` works `shift` on `weekdays` (0 = Monday, the shift's start day) as `role`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["guard", "duty_engineer", "technician"]
    person: Identifier
    shift: Identifier
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(max_length=7)


class DutyRoster(Payload):
    """A site's whole roster, retained: the rules engine gets the one in force on connect
    and each replacement as it is made (it counts a rostered guard's hourly report from the
    start of the shift). Absent, the site file's `roster` holds."""

    site: Identifier
    entries: list[RosterLine] = Field(max_length=1000)
    updated_by: ShortText
    updated_at: EpochMs
