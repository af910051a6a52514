"""Users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.errors import Conflict, InvalidInput, NotFound
from api.domain.permissions import Role
from api.models import User, WorkOrder
from api.schemas.user import TechnicianPublic, UserCreate, UserUpdate
from api.security import hash_password
from estatewatch.contracts.payloads import WorkOrderState

# Assigned and still the technician's to do: completed orders wait on the callback, not them.
BUSY_STATES = (WorkOrderState.DISPATCHED, WorkOrderState.ACCEPTED, WorkOrderState.ON_SITE)


def get(session: Session, *, username: str) -> User | None:
    return session.get(User, username)


def require(session: Session, *, username: str) -> User:
    user = session.get(User, username)
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    return user


def list_users(session: Session, *, role: Role | None = None) -> list[User]:
    query = select(User)
    if role is not None:
        query = query.where(User.role == role)
    return list(session.scalars(query.order_by(User.username)))


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def _check_guard(role: Role, guard_id: str | None) -> None:
    if role is Role.GUARD and guard_id is None:
        raise InvalidInput("a guard needs the guard_id of the site config", field="guard_id")


def create(session: Session, *, data: UserCreate, cost: int, now: datetime) -> User:
    if session.get(User, data.username) is not None:
        raise Conflict(f"user {data.username!r} exists", field="username")
    _check_guard(data.role, data.guard_id)
    user = User(
        username=data.username,
        full_name=data.full_name,
        role=data.role,
        contact=data.contact,
        guard_id=data.guard_id,
        password_hash=hash_password(data.password, cost=cost),
        active=True,
        created_at=now,
        trade=data.trade,
        on_duty=data.on_duty,
    )
    session.add(user)
    session.flush()
    return user


def update(session: Session, *, user: User, data: UserUpdate, cost: int) -> User:
    changes = data.model_dump(exclude_unset=True)
    columns = User.__table__.c
    for key in [k for k, v in changes.items() if v is None and k in columns]:
        if not columns[key].nullable:  # an explicit null of what must have a value: unchanged
            del changes[key]
    password = changes.pop("password", None)
    for key, value in changes.items():
        setattr(user, key, value)
    _check_guard(Role(user.role), user.guard_id)
    if password is not None:
        user.password_hash = hash_password(password, cost=cost)
    session.flush()
    return user


def technicians(
    session: Session, *, trade: str | None = None, on_duty: bool | None = None
) -> list[TechnicianPublic]:
    """Active technicians with their count of open orders, the least busy first: one query,
    whatever the number of technicians."""
    open_orders = (
        select(WorkOrder.assignee, func.count().label("n"))
        .where(WorkOrder.state.in_([str(s) for s in BUSY_STATES]))
        .group_by(WorkOrder.assignee)
        .subquery()
    )
    load = func.coalesce(open_orders.c.n, 0)
    query = (
        select(User, load)
        .outerjoin(open_orders, open_orders.c.assignee == User.username)
        .where(User.role == Role.TECHNICIAN, User.active.is_(True))
    )
    if trade is not None:
        query = query.where(User.trade == trade)
    if on_duty is not None:
        query = query.where(User.on_duty.is_(on_duty))
    rows = session.execute(query.order_by(User.on_duty.desc(), load, User.username)).all()
    return [
        TechnicianPublic(
            username=user.username,
            full_name=user.full_name,
            contact=user.contact,
            trade=user.trade,
            on_duty=user.on_duty,
            open_orders=int(n),
        )
        for user, n in rows
    ]
