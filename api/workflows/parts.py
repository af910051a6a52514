"""What a repair used and showed: the parts the technician records on an order, and the
photos an owner's report arrives with (uploaded first, then named by reference)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.domain.errors import Conflict, InvalidInput
from api.models import WorkOrder
from api.schemas.workorder import PartIn
from api.sites import Sites
from api.store.owners import OWNERS
from api.workflows.order_events import record
from estatewatch.contracts.payloads import WorkOrderEventType, WorkOrderState

S = WorkOrderState
PARTS_STATES = frozenset({S.ACCEPTED, S.ON_SITE})
"""Parts are recorded while the work is under way: accepted, or on site."""


def record_part(
    session: Session, *, order: WorkOrder, part: PartIn, by: str, at: datetime, sites: Sites
) -> dict[str, Any]:
    """Add a part used to `order` (in its log too); returns the entry as stored."""
    if order.state not in PARTS_STATES:
        raise Conflict(
            f"work order {order.id!r} is {order.state}: parts are recorded once it is "
            "accepted and until it is completed",
            field="state",
            detail_zh="工单接单后、完工前才能登记所用配件",
        )
    entry: dict[str, Any] = {
        **part.model_dump(),
        "by": by,
        "at": at.isoformat(),
    }
    order.parts_used = [*order.parts_used, entry]  # a new list: the JSON column sees it
    quantity = f"{part.quantity:g}"
    record(
        session,
        order,
        event=WorkOrderEventType.UPDATED,
        action="parts",
        from_state=order.state,
        by=by,
        at=at,
        sites=sites,
        note=f"{part.name} × {quantity} {part.unit}" + (f" ({part.note})" if part.note else ""),
        data={"part": entry},
    )
    return entry


def check_photos(session: Session, *, site: str, refs: list[str]) -> None:
    """Each photo an order is opened with may show nothing of another estate: one already
    on another estate's order or finding is refused, naming its place in `photo_refs`.
    That each was uploaded is the route's check (the photo store is not a database)."""
    for i, ref in enumerate(refs):
        owner = OWNERS["ref"](session, ref)
        if owner and site not in owner:
            raise InvalidInput(
                f"photo {ref!r} belongs to another estate",
                field=f"photo_refs.{i}",
                detail_zh=f"第 {i + 1} 张照片不属于本小区",
            )
