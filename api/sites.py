"""The estates this API serves: their site configs and dispatch policies, loaded once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from api.domain.calendar import CN_YEARS, WorkCalendar
from api.domain.policy import DispatchPolicies, DispatchPolicy
from estatewatch.config import SiteConfig, SlaPolicy, load_model, load_site

log = logging.getLogger(__name__)

CALENDAR_HORIZON = timedelta(days=45)
"""How far ahead a year's holidays must be known: from mid-November, when the State Council
has usually published the next year's, a site without them is warned of."""


class Sites:
    """Lookups by site id. A site without a config file still works (its alarms are
    stored) with the default SLA policy, in UTC."""

    def __init__(
        self, configs: Iterable[SiteConfig] = (), policies: DispatchPolicies | None = None
    ) -> None:
        self._configs = {c.site.id: c for c in configs}
        self._zones = {sid: ZoneInfo(c.site.timezone) for sid, c in self._configs.items()}
        self.policies = policies or DispatchPolicies()
        self._default_sla = SlaPolicy()
        self._calendars = {sid: WorkCalendar.of(c.sla) for sid, c in self._configs.items()}
        self._default_calendar = WorkCalendar.of(self._default_sla)
        self._warned: set[str] = set()
        self._warned_years: set[tuple[str, int]] = set()

    @classmethod
    def load(cls, site_files: Iterable[Path], policy_file: Path | None = None) -> Sites:
        configs = [load_site(path) for path in site_files]
        policies = load_model(policy_file, DispatchPolicies) if policy_file else None
        return cls(configs, policies)

    @property
    def ids(self) -> list[str]:
        return sorted(self._configs)

    def config(self, site: str) -> SiteConfig | None:
        config = self._configs.get(site)
        if config is None and site not in self._warned:
            self._warned.add(site)
            log.warning("site %r has no config file here; using default SLA policy, UTC", site)
        return config

    def sla(self, site: str) -> SlaPolicy:
        config = self.config(site)
        return config.sla if config else self._default_sla

    def tz(self, site: str) -> tzinfo:
        return self._zones.get(site) or ZoneInfo("UTC")

    def calendar(self, site: str) -> WorkCalendar:
        """The site's working days (public holidays, make-up days, its own days off)."""
        return self._calendars.get(site, self._default_calendar)

    def calendar_gaps(self, now: datetime) -> dict[str, list[int]]:
        """Per site, the years from `now` to `CALENDAR_HORIZON` ahead whose holidays nobody
        knows (working days there are guessed from the weekly pattern). Each gap is logged
        as a warning once; /health and the metrics show them all."""
        gaps: dict[str, list[int]] = {}
        for site in self.ids:
            years = {now.year, (now + CALENDAR_HORIZON).year}
            unknown = self.calendar(site).unknown_years(years)
            if not unknown:
                continue
            gaps[site] = unknown
            for year in unknown:
                if (site, year) not in self._warned_years:
                    self._warned_years.add((site, year))
                    log.warning(
                        "site %r: the public holidays of %d are unknown (chinese-calendar "
                        "knows %d-%d): working days are guessed from the weekdays; add the "
                        "State Council's schedule to the site's calendar file "
                        "(docs/configuration.md#working-days)",
                        site,
                        year,
                        min(CN_YEARS),
                        max(CN_YEARS),
                    )
        return gaps

    def dispatch(self, site: str) -> DispatchPolicy:
        return self.policies.for_site(site)
