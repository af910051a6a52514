"""Work orders: the queue, owners' reports, and each step of the lifecycle.

A technician sees only orders assigned to them (others answer 404, as if absent) and takes
only the technician's steps on them; see `api.domain.permissions`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import HTMLResponse
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from api.deps import (
    ClockDep,
    CurrentUser,
    LangQuery,
    OrderAnswerer,
    OrderCommenter,
    OrderCreator,
    OrderReader,
    ReaderDep,
    SessionDep,
    SitesDep,
    SlaRunner,
)
from api.domain.errors import Forbidden, InvalidInput, NotFound
from api.domain.permissions import Principal, can_see_order, may_take, sees_only_own_orders
from api.domain.transitions import Action
from api.models import WorkOrder
from api.routes.alarms import CURSOR_HELP, JSON, NEXT_CURSOR
from api.routes.photos import Store as PhotoStoreDep
from api.schemas.workorder import (
    AcceptIn,
    CloseIn,
    CompleteIn,
    DispatchIn,
    NoteIn,
    ProgressIn,
    ReasonIn,
    ReopenIn,
    VerifyIn,
    WorkOrderCreate,
    WorkOrderDetail,
    WorkOrderLogPublic,
    WorkOrderPublic,
    WorkOrderUpdate,
)
from api.schemas.workorder import CommentIn as OrderCommentIn
from api.sites import Sites
from api.store import workorders
from api.web.printable import maintenance_html
from api.workflows import lifecycle
from api.workflows import sla as sla_clocks
from api.workflows import workorders as order_flows
from api.workflows.lifecycle import Change
from api.workflows.order_events import last_return, queue_public, to_public
from estatewatch.clock import Clock
from estatewatch.contracts.payloads import Urgency, WorkOrderState

router = APIRouter(prefix="/workorders", tags=["work orders"])


def visible_order(
    session: Session, order_id: str, user: Principal, *, lock: bool = False
) -> WorkOrder:
    order = workorders.get(session, order_id=order_id, for_update=lock)
    if not can_see_order(user.role, user.username, order.assignee):
        raise NotFound(f"no work order {order_id!r}", field="order_id")
    return order


def _detail(session: Session, order: WorkOrder, sites: Sites, user: Principal) -> WorkOrderDetail:
    public = to_public(order, sites, user.role)
    entries = workorders.log_of(session, order_id=order.id)
    public.last_return = last_return(order.state, entries)
    log = [WorkOrderLogPublic.model_validate(e) for e in entries]
    return WorkOrderDetail(**public.model_dump(), log=log)


_ORDERS = TypeAdapter(list[WorkOrderPublic])


@router.get("", response_model=list[WorkOrderPublic])
def list_orders(
    user: OrderReader,
    session: ReaderDep,
    sites: SitesDep,
    site: str | None = None,
    state: Annotated[list[WorkOrderState] | None, Query()] = None,
    open: Annotated[bool, Query(description="only orders still needing someone")] = False,
    assignee: str | None = None,
    urgency: Urgency | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    cursor: Annotated[str | None, Query(max_length=2000, description=CURSOR_HELP)] = None,
) -> Response:
    """Urgent first, then the longest waiting. A full page carries the next page's cursor
    in the `X-Next-Cursor` header."""
    if sees_only_own_orders(user.role):
        assignee = user.username
    page = workorders.queue_page(
        session,
        site=site,
        sites=user.scope.sites,
        states=state,
        open_only=open,
        assignee=assignee,
        urgency=urgency,
        limit=limit,
        offset=offset,
        cursor=cursor,
    )
    public = _ORDERS.validate_python(queue_public(page, sites, user.role))
    headers = {NEXT_CURSOR: page.following} if page.following is not None else None
    return Response(_ORDERS.dump_json(public), media_type=JSON, headers=headers)


@router.post("", status_code=status.HTTP_201_CREATED)
def create(
    user: OrderCreator,
    data: WorkOrderCreate,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
    photos: PhotoStoreDep,
) -> WorkOrderDetail:
    """Log an owner's report or complaint (customer service), with the owner's photos
    uploaded first (`photo_refs`)."""
    for i, ref in enumerate(data.photo_refs):
        if photos.find(ref) is None:
            raise InvalidInput(
                f"no photo {ref!r}: upload it first (PUT /photos/{ref})",
                field=f"photo_refs.{i}",
                detail_zh=f"第 {i + 1} 张照片未上传成功，请重新上传",
            )
    order = order_flows.open_by_hand(
        session, data=data, by=user.username, now=clock.now(), sites=sites
    )
    return _detail(session, order, sites, user)


@router.get("/{order_id}")
def detail(
    user: OrderReader, order_id: str, session: ReaderDep, sites: SitesDep
) -> WorkOrderDetail:
    return _detail(session, visible_order(session, order_id, user), sites, user)


@router.patch("/{order_id}")
def update(
    user: OrderCreator,
    order_id: str,
    data: WorkOrderUpdate,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    order = visible_order(session, order_id, user, lock=True)
    order_flows.update(session, order=order, data=data, user=user, now=clock.now(), sites=sites)
    return _detail(session, order, sites, user)


@router.post("/{order_id}/comments", status_code=status.HTTP_201_CREATED)
def comment(
    user: OrderCommenter,
    order_id: str,
    body: OrderCommentIn,
    session: SessionDep,
    clock: ClockDep,
    sites: SitesDep,
) -> WorkOrderLogPublic:
    order = visible_order(session, order_id, user, lock=True)
    entry = order_flows.comment(
        session,
        order=order,
        user=user,
        at=clock.now(),
        text=body.text,
        to_requester=body.to_requester,
        sites=sites,
    )
    return WorkOrderLogPublic.model_validate(entry)


def act(
    user: Principal,
    order_id: str,
    action: Action,
    change: Change,
    session: Session,
    sites: Sites,
    clock: Clock,
) -> WorkOrderDetail:
    if not may_take(user.role, action):
        raise Forbidden(f"a {user.role} may not {action} a work order", field="action")
    order = visible_order(session, order_id, user, lock=True)
    lifecycle.transition(
        session,
        order=order,
        action=action,
        change=change,
        by=user.username,
        now=clock.now(),
        sites=sites,
    )
    return _detail(session, order, sites, user)


@router.post("/{order_id}/dispatch")
def dispatch(
    user: CurrentUser,
    order_id: str,
    body: DispatchIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    """Assign a technician, with contact and ETA (also re-assigns a dispatched order)."""
    change = Change(note=body.note, assignee=body.assignee, contact=body.contact, eta=body.eta)
    return act(user, order_id, Action.DISPATCH, change, session, sites, clock)


@router.post("/{order_id}/accept")
def accept(
    user: CurrentUser,
    order_id: str,
    body: AcceptIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    """Accept, with the expected completion (`done_by`): the clock until done starts."""
    change = Change(note=body.note, done_by=body.done_by)
    return act(user, order_id, Action.ACCEPT, change, session, sites, clock)


@router.post("/{order_id}/progress")
def progress(
    user: OrderAnswerer,
    order_id: str,
    body: ProgressIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    """Tell the requester why the order is still open and by when it will be done (owed
    every 24 h while a general order is open); restarts the progress clock."""
    order = visible_order(session, order_id, user, lock=True)
    order_flows.answer_progress(
        session,
        order=order,
        user=user,
        why_open=body.why_open,
        done_by=body.done_by,
        now=clock.now(),
        sites=sites,
    )
    return _detail(session, order, sites, user)


@router.post("/{order_id}/arrive")
def arrive(
    user: CurrentUser,
    order_id: str,
    body: NoteIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    return act(user, order_id, Action.ARRIVE, Change(note=body.note), session, sites, clock)


@router.post("/{order_id}/complete")
def complete(
    user: CurrentUser,
    order_id: str,
    body: CompleteIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    change = Change(
        note=body.note,
        result=body.result,
        parts=tuple(body.parts),
        photo_refs=tuple(body.photo_refs),
        override_reason=body.override_reason,
        checklist=tuple(body.checklist),
        signature=body.signature,
    )
    return act(user, order_id, Action.COMPLETE, change, session, sites, clock)


@router.post("/{order_id}/verify")
def verify(
    user: CurrentUser,
    order_id: str,
    body: VerifyIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    """The callback (回访): the requester or duty engineer confirmed the repair."""
    change = Change(note=body.note, callback_note=body.callback_note)
    return act(user, order_id, Action.VERIFY, change, session, sites, clock)


@router.post("/{order_id}/close")
def close(
    user: CurrentUser,
    order_id: str,
    body: CloseIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    """Close; while the order's alarm is still active only with an `override_reason`."""
    change = Change(note=body.note, override_reason=body.override_reason)
    return act(user, order_id, Action.CLOSE, change, session, sites, clock)


@router.post("/{order_id}/cancel")
def cancel(
    user: CurrentUser,
    order_id: str,
    body: ReasonIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    return act(user, order_id, Action.CANCEL, Change(note=body.reason), session, sites, clock)


@router.post("/{order_id}/reopen")
def reopen(
    user: CurrentUser,
    order_id: str,
    body: ReopenIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> WorkOrderDetail:
    """Not fixed: re-dispatch and raise the escalation level by one."""
    change = Change(note=body.reason, assignee=body.assignee, contact=body.contact, eta=body.eta)
    return act(user, order_id, Action.REOPEN, change, session, sites, clock)


@router.post("/sla-check", tags=["sla"])
def sla_check(
    user: SlaRunner, session: SessionDep, sites: SitesDep, clock: ClockDep
) -> dict[str, int]:
    """Run the SLA checker now (it also runs every `sla_check_interval`)."""
    user.scope.require_group("the SLA check")
    return {"flagged": sla_clocks.check_clocks(session, now=clock.now(), sites=sites)}


@router.get("/{order_id}/maintenance.html", response_class=HTMLResponse)
def maintenance_sheet(
    user: CurrentUser,
    order_id: str,
    session: ReaderDep,
    sites: SitesDep,
    lang: LangQuery = "zh-CN",
) -> HTMLResponse:
    """A preventive maintenance order to print: the checklist as answered and the
    technician's signature (for the equipment record)."""
    public = to_public(visible_order(session, order_id, user), sites, user.role)
    config = sites.config(public.site)
    name = config.site.name if config else public.site
    return HTMLResponse(
        maintenance_html(public, lang=lang, tz=sites.tz(public.site), site_name=name),
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:"
        },
    )
