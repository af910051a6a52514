"""Dependencies of the routes, as `Annotated` aliases (`SessionDep`, `CurrentUser`, ...)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session

from api.domain.errors import Forbidden, NotAuthenticated
from api.domain.permissions import Permission, Principal, Role, has
from api.domain.scope import EstateScope
from api.models import User
from api.runtime import Runtime
from api.security import read_token
from api.sites import Sites
from estatewatch.clock import Clock
from estatewatch.config.names import Lang


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_sites(runtime: RuntimeDep) -> Sites:
    return runtime.sites


def get_clock(runtime: RuntimeDep) -> Clock:
    return runtime.clock


SitesDep = Annotated[Sites, Depends(get_sites)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def _write_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.db.write() as session:
        yield session


def _read_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.db.read() as session:
        yield session


# scope="function": the transaction commits when the route returns, before the response is
# sent, so a client never sees success for a change that then fails to commit.
SessionDep = Annotated[Session, Depends(_write_session, scope="function")]
ReaderDep = Annotated[Session, Depends(_read_session, scope="function")]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="auth/token", auto_error=False)


def _principal(runtime: Runtime, token: str | None) -> Principal:
    if token is None:
        raise NotAuthenticated("sign in first: no bearer token")
    claims = read_token(token, secret=runtime.secret, now=runtime.clock.now())
    with runtime.db.read() as session:
        user = session.get(User, claims.username)
        if user is None or not user.active:
            raise NotAuthenticated("this account is disabled or gone")
        return Principal(user.username, Role(user.role), user.guard_id, EstateScope(user.estates))


def current_principal(request: Request) -> Principal:
    """The request's user, read once per request (the estate guard and the route share it)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is None:
        scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
        bearer = token if scheme.lower() == "bearer" and token else None
        known = _principal(get_runtime(request), bearer)
        request.state.principal = known
    return known


def get_current_user(
    request: Request, runtime: RuntimeDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    """The user of the bearer token, re-read each request: a deactivated user or a changed
    role takes effect at once, not when the token expires."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is None:
        known = _principal(runtime, token)
        request.state.principal = known
    return known


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def require(permission: Permission) -> Any:
    """`user: Annotated[Principal, require(Permission.X)]`: signed in and allowed X."""

    def check(user: CurrentUser) -> Principal:
        if not has(user.role, permission):
            raise Forbidden(f"a {user.role} may not {permission}")
        return user

    check.__name__ = f"require_{permission.name.lower()}"
    return Depends(check)


AlarmReader = Annotated[Principal, require(Permission.ALARM_READ)]
AlarmAcker = Annotated[Principal, require(Permission.ALARM_ACK)]
AlarmCommenter = Annotated[Principal, require(Permission.ALARM_COMMENT)]
OrderReader = Annotated[Principal, require(Permission.ORDER_READ)]
OrderCreator = Annotated[Principal, require(Permission.ORDER_CREATE)]
OrderCommenter = Annotated[Principal, require(Permission.ORDER_COMMENT)]
OrderAnswerer = Annotated[Principal, require(Permission.ORDER_ANSWER)]
DeviceReader = Annotated[Principal, require(Permission.DEVICE_READ)]
ReadingsReader = Annotated[Principal, require(Permission.READINGS_READ)]
StreamReader = Annotated[Principal, require(Permission.STREAM_READ)]
PatrolSubmitter = Annotated[Principal, require(Permission.PATROL_SUBMIT)]
PatrolReader = Annotated[Principal, require(Permission.PATROL_READ)]
ReportReader = Annotated[Principal, require(Permission.REPORT_READ)]
UserReader = Annotated[Principal, require(Permission.USER_READ)]
UserAdmin = Annotated[Principal, require(Permission.USER_ADMIN)]
SlaRunner = Annotated[Principal, require(Permission.SLA_RUN)]
PlanReader = Annotated[Principal, require(Permission.PLAN_READ)]
PlanAdmin = Annotated[Principal, require(Permission.PLAN_ADMIN)]
NotifyReader = Annotated[Principal, require(Permission.NOTIFY_READ)]
IncidentReader = Annotated[Principal, require(Permission.INCIDENT_READ)]
IncidentRunner = Annotated[Principal, require(Permission.INCIDENT_RUN)]
IncidentReviewer = Annotated[Principal, require(Permission.INCIDENT_REVIEW)]
QualityStaff = Annotated[Principal, require(Permission.QUALITY)]
HandoverSigner = Annotated[Principal, require(Permission.HANDOVER_SIGN)]


LangQuery = Annotated[
    Lang,
    Query(
        description="the language of a document the server writes (CSV, printable HTML): "
        "zh-CN or en. JSON carries both languages (`title`/`title_zh`, `name_en`/`name_zh`)"
    ),
]
