"""Which estate (site) an object belongs to, by the name of the id that addresses it: the
table the estate guard (`api/scoping.py`) looks a path or body id up in. An id missing here
is left to its route (which answers 404 for an unknown one)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from api.models import (
    Alarm,
    Base,
    Handover,
    Incident,
    MaintenancePlan,
    PatrolScanRecord,
    QualitySample,
    User,
    WorkOrder,
)

Owner = frozenset[str] | None
"""The sites an object belongs to; an empty set is every estate (a group user); None: no
such object, or one of no estate (the route decides)."""


def _by_key(model: type[Base]) -> Callable[[Session, str], Owner]:
    def owner(session: Session, key: str) -> Owner:
        row = session.get(model, key)
        site = getattr(row, "site", None)
        return frozenset({site}) if site is not None else None

    return owner


def _user(session: Session, username: str) -> Owner:
    user = session.get(User, username)
    return frozenset(user.estates) if user is not None else None


def _photo(session: Session, ref: str) -> Owner:
    """A photo belongs to the orders and patrol findings that show it; one nothing shows yet
    (just uploaded) belongs to nobody."""
    sites = set(
        session.scalars(
            select(WorkOrder.site).where(
                cast(WorkOrder.photo_refs, String).contains(ref, autoescape=True)
            )
        )
    )
    sites |= set(
        session.scalars(
            select(PatrolScanRecord.site).where(
                cast(PatrolScanRecord.finding, String).contains(ref, autoescape=True)
            )
        )
    )
    return frozenset(sites) if sites else None


OWNERS: dict[str, Callable[[Session, str], Owner]] = {
    "alarm_id": _by_key(Alarm),
    "order_id": _by_key(WorkOrder),
    "incident_id": _by_key(Incident),
    "handover_id": _by_key(Handover),
    "sample_id": _by_key(QualitySample),
    "plan_id": _by_key(MaintenancePlan),
    "username": _user,
    "ref": _photo,
}
