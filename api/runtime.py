"""What the running API holds: settings, clock, database, sites and the shared helpers, and
the background services its lifespan started.

Nothing here is filled in by the services themselves: each is built with only what it
needs, and the lifespan (`api.app`) publishes what it started as one `Services` value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from api.bus import Bus
from api.db import Database
from api.feedhub import FeedHub
from api.live import Pulse
from api.notify.dispatcher import Notifier
from api.security import LoginLimiter, PasswordCheck
from api.settings import Settings
from api.sites import Sites
from api.tasks import FeedPruner, MaintenanceGenerator, SlaChecker
from estatewatch.clock import Clock
from estatewatch.readings import ReadingStore


@dataclass(frozen=True)
class Services:
    """The background services running now; None: not running (switched off by the
    settings, or the app is not started)."""

    bus: Bus | None = None
    feed_hub: FeedHub | None = None
    notifier: Notifier | None = None
    sla_checker: SlaChecker | None = None
    maintenance: MaintenanceGenerator | None = None
    pruner: FeedPruner | None = None

    def figures(self) -> dict[str, dict[str, float]]:
        """Each running service's `figures()`, by name: what /metrics reports."""
        running = {
            "bus": self.bus,
            "feed_hub": self.feed_hub,
            "sla_checker": self.sla_checker,
            "maintenance": self.maintenance,
            "pruner": self.pruner,
        }
        return {name: s.figures() for name, s in running.items() if s is not None}


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    db: Database
    sites: Sites
    readings: ReadingStore | None = None
    pulse: Pulse = field(default_factory=Pulse)
    services: Services = field(default_factory=Services)
    """Set by the lifespan once its services run, and back to none at shutdown."""

    def __post_init__(self) -> None:
        self.db.on_change(self.pulse.notify)
        self.limiter = LoginLimiter(
            self.clock,
            attempts=self.settings.login_attempts,
            window=self.settings.login_window,
        )

    @property
    def notifier(self) -> Notifier | None:
        """The running notifier, if the settings switch it on and the app is started."""
        return self.services.notifier

    @cached_property
    def passwords(self) -> PasswordCheck:
        return PasswordCheck(self.settings.password_cost)

    @property
    def secret(self) -> str:
        return self.settings.secret_key.get_secret_value()
