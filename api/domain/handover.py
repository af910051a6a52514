"""The shift handover's rules (交接班): who may file and sign, when it is frozen, what a
signature covers, and which ended shifts still lack one. Pure.

The outgoing duty engineer files the report (that is their signature); the incoming one,
another person, signs it. Once both have signed the report is frozen: any further change,
a third signature included, is refused. A signature names the SHA-256 of the report's
canonical JSON, so a printed copy can be checked against the stored one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from api.domain.errors import Conflict, Forbidden, InvalidInput
from api.domain.patrol import shift_bounds
from estatewatch.config import SiteConfig

SIGN_GRACE = timedelta(minutes=30)
"""A shift that ended this long ago without both signatures is reported as unsigned."""
LOOKBACK = timedelta(days=2)
"""How far back unsigned shifts are looked for (the board's and the notifier's horizon)."""


def digest(report: dict[str, Any]) -> str:
    """SHA-256 of the report's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(report, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def check_file(*, frozen: bool, filed_by: str | None, by: str) -> None:
    """Filing (again) is the outgoing engineer's, and only until the incoming one signs."""
    if frozen:
        raise Conflict("this shift's handover is signed by both shifts: it is frozen")
    if filed_by is not None and filed_by != by:
        raise Forbidden(f"this shift's handover was filed by {filed_by}; only they may refile it")


def check_sign(
    *, frozen: bool, filed_by: str, by: str, digest_seen: str | None, digest_now: str
) -> None:
    """The incoming engineer signs once, is not the outgoing one, and signs what they read."""
    if frozen:
        raise Conflict("this handover is signed by both shifts: it is frozen")
    if by == filed_by:
        raise Forbidden("the incoming duty engineer signs: another person than the one who filed")
    if digest_seen is not None and digest_seen != digest_now:
        raise Conflict(
            "the report changed since you read it: read it again before signing",
            field="digest",
            digest=digest_now,
        )


def check_shift_ended_or_running(start: datetime, now: datetime) -> None:
    if now < start:
        raise InvalidInput("this shift has not started yet", field="shift")


def ended_shifts(
    site: SiteConfig, *, now: datetime, tz: tzinfo, lookback: timedelta = LOOKBACK
) -> list[tuple[str, date, datetime, datetime]]:
    """(shift, date, start, end) of every shift that ended at least `SIGN_GRACE` ago and
    within `lookback`, oldest first."""
    found = []
    today = now.astimezone(tz).date()
    for offset in range(lookback.days + 2, -1, -1):
        day = today - timedelta(days=offset)
        for shift in site.shifts:
            start, end = shift_bounds(shift, day, tz)
            if now - lookback <= end <= now - SIGN_GRACE:
                found.append((shift.id, day, start, end))
    return sorted(found, key=lambda s: s[3])


def unsigned(
    ended: Iterable[tuple[str, date, datetime, datetime]], frozen: set[tuple[str, str]]
) -> list[tuple[str, date, datetime, datetime]]:
    """The ended shifts whose (shift, date) has no handover signed by both."""
    return [s for s in ended if (s[0], s[1].isoformat()) not in frozen]
