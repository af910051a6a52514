"""Users and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.domain.permissions import Role
from api.schemas.common import Patch
from estatewatch.config.base import Identifier
from estatewatch.contracts.payloads import Trade

Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]


class UserBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[str, StringConstraints(max_length=256)] = ""
    role: Role
    contact: Annotated[str, StringConstraints(max_length=256)] = ""
    guard_id: Identifier | None = Field(default=None, description="a guard's id in the site config")
    trade: Trade | None = Field(default=None, description="a technician's trade")
    on_duty: bool = Field(default=False, description="a technician available for dispatch")
    estates: list[Identifier] = Field(
        default_factory=list,
        max_length=1000,
        description="site ids this user may see; empty: every estate (group roles)",
    )


class UserCreate(UserBase):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "li-ming",
                    "password": "a long passphrase",
                    "role": "technician",
                    "full_name": "Li Ming",
                    "contact": "+86 138 0000 0000",
                    "trade": "water_electric",
                    "on_duty": True,
                }
            ]
        },
    )

    username: Identifier
    password: Password


class UserUpdate(Patch):
    nullable = frozenset({"guard_id", "trade"})

    full_name: Annotated[str, StringConstraints(max_length=256)] | None = None
    role: Role | None = None
    contact: Annotated[str, StringConstraints(max_length=256)] | None = None
    guard_id: Identifier | None = None
    active: bool | None = None
    password: Password | None = None
    trade: Trade | None = None
    on_duty: bool | None = None
    estates: Annotated[list[Identifier], Field(max_length=1000)] | None = None


class DutyIn(BaseModel):
    """A technician clocks on or off: only those on duty are offered for dispatch."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"on_duty": True}]})

    on_duty: bool


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    full_name: str
    role: Role
    contact: str
    guard_id: str | None
    active: bool
    created_at: datetime
    trade: Trade | None
    on_duty: bool
    estates: list[str] = Field(description="site ids; empty: every estate")


class TechnicianPublic(BaseModel):
    """Someone a duty engineer can dispatch to, and how busy they are."""

    username: str
    full_name: str
    contact: str
    trade: Trade | None
    on_duty: bool
    open_orders: int = Field(description="orders assigned to them and not yet completed")
    rostered: bool | None = Field(
        default=None,
        description="on a shift of the site's duty roster now (only with ?site=)",
    )


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_at: datetime
    refresh_token: str = Field(description="POST /auth/refresh for a new pair; used once")
    refresh_expires_at: datetime


class RefreshIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"refresh_token": "3q2-7wEXAMPLEonlyZx0"}]},
    )

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=256)]
