"""Users: created and changed by an administrator; the technicians a dispatcher picks from."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.orm import Session

from api.domain.errors import Conflict, InvalidInput
from api.domain.permissions import Role
from api.domain.scope import EVERY_ESTATE, EstateScope
from api.models import User
from api.schemas.user import TechnicianPublic, UserCreate, UserUpdate
from api.security import hash_password
from api.store import users as user_store


def _check_guard(role: Role, guard_id: str | None) -> None:
    if role is Role.GUARD and guard_id is None:
        raise InvalidInput("a guard needs the guard_id of the site config", field="guard_id")


def _check_estates(
    estates: list[str], *, known: Collection[str] | None, by: EstateScope
) -> list[str]:
    """The estates as given, each a loaded site and within the granting admin's own scope
    (a site outside it is named as unknown: it does not exist for them); an admin of some
    estates cannot make a user of every estate."""
    for site in estates:
        if (known is not None and site not in known) or not by.covers(site):
            raise InvalidInput(
                f"no site {site!r}: estates must be loaded site ids", field="estates"
            )
    if not estates and not by.everything:
        raise InvalidInput("name the user's estates: yours are limited", field="estates")
    return list(dict.fromkeys(estates))


def visible(user: User, scope: EstateScope) -> bool:
    """A user is seen by a scoped admin when they share an estate; a group user (every
    estate) only by group staff."""
    if scope.everything:
        return True
    return bool(user.estates) and any(scope.covers(s) for s in user.estates)


def create(
    session: Session,
    *,
    data: UserCreate,
    cost: int,
    now: datetime,
    known_sites: Collection[str] | None = None,
    by: EstateScope = EVERY_ESTATE,
) -> User:
    """`known_sites` None skips the check of `estates` against loaded sites (the CLI
    without site files)."""
    estates = _check_estates(data.estates, known=known_sites, by=by)
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
        estates=estates,
    )
    return user_store.add(session, user)


def update(
    session: Session,
    *,
    user: User,
    data: UserUpdate,
    cost: int,
    known_sites: Collection[str] | None = None,
    by: EstateScope = EVERY_ESTATE,
) -> User:
    changes = data.model_dump(exclude_unset=True)
    if "estates" in changes:
        changes["estates"] = _check_estates(changes["estates"], known=known_sites, by=by)
    demoted = changes.get("role", user.role) != Role.ADMIN or changes.get("active") is False
    if user.role == Role.ADMIN and user.active and demoted:
        _keep_an_admin(session, user)
    password = changes.pop("password", None)
    for key, value in changes.items():
        setattr(user, key, value)
    _check_guard(Role(user.role), user.guard_id)
    if password is not None:
        user.password_hash = hash_password(password, cost=cost)
    session.flush()
    return user


def _keep_an_admin(session: Session, user: User) -> None:
    """The estate must keep an active admin: otherwise nobody could manage users again."""
    others = [
        u
        for u in user_store.list_users(session, role=Role.ADMIN)
        if u.active and u.username != user.username
    ]
    if not others:
        raise Conflict(
            f"{user.username!r} is the last active admin: make another user admin first",
            field="role",
        )


def technicians(
    session: Session,
    *,
    trade: str | None = None,
    on_duty: bool | None = None,
    scope: EstateScope = EVERY_ESTATE,
    rostered: list[str] | None = None,
) -> list[TechnicianPublic]:
    """Active technicians with their count of open orders, the least busy first: those of
    the scope's estates and those who serve every estate; with a site's `rostered`
    technicians (on a shift now), those first, each marked."""
    found = [
        TechnicianPublic(
            username=user.username,
            full_name=user.full_name,
            contact=user.contact,
            trade=user.trade,
            on_duty=user.on_duty,
            open_orders=n,
            rostered=None if rostered is None else user.username in rostered,
        )
        for user, n in user_store.technicians(session, trade=trade, on_duty=on_duty)
        if not user.estates or visible(user, scope)
    ]
    if rostered is None:
        return found
    return sorted(found, key=lambda t: not t.rostered)  # stable: least busy first within
