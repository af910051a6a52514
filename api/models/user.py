"""People who sign in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(256), default="")
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(512))
    contact: Mapped[str] = mapped_column(String(256), default="")
    guard_id: Mapped[str | None] = mapped_column(
        String(64), doc="the site config's guard id, for a guard"
    )
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
