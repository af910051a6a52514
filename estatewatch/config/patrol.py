"""Patrol in a site file: checkpoints, routes and their windows, shifts, the roster, guards
and handhelds."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from estatewatch.config.base import Identifier, StrictModel
from estatewatch.config.names import LocalizedName
from estatewatch.durations import Duration


class Checkpoint(StrictModel):
    """An NFC tag fixed at a patrol point."""

    id: Identifier
    tag_uid: Annotated[str, Field(pattern=r"^[0-9A-F]{8,20}$")] = Field(
        description="the tag's UID in upper-case hex, as a reader reports it"
    )
    name: LocalizedName
    building: Identifier
    floor: int = 1
    location: str = ""
    category: Literal[
        "public_area", "equipment_room", "fire_facility", "elevator", "power_room", "perimeter"
    ] = "public_area"
    sun_key_ref: str | None = Field(
        default=None,
        description="environment variable holding the tag's NTAG 424 DNA SDM key (32 hex "
        "digits), if it is one: its scans must then carry a SUN message that verifies",
    )

    @model_validator(mode="after")
    def _sun_tag_uid(self) -> Self:
        if self.sun_key_ref is not None and len(self.tag_uid) != 14:
            raise ValueError("an NTAG 424 DNA tag (sun_key_ref) has a 7-byte UID: 14 hex digits")
        return self


class Shift(StrictModel):
    id: Identifier
    name: LocalizedName
    start: time
    end: time = Field(description="may be earlier than start: the shift crosses midnight")


class PatrolWindow(StrictModel):
    """A round of a route: starts at `start` (site local time) and must be done within
    `duration`; checkpoint `i` is due by `start + i * spacing` when spacing is given."""

    start: time
    duration: Duration = timedelta(minutes=60)


class RouteSchedule(StrictModel):
    shift: Identifier
    windows: list[PatrolWindow] = Field(min_length=1)


class PatrolRoute(StrictModel):
    id: Identifier
    name: LocalizedName
    checkpoints: list[Identifier] = Field(min_length=1, description="in patrol order")
    schedule: list[RouteSchedule] = Field(min_length=1)
    ordered: bool = Field(default=True, description="out-of-order scans are exceptions")
    min_transit: Duration = Field(
        default=timedelta(seconds=20),
        description="faster than this between two checkpoints is impossible (cloned tag)",
    )


class RosterEntry(StrictModel):
    """`person` works `shift` on `weekdays` (0 = Monday, the shift's start day) as `role`:
    the duty roster (排班). A guard's `person` is a guard id of `guards`."""

    role: Literal["guard", "duty_engineer", "technician"]
    person: Identifier
    shift: Identifier
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(default=[0, 1, 2, 3, 4, 5, 6])


class Guard(StrictModel):
    id: Identifier
    name: LocalizedName
    handheld: Identifier | None = None


class Handheld(StrictModel):
    id: Identifier
    key_ref: str | None = Field(default=None, description="secret name of its HMAC scan key")
