"""People who sign in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, false, text
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
    trade: Mapped[str | None] = mapped_column(String(32), doc="a technician's trade")
    on_duty: Mapped[bool] = mapped_column(default=False, server_default=false())
    estates: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default=text("'[]'"), doc="site ids; empty: every estate"
    )


class RefreshToken(Base):
    """A refresh token, stored as its SHA-256 only. Each use rotates it (`used_at`) within
    its family; a used or revoked token presented again revokes the whole family, so a
    stolen token works at most until its owner's next refresh."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(ForeignKey("users.username"))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_refresh_tokens_family", "family"),)
