"""What `estatewatch rules` is told: flags, `EW_*` variables or a settings file
(`estatewatch.settings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

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
