"""The duty roster: the site file's, until someone edits it through the API; who is on
duty now (the rota the duty room and dispatch read)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.domain import roster as duty
from api.domain.errors import InvalidInput, NotFound
from api.models import WorkOrder
from api.sites import Sites
from api.store import feed
from api.store import roster as roster_store
from api.store import users as user_store
from estatewatch.clock import to_epoch_ms
from estatewatch.config.patrol import RosterEntry
from estatewatch.config.site import SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.roster import DutyRoster, RosterLine

_ROLE_ZH = {"duty_engineer": "工程值班员", "technician": "维修技师"}


def _site(sites: Sites, site: str) -> SiteConfig:
    config = sites.config(site)
    if config is None:
        raise NotFound(f"no site {site!r}", field="site")
    return config


def effective(session: Session, *, site: str, sites: Sites) -> list[RosterEntry]:
    """The roster in force: the one edited here, else the site file's."""
    config = _site(sites, site)
    edited = roster_store.get(session, site=site)
    return edited if edited is not None else list(config.roster)


def replace(
    session: Session,
    *,
    site: str,
    entries: list[RosterEntry],
    by: str,
    now: datetime,
    sites: Sites,
) -> list[RosterEntry]:
    """Replace the site's roster, refusing unknown shifts and guards (422 naming the entry)."""
    config = _site(sites, site)
    shifts = {s.id for s in config.shifts}
    guards = {g.id for g in config.guards}
    for i, entry in enumerate(entries):
        if entry.shift not in shifts:
            raise InvalidInput(
                f"unknown shift {entry.shift!r}",
                field=f"entries.{i}.shift",
                detail_zh=f"未知班次 {entry.shift!r}",
            )
        if entry.role == "guard" and entry.person not in guards:
            raise InvalidInput(
                f"unknown guard {entry.person!r}",
                field=f"entries.{i}.person",
                detail_zh=f"未知保安 {entry.person!r}",
            )
        if entry.role != "guard":  # someone dispatch can assign an order to: a user
            account = user_store.get(session, username=entry.person)
            if account is None or not account.active or account.role != entry.role:
                raise InvalidInput(
                    f"{entry.person!r} is no active {entry.role} user",
                    field=f"entries.{i}.person",
                    detail_zh=f"{entry.person!r} 不是在用的{_ROLE_ZH[entry.role]}账号",
                )
    roster_store.replace(session, site=site, entries=entries, by=by, at=now)
    # The rules engine counts a rostered guard's hourly report by it (retained topic).
    published = DutyRoster(
        site=site,
        entries=[RosterLine(**entry.model_dump()) for entry in entries],
        updated_by=by,
        updated_at=to_epoch_ms(now),
    )
    feed.enqueue(session, topic=topics.roster(site), payload=published, at=now)
    return entries


def on_duty(session: Session, *, site: str, at: datetime, sites: Sites) -> dict[str, list[str]]:
    """Role -> who is rostered on a shift running at `at`."""
    config = _site(sites, site)
    entries = effective(session, site=site, sites=sites)
    return duty.on_duty(entries, config.shifts, at, sites.tz(site))


def rostered_technicians(session: Session, *, site: str, at: datetime, sites: Sites) -> list[str]:
    """The technicians of `site`'s roster on a shift running at `at` (usernames)."""
    return on_duty(session, site=site, at=at, sites=sites)["technician"]


def technician_on_shift(
    session: Session, *, order: WorkOrder, at: datetime, sites: Sites
) -> bool | None:
    """Whether the order's assignee is a technician rostered on a shift running at `at`;
    None where the site rosters no technician (nothing to say)."""
    if sites.config(order.site) is None:
        return None
    entries = effective(session, site=order.site, sites=sites)
    if not any(e.role == "technician" for e in entries):
        return None
    return order.assignee in on_duty(session, site=order.site, at=at, sites=sites)["technician"]
