"""Which estates (sites) a user may see: the one rule every read and write is filtered by.

A user's `estates` empty means every estate (a group role: 集团 staff). Anything outside the
scope answers as if it did not exist (404, never 403), so a user of one estate learns nothing
of another's alarms, orders or people.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from api.domain.errors import Forbidden, NotFound


class EstateScope:
    """The estates of one user; `estates is None` is every estate."""

    __slots__ = ("estates",)

    def __init__(self, estates: Iterable[str] | None = None) -> None:
        given = frozenset(estates or ())
        self.estates: frozenset[str] | None = given or None

    @property
    def everything(self) -> bool:
        return self.estates is None

    @property
    def sites(self) -> list[str] | None:
        """The filter a store query takes: the scope's sites, or None for every estate."""
        return None if self.estates is None else sorted(self.estates)

    def covers(self, site: str) -> bool:
        return self.estates is None or site in self.estates

    def narrow(self, requested: Sequence[str] | None) -> list[str] | None:
        """The sites a list may show: those asked for (all when none) within the scope;
        `None` is no filter at all."""
        if self.estates is None:
            return list(requested) if requested else None
        if not requested:
            return sorted(self.estates)
        return [s for s in requested if s in self.estates]

    def visible(self, sites: Iterable[str]) -> list[str]:
        """Of these sites, those in the scope, in their order."""
        return [s for s in sites if self.covers(s)]

    def check(self, site: str, *, field: str = "site") -> None:
        """NotFound for a site outside the scope, worded like any missing site."""
        if not self.covers(site):
            raise NotFound(f"no site {site!r}", field=field)

    def require_group(self, what: str) -> None:
        """Forbidden for a run across every estate (the SLA pass, the unsigned-handover
        check, maintenance generation) asked by a user of only some: the background pass
        runs it for them."""
        if self.estates is not None:
            raise Forbidden(f"{what} runs for every estate: a group user's action")

    def __repr__(self) -> str:
        return f"EstateScope({sorted(self.estates) if self.estates else 'every estate'})"


EVERY_ESTATE = EstateScope()
