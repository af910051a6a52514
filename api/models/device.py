"""The latest status of each device, from the gateways' retained DeviceStatus messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base


class DeviceStatusRecord(Base):
    __tablename__ = "device_status"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    building: Mapped[str] = mapped_column(String(64))
    room: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    ts: Mapped[datetime]
    since: Mapped[datetime]
    last_seen: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
