"""Users and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.services.permissions import Role
from estatewatch.config.base import Identifier

Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]


class UserBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[str, StringConstraints(max_length=256)] = ""
    role: Role
    contact: Annotated[str, StringConstraints(max_length=256)] = ""
    guard_id: Identifier | None = Field(default=None, description="a guard's id in the site config")


class UserCreate(UserBase):
    username: Identifier
    password: Password


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[str, StringConstraints(max_length=256)] | None = None
    role: Role | None = None
    contact: Annotated[str, StringConstraints(max_length=256)] | None = None
    guard_id: Identifier | None = None
    active: bool | None = None
    password: Password | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    full_name: str
    role: Role
    contact: str
    guard_id: str | None
    active: bool
    created_at: datetime


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
