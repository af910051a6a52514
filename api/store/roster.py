"""The duty roster as edited through the API, per site."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.models import RosterEntryRecord
from estatewatch.config.patrol import RosterEntry


def get(session: Session, *, site: str) -> list[RosterEntry] | None:
    """The site's edited roster, or None when it was never edited here."""
    rows = list(
        session.scalars(
            select(RosterEntryRecord)
            .where(RosterEntryRecord.site == site)
            .order_by(RosterEntryRecord.id)
        )
    )
    if not rows:
        return None
    return [
        RosterEntry(role=r.role, person=r.person, shift=r.shift, weekdays=list(r.weekdays))
        for r in rows
    ]


def replace(
    session: Session, *, site: str, entries: list[RosterEntry], by: str, at: datetime
) -> None:
    session.execute(delete(RosterEntryRecord).where(RosterEntryRecord.site == site))
    for entry in entries:
        session.add(
            RosterEntryRecord(
                site=site,
                role=entry.role,
                person=entry.person,
                shift=entry.shift,
                weekdays=list(entry.weekdays),
                updated_by=by,
                updated_at=at,
            )
        )
    session.flush()
