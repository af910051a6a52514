"""The technician's side of a work order: declining it or handing it back with a reason,
the parts used, and the recent history of the order's device (its alarms and orders),
readable by whoever may see the order — so the technician, who reads no reports, sees
what happened to the equipment they repair."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from api.deps import ClockDep, CurrentUser, OrderReader, ReaderDep, SessionDep, SitesDep
from api.domain.errors import Forbidden
from api.domain.permissions import may_record_parts
from api.domain.transitions import Action
from api.routes.workorders import act, visible_order
from api.schemas.records import RecordAlarm, RecordOrder
from api.schemas.workorder import PartIn, PartUsed, ReasonIn, WorkOrderDetail
from api.workflows import parts, records
from api.workflows.lifecycle import Change

router = APIRouter(prefix="/workorders", tags=["work orders"])


@router.post("/{order_id}/reject")
def reject(
    user: CurrentUser,
    order_id: str,
    body: ReasonIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    """The assigned technician declines a dispatched order, with a reason: it goes back to
    the dispatch queue unassigned and the duty room is told. Its dispatch clock keeps
    running from the report."""
    return act(user, order_id, Action.REJECT, Change(note=body.reason), session, sites, clock)


@router.post("/{order_id}/hand-back")
def hand_back(
    user: CurrentUser,
    order_id: str,
    body: ReasonIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    """After accepting and before completing, the technician returns the order to the duty
    room for re-dispatch, with a reason (as `reject`)."""
    change = Change(note=body.reason)
    return act(user, order_id, Action.HAND_BACK, change, session, sites, clock)


HISTORY_DAYS = 90
HISTORY_ROWS = 10


@router.post("/{order_id}/parts", status_code=status.HTTP_201_CREATED)
def record_part(
    user: CurrentUser,
    order_id: str,
    body: PartIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> PartUsed:
    """Record a part used (name, quantity > 0, unit, optional note) while the order is
    accepted or on site; it shows in the order, its log and the printable sheet."""
    if not may_record_parts(user.role):
        raise Forbidden(
            f"a {user.role} may not record parts used",
            field="role",
            detail_zh="无权登记维修配件",
        )
    order = visible_order(session, order_id, user, lock=True)
    entry = parts.record_part(
        session, order=order, part=body, by=user.username, at=clock.now(), sites=sites
    )
    return PartUsed.model_validate(entry)


class DeviceHistory(BaseModel):
    device: str | None
    alarms: list[RecordAlarm]
    """The device's recent alarms, newest first."""
    orders: list[RecordOrder]
    """The device's other recent orders, newest first."""


@router.get("/{order_id}/device-history")
def device_history(
    user: OrderReader,
    order_id: str,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    days: Annotated[int, Query(ge=1, le=365)] = HISTORY_DAYS,
) -> DeviceHistory:
    """The order's device's alarms and other orders of the last `days` (at most ten of
    each, newest first); empty for an order of no device."""
    order = visible_order(session, order_id, user)
    if order.device is None:
        return DeviceHistory(device=None, alarms=[], orders=[])
    now = clock.now()
    found = records.device_record(
        session, site=order.site, device=order.device, since=now - timedelta(days=days),
        until=now, now=now, sites=sites, log_days=None,
    )  # fmt: skip
    alarms = sorted(found.alarms, key=lambda a: a.raised_at, reverse=True)
    others = [o for o in found.repairs + found.maintenance if o.id != order.id]
    others.sort(key=lambda o: o.reported_at, reverse=True)
    return DeviceHistory(
        device=order.device, alarms=alarms[:HISTORY_ROWS], orders=others[:HISTORY_ROWS]
    )
