"""By-deadline findings (限期整改) on the patrol route: at its due date a finding becomes a
re-inspection task at its checkpoint on every round that passes there, until the duty room
verifies it (which needs a re-inspection scan since the repair, `lifecycle._check_finding`),
with the photos before (the guard's) and after (the technician's) side by side."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.schemas.patrol import Reinspection
from api.sites import Sites
from api.store import patrol
from estatewatch.contracts.payloads import WorkOrderState

OPEN = [WorkOrderState.NEW, WorkOrderState.DISPATCHED, WorkOrderState.ACCEPTED,
        WorkOrderState.ON_SITE, WorkOrderState.COMPLETED]  # fmt: skip
"""Until verified: a completed fix still owes its re-inspection."""


def due(session: Session, *, site: str, at: datetime, sites: Sites) -> list[Reinspection]:
    """The re-inspection tasks of `site`'s rounds at `at`: by-deadline findings due by then
    and not yet verified, the earliest due first."""
    config = sites.config(site)
    routes = config.routes if config is not None else []
    rows = patrol.by_deadline_findings_due(session, site=site, at=at, states=OPEN)
    found: list[Reinspection] = []
    for order, scan in rows:
        assert order.fix_due_at is not None  # the query asks for it
        done = order.completed_at
        found.append(
            Reinspection(
                order_id=order.id,
                title=order.title,
                checkpoint=scan.checkpoint,
                routes=[r.id for r in routes if scan.checkpoint in r.checkpoints],
                due_at=order.fix_due_at,
                owner=order.owner,
                state=WorkOrderState(order.state),
                photos_before=list((scan.finding or {}).get("photo_refs", [])),
                photos_after=list(order.photo_refs or []),
                reinspected=done is not None
                and patrol.reinspected(session, scan_id=scan.scan_id, since=done),
            )
        )
    return found
