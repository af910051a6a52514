"""What `estatewatch rules` is told: flags, `EW_*` variables or a settings file
(`estatewatch.settings`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field

from estatewatch.durations import Duration
from estatewatch.settings import CommonSettings


class RulesSettings(CommonSettings):
    config: list[Path] = Field(
        default_factory=list,
        description="a site configuration (repeat for several sites in one instance)",
    )
    rules: Path | None = Field(
        default=None,
        description="a rule file; it extends the built-in pack (default: the built-in pack)",
    )
    state: Path = Field(
        default=Path("estatewatch-rules.db"),
        description="SQLite file of open alarms and rule state (kept across restarts)",
    )
    source: Literal["mqtt", "jetstream"] = Field(
        default="mqtt",
        description="the broker's topics (mqtt), or a NATS JetStream cluster where instances"
        " share the estates through leases and keep rule state in its KV (jetstream)",
    )
    nats: str = Field(
        default="nats://127.0.0.1:4222",
        description="the JetStream cluster's nodes, comma-separated (--source jetstream)",
    )
    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="this instance's name among the instances (--source jetstream;"
        " default: host and process id)",
    )
    lease: Duration = Field(
        default=timedelta(seconds=10),
        description="how long an instance that died holds its estates (--source jetstream)",
    )
    replicas: int = Field(
        default=3, ge=1, le=5, description="copies of the stream and KV kept (--source jetstream)"
    )
