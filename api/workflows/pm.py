"""Completing a preventive maintenance order: every checklist item answered, the
technician's signature, and a work order for each failed item (on the same device, naming
the PM order)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.domain.errors import InvalidInput
from api.models import WorkOrder
from api.schemas.pm import ChecklistAnswer, SignatureIn
from api.sites import Sites
from api.store.workorders import new_order
from api.workflows.workorders import open_once
from estatewatch.contracts.payloads import (
    Trade,
    Urgency,
    WorkOrderSource,
    stable_id,
)

FAILED_ITEM_CATEGORY = "maintenance_finding"


def is_pm(order: WorkOrder) -> bool:
    """A PM order (opened by a plan)."""
    return order.source == WorkOrderSource.MAINTENANCE


def check_completion(
    order: WorkOrder, answers: tuple[ChecklistAnswer, ...], signature: SignatureIn | None
) -> None:
    """A PM order is completed with its checklist answered, item by item, and signed."""
    if not is_pm(order):
        return
    if signature is None:
        raise InvalidInput(
            "a preventive maintenance order is completed with the technician's signature",
            field="signature",
            detail_zh="保养工单完成须由维修技师签名",
        )
    expected = [entry["item"] for entry in order.checklist or []]
    given = [answer.item for answer in answers]
    if sorted(given) != sorted(expected):
        missing = [item for item in expected if item not in given]
        extra = [item for item in given if item not in expected]
        raise InvalidInput(
            f"answer every checklist item once: missing {missing}, not on the list {extra}",
            field="checklist",
            detail_zh=f"须逐项填写保养检查表：缺 {missing}，多 {extra}",
        )


def stamp(
    order: WorkOrder,
    answers: tuple[ChecklistAnswer, ...],
    signature: SignatureIn | None,
    *,
    by: str,
    now: datetime,
) -> None:
    """Keep the answers and the signature on the completed order."""
    if not is_pm(order) or signature is None:
        return
    by_item = {answer.item: answer for answer in answers}
    order.checklist = [
        {"item": item, "ok": by_item[item].ok, "note": by_item[item].note}
        for item in (entry["item"] for entry in order.checklist or [])
    ]
    order.signature = {
        "name": signature.name,
        "by": by,
        "at": now.isoformat(),
        "image": signature.image,
        "typed": signature.image is None,
    }


def open_failed_items(
    session: Session, order: WorkOrder, *, now: datetime, sites: Sites
) -> list[str]:
    """A work order for each failed item, once (its id is stable), on the PM order's device:
    a finding of the check, so it runs on a repair's clocks (dispatch within 30 minutes)."""
    opened: list[str] = []
    for entry in order.checklist or []:
        if entry.get("ok") is not False:
            continue
        failed = new_order(
            id=stable_id("workorder", "pm-item", order.id, entry["item"]),
            site=order.site,
            source=WorkOrderSource.FINDING,  # a repair the check found, on the usual clocks
            category=FAILED_ITEM_CATEGORY,
            title=f"{entry['item']}: {order.title}"[:256],
            description=entry.get("note") or "",
            trade=Trade(order.trade),
            department=order.department,
            urgency=Urgency.GENERAL,
            building=order.building,
            device=order.device,
            location=order.location,
            reported_at=now,
            created_at=now,
            created_by=order.assignee or "maintenance",
        )
        failed.parent_order_id = order.id
        result = open_once(session, failed, sites=sites)
        opened.append(result.order.id)
    return opened
