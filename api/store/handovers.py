"""Shift handovers and the notices of shifts that ended unsigned: rows in and out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.errors import NotFound
from api.models import Handover, HandoverNotice


def get(session: Session, *, handover_id: str, lock: bool = False) -> Handover:
    query = select(Handover).where(Handover.id == handover_id)
    found = session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise NotFound(f"no handover {handover_id!r}", field="handover_id")
    return found


def of_shift(session: Session, *, site: str, shift: str, day: str) -> Handover | None:
    return session.scalars(
        select(Handover)
        .where(Handover.site == site, Handover.shift == shift, Handover.date == day)
        .with_for_update()
    ).first()


def keeps_handovers(session: Session, *, site: str) -> bool:
    """Whether any handover was ever filed for the site."""
    return (
        session.scalars(select(Handover.id).where(Handover.site == site).limit(1)).first()
        is not None
    )


def add(session: Session, handover: Handover) -> Handover:
    session.add(handover)
    session.flush()
    return handover


def ended_between(
    session: Session, *, site: str, since: datetime, until: datetime
) -> list[Handover]:
    return list(
        session.scalars(
            select(Handover)
            .where(Handover.site == site, Handover.end >= since, Handover.end <= until)
            .order_by(Handover.end)
        )
    )


def notices(session: Session, *, site: str, days: Iterable[str]) -> list[HandoverNotice]:
    return list(
        session.scalars(
            select(HandoverNotice).where(
                HandoverNotice.site == site, HandoverNotice.date.in_(list(days))
            )
        )
    )


def add_notice(session: Session, notice: HandoverNotice) -> bool:
    """Insert the notice unless one for that shift exists; True when inserted."""
    key = (notice.site, notice.shift, notice.date)
    if session.get(HandoverNotice, key) is not None:
        return False
    session.add(notice)
    session.flush()
    return True
