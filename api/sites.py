"""The estates this API serves: their site configs and dispatch policies, loaded once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from api.domain.policy import DispatchPolicies, DispatchPolicy
from estatewatch.config import SiteConfig, SlaPolicy, load_model, load_site

log = logging.getLogger(__name__)


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
        self._warned: set[str] = set()

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

    def dispatch(self, site: str) -> DispatchPolicy:
        return self.policies.for_site(site)
