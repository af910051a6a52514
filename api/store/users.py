"""Users."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.errors import NotFound
from api.domain.permissions import Role
from api.models import User, WorkOrder
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


def add(session: Session, user: User) -> User:
    session.add(user)
    session.flush()
    return user


def technicians(
    session: Session, *, trade: str | None = None, on_duty: bool | None = None
) -> list[tuple[User, int]]:
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
    return [(user, int(n)) for user, n in rows]
