"""Users: who signs in, with which role."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import ClockDep, CurrentUser, ReaderDep, RuntimeDep, SessionDep, UserAdmin, UserReader
from api.schemas.user import UserCreate, UserPublic, UserUpdate
from api.services.permissions import Role
from api.store import users

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me")
def me(user: CurrentUser, session: ReaderDep) -> UserPublic:
    return UserPublic.model_validate(users.require(session, username=user.username))


@router.get("")
def list_users(_: UserReader, session: ReaderDep, role: Role | None = None) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in users.list_users(session, role=role)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(
    _: UserAdmin, data: UserCreate, session: SessionDep, runtime: RuntimeDep, clock: ClockDep
) -> UserPublic:
    user = users.create(session, data=data, cost=runtime.settings.password_cost, now=clock.now())
    return UserPublic.model_validate(user)


@router.patch("/{username}")
def update_user(
    _: UserAdmin, username: str, data: UserUpdate, session: SessionDep, runtime: RuntimeDep
) -> UserPublic:
    user = users.require(session, username=username)
    users.update(session, user=user, data=data, cost=runtime.settings.password_cost)
    return UserPublic.model_validate(user)
