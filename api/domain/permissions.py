"""Who may do what: roles, permissions and the work-order actions each role may take.

Object-level rules sit on top: a technician sees and changes only orders assigned to them
(`can_see_order`), and takes only the technician's actions on them.
"""

from __future__ import annotations

from enum import StrEnum

from api.domain.scope import EVERY_ESTATE, EstateScope
from api.domain.transitions import Action


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    DUTY_ENGINEER = "duty_engineer"
    TECHNICIAN = "technician"
    GUARD = "guard"
    CUSTOMER_SERVICE = "customer_service"


class Permission(StrEnum):
    ALARM_READ = "alarm:read"
    ALARM_ACK = "alarm:ack"
    ALARM_COMMENT = "alarm:comment"
    ORDER_READ = "order:read"
    ORDER_CREATE = "order:create"
    ORDER_COMMENT = "order:comment"
    ORDER_ANSWER = "order:answer"
    DEVICE_READ = "device:read"
    READINGS_READ = "readings:read"
    """A device's stored values: latest, history, the equipment operation log."""
    STREAM_READ = "stream:read"
    PATROL_SUBMIT = "patrol:submit"
    PATROL_READ = "patrol:read"
    REPORT_READ = "report:read"
    USER_READ = "user:read"
    USER_ADMIN = "user:admin"
    SLA_RUN = "sla:run"
    PLAN_READ = "plan:read"
    PLAN_ADMIN = "plan:admin"
    NOTIFY_READ = "notify:read"
    """The notification log, the on-call rota, delivery counts."""
    INCIDENT_READ = "incident:read"
    INCIDENT_RUN = "incident:run"
    """Open an incident, check off steps, add notes, close it."""
    INCIDENT_REVIEW = "incident:review"
    QUALITY = "quality"
    """Draw the weekly sample, record callbacks, read the quality report."""
    HANDOVER_SIGN = "handover:sign"
    """File the shift handover (交接班) as the outgoing duty engineer, or sign it as the
    incoming one. Reading handovers, fault analysis and equipment records is REPORT_READ."""


P = Permission
_WATCH = {
    P.ALARM_READ,
    P.DEVICE_READ,
    P.READINGS_READ,
    P.STREAM_READ,
    P.PATROL_READ,
    P.REPORT_READ,
    P.PLAN_READ,
    P.NOTIFY_READ,
    P.INCIDENT_READ,
}
_ORDERS = {P.ORDER_READ, P.ORDER_CREATE, P.ORDER_COMMENT, P.ORDER_ANSWER}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.SUPERVISOR: frozenset(
        _WATCH
        | _ORDERS
        | {P.ALARM_ACK, P.ALARM_COMMENT, P.USER_READ, P.SLA_RUN, P.PLAN_ADMIN}
        | {P.INCIDENT_RUN, P.INCIDENT_REVIEW, P.QUALITY}
    ),
    Role.DUTY_ENGINEER: frozenset(
        _WATCH | _ORDERS | {P.ALARM_ACK, P.ALARM_COMMENT, P.INCIDENT_RUN, P.HANDOVER_SIGN}
    ),
    # A technician reads the equipment's values and log to diagnose what they repair.
    Role.TECHNICIAN: frozenset({P.ORDER_READ, P.ORDER_COMMENT, P.READINGS_READ}),
    Role.GUARD: frozenset({P.PATROL_SUBMIT}),
    Role.CUSTOMER_SERVICE: frozenset({P.ALARM_READ} | _ORDERS),
}

_ALL_ACTIONS = frozenset(Action)
ACTION_ROLES: dict[Role, frozenset[Action]] = {
    Role.ADMIN: _ALL_ACTIONS,
    Role.SUPERVISOR: _ALL_ACTIONS,
    Role.DUTY_ENGINEER: _ALL_ACTIONS,
    # The assigned technician may also decline an order or hand it back, with a reason.
    Role.TECHNICIAN: frozenset(
        {Action.ACCEPT, Action.ARRIVE, Action.COMPLETE, Action.REJECT, Action.HAND_BACK}
    ),
    Role.GUARD: frozenset(),
    # Customer service makes the callback (回访) and acts on its outcome.
    Role.CUSTOMER_SERVICE: frozenset({Action.VERIFY, Action.CLOSE, Action.REOPEN, Action.CANCEL}),
}


_PARTS_ROLES = frozenset({Role.TECHNICIAN, Role.DUTY_ENGINEER, Role.SUPERVISOR, Role.ADMIN})


def may_record_parts(role: Role) -> bool:
    """The technician doing the work records the parts used; the duty room may correct."""
    return role in _PARTS_ROLES


def has(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def may_take(role: Role, action: Action) -> bool:
    return action in ACTION_ROLES[role]


def may_lower_urgency(role: Role, *, reason: str | None) -> bool:
    """Lowering an urgent order (its 15-minute clock stops) needs a supervisor, or the duty
    engineer giving a reason; nobody else."""
    if role in (Role.ADMIN, Role.SUPERVISOR):
        return True
    return role is Role.DUTY_ENGINEER and bool(reason)


def sees_only_own_orders(role: Role) -> bool:
    return role is Role.TECHNICIAN


def can_see_order(role: Role, username: str, assignee: str | None) -> bool:
    return not sees_only_own_orders(role) or assignee == username


class Principal:
    """The signed-in user a request acts for."""

    __slots__ = ("guard_id", "role", "scope", "username")

    def __init__(
        self,
        username: str,
        role: Role,
        guard_id: str | None = None,
        scope: EstateScope = EVERY_ESTATE,
    ) -> None:
        self.username = username
        self.role = role
        self.guard_id = guard_id
        self.scope = scope

    def __repr__(self) -> str:
        return f"Principal({self.username!r}, {self.role})"
