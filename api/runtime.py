"""What the running API holds: settings, clock, database, sites and the shared helpers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from api.db import Database
from api.live import Pulse
from api.security import LoginLimiter, PasswordCheck
from api.settings import Settings
from api.sites import Sites
from estatewatch.clock import Clock
from estatewatch.readings import ReadingStore

if TYPE_CHECKING:
    from api.bus import Bus
    from api.feedhub import FeedHub
    from api.notify.dispatcher import Notifier


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    db: Database
    sites: Sites
    readings: ReadingStore | None = None
    pulse: Pulse = field(default_factory=Pulse)
    bus: Bus | None = None
    notifier: Notifier | None = None
    feed_hub: FeedHub | None = None
    counters: Counter[str] = field(default_factory=Counter)
    """What /metrics reports beside the database: `sla_checks`, `stream_clients`."""

    def __post_init__(self) -> None:
        self.db.on_change(self.pulse.notify)
        self.limiter = LoginLimiter(
            self.clock,
            attempts=self.settings.login_attempts,
            window=self.settings.login_window,
        )

    @cached_property
    def passwords(self) -> PasswordCheck:
        return PasswordCheck(self.settings.password_cost)

    @property
    def secret(self) -> str:
        return self.settings.secret_key.get_secret_value()
