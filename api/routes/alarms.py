"""The alarm board, an alarm's history, acknowledging and commenting."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from api.deps import AlarmAcker, AlarmCommenter, AlarmReader, ClockDep, ReaderDep, SessionDep
from api.domain.alarms import AlarmState
from api.schemas.alarm import (
    AcknowledgeIn,
    AlarmActionPublic,
    AlarmDetail,
    AlarmEventPublic,
    AlarmPublic,
    CommentIn,
)
from api.store import alarms
from api.workflows import alarms as alarm_flows
from estatewatch.contracts.payloads import Severity

router = APIRouter(prefix="/alarms", tags=["alarms"])
NEXT_CURSOR = "X-Next-Cursor"
JSON = "application/json"
CURSOR_HELP = "the previous page's X-Next-Cursor: the page after it (faster than offset)"


@router.get("", response_model=list[AlarmPublic])
def board(
    user: AlarmReader,
    session: ReaderDep,
    site: Annotated[list[str] | None, Query()] = None,
    building: Annotated[list[str] | None, Query()] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    state: Annotated[list[AlarmState] | None, Query(description="default: not closed")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="a screenful by default")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    cursor: Annotated[str | None, Query(max_length=2000, description=CURSOR_HELP)] = None,
    children: Annotated[
        bool, Query(description="also the alarms a root alarm explains (shown under it)")
    ] = False,
) -> Response:
    """Open alarms, most severe first, then the longest waiting. A full page carries the
    next page's cursor in the `X-Next-Cursor` header."""
    rows, following = alarm_flows.board(
        session,
        sites=user.scope.narrow(site),
        buildings=building,
        severities=severity,
        states=state,
        limit=limit,
        offset=offset,
        cursor=cursor,
        children=children,
    )
    # Built from the rows and serialised once: the wall screen asks for this all day.
    headers = {NEXT_CURSOR: following} if following is not None else None
    return Response(alarm_flows.BOARD_PAGE.dump_json(rows), media_type=JSON, headers=headers)


def _detail(session: Session, alarm_id: str) -> AlarmDetail:
    alarm = alarms.get(session, alarm_id=alarm_id)
    public = alarm_flows.to_public(alarm, alarms.work_order_of(session, alarm_id=alarm_id))
    return AlarmDetail(
        **public.model_dump(),
        history=[
            AlarmEventPublic.model_validate(e) for e in alarms.history(session, alarm_id=alarm_id)
        ],
        actions=[
            AlarmActionPublic.model_validate(a) for a in alarms.actions(session, alarm_id=alarm_id)
        ],
        children=_children(session, alarm_id),
    )


def _children(session: Session, alarm_id: str) -> list[AlarmPublic]:
    return [
        alarm_flows.to_public(child, alarms.work_order_of(session, alarm_id=child.alarm_id))
        for child in alarms.children_of(session, alarm_id=alarm_id)
    ]


@router.get("/{alarm_id}")
def detail(_: AlarmReader, alarm_id: str, session: ReaderDep) -> AlarmDetail:
    return _detail(session, alarm_id)


@router.get("/{alarm_id}/children")
def children(_: AlarmReader, alarm_id: str, session: ReaderDep) -> list[AlarmPublic]:
    """The alarms a root alarm explains: stored, with their own state, but no work order or
    notification of their own while the root is active (docs/rules.md, "Root cause")."""
    alarms.get(session, alarm_id=alarm_id)
    return _children(session, alarm_id)


@router.post("/{alarm_id}/acknowledge", status_code=status.HTTP_202_ACCEPTED)
def acknowledge(
    user: AlarmAcker, alarm_id: str, body: AcknowledgeIn, session: SessionDep, clock: ClockDep
) -> AlarmDetail:
    """Accepted: the rules engine is told (AlarmCommand); its `acknowledged` event follows."""
    alarm = alarms.get(session, alarm_id=alarm_id, for_update=True)
    alarm_flows.acknowledge(session, alarm=alarm, by=user.username, note=body.note, now=clock.now())
    return _detail(session, alarm_id)


@router.post("/{alarm_id}/comments", status_code=status.HTTP_201_CREATED)
def comment(
    user: AlarmCommenter, alarm_id: str, body: CommentIn, session: SessionDep, clock: ClockDep
) -> AlarmActionPublic:
    alarm = alarms.get(session, alarm_id=alarm_id)
    action = alarms.comment(session, alarm=alarm, by=user.username, text=body.text, now=clock.now())
    return AlarmActionPublic.model_validate(action)
