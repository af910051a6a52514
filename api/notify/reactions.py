"""What else the change feed sets going, in the notifier's transaction: the seam through
which the emergency plans (api/incidents) react to alarms and orders without the notifier
knowing them. api/incidents uses the notifier to tell people; the notifier knows incidents
only by this protocol (`lint-imports` forbids api.notify importing api.incidents)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from api.notify.routing import Subject
from api.sites import Sites
from estatewatch.config.site import SiteConfig


class FeedReactions(Protocol):
    def active_sites(self, session: Session) -> set[str]:
        """Sites where a change to an order may concern something under way (an open
        incident): the planner asks `on_workorder` only for those."""
        ...

    def on_alarm(
        self,
        session: Session,
        site: SiteConfig,
        subject: Subject,
        payload: dict[str, Any],
        *,
        now: datetime,
        sites: Sites,
    ) -> bool:
        """A raised alarm; True when it set something going on its site."""
        ...

    def on_workorder(self, session: Session, payload: dict[str, Any], *, now: datetime) -> None:
        """An order of a site in `active_sites` changed."""
        ...

    def periodic(self, session: Session, *, sites: Sites, now: datetime) -> None:
        """Called with each escalation pass (reminders that fall due)."""
        ...


class NoReactions:
    """Nothing but notifications (tests of routing and delivery)."""

    def active_sites(self, session: Session) -> set[str]:
        return set()

    def on_alarm(
        self,
        session: Session,
        site: SiteConfig,
        subject: Subject,
        payload: dict[str, Any],
        *,
        now: datetime,
        sites: Sites,
    ) -> bool:
        return False

    def on_workorder(self, session: Session, payload: dict[str, Any], *, now: datetime) -> None:
        return None

    def periodic(self, session: Session, *, sites: Sites, now: datetime) -> None:
        return None
