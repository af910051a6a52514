"""Users: who signs in, with which role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import (
    ClockDep,
    CurrentUser,
    ReaderDep,
    RuntimeDep,
    SessionDep,
    SitesDep,
    UserAdmin,
    UserReader,
)
from api.domain.errors import Forbidden
from api.domain.permissions import Role, may_take
from api.domain.transitions import Action
from api.schemas.user import DutyIn, TechnicianPublic, UserCreate, UserPublic, UserUpdate
from api.store import users
from api.workflows import roster as roster_flows
from api.workflows import users as user_flows
from estatewatch.contracts.payloads import Trade

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me")
def me(user: CurrentUser, session: ReaderDep) -> UserPublic:
    return UserPublic.model_validate(users.require(session, username=user.username))


@router.put("/me/duty")
def set_duty(user: CurrentUser, body: DutyIn, session: SessionDep) -> UserPublic:
    """A technician clocks on or off duty."""
    if user.role is not Role.TECHNICIAN:
        raise Forbidden(f"a {user.role} has no dispatch duty", field="on_duty")
    account = users.require(session, username=user.username)
    account.on_duty = body.on_duty
    session.flush()
    return UserPublic.model_validate(account)


@router.get("/technicians")
def technicians(
    user: CurrentUser,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    trade: Trade | None = None,
    on_duty: Annotated[bool | None, Query(description="true: only those on duty")] = None,
    site: Annotated[
        str | None, Query(description="mark and list first who the site's roster has on shift")
    ] = None,
) -> list[TechnicianPublic]:
    """Whom to dispatch to: active technicians, on duty first, then the least busy (open
    orders: dispatched, accepted, on site); with `site`, those its duty roster has on a
    shift now come first. For those who dispatch."""
    if not may_take(user.role, Action.DISPATCH):
        raise Forbidden(f"a {user.role} does not dispatch")
    rostered = None
    if site is not None:
        rostered = roster_flows.rostered_technicians(
            session, site=site, at=clock.now(), sites=sites
        )
    return user_flows.technicians(
        session, trade=trade, on_duty=on_duty, rostered=rostered, scope=user.scope
    )


@router.get("")
def list_users(user: UserReader, session: ReaderDep, role: Role | None = None) -> list[UserPublic]:
    return [
        UserPublic.model_validate(u)
        for u in users.list_users(session, role=role)
        if user_flows.visible(u, user.scope)
    ]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(
    admin: UserAdmin, data: UserCreate, session: SessionDep, runtime: RuntimeDep, clock: ClockDep
) -> UserPublic:
    user = user_flows.create(
        session,
        data=data,
        cost=runtime.settings.password_cost,
        now=clock.now(),
        known_sites=runtime.sites.ids,
        by=admin.scope,
    )
    return UserPublic.model_validate(user)


@router.patch("/{username}")
def update_user(
    admin: UserAdmin, username: str, data: UserUpdate, session: SessionDep, runtime: RuntimeDep
) -> UserPublic:
    user = users.require(session, username=username)
    user_flows.update(
        session,
        user=user,
        data=data,
        cost=runtime.settings.password_cost,
        known_sites=runtime.sites.ids,
        by=admin.scope,
    )
    return UserPublic.model_validate(user)
