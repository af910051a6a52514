"""The work-order lifecycle as a table: which action takes an order from which state to
which. Only these moves are legal; everything else is refused with the moves that are.

    new ─dispatch→ dispatched ─accept→ accepted ─arrive→ on_site ─complete→ completed
    completed ─verify→ verified ─close→ closed          (verify = the callback, 回访)
    completed | verified ─reopen→ dispatched            (not fixed: re-dispatch, escalate)
    dispatched ─dispatch→ dispatched                    (re-assign)
    new | dispatched | accepted ─cancel→ cancelled
    dispatched ─reject→ new                             (the technician declines, with a reason)
    accepted | on_site ─hand_back→ new                  (returned to the duty room to re-dispatch)
"""

from __future__ import annotations

from enum import StrEnum

from api.domain.errors import IllegalTransition
from estatewatch.contracts.payloads import WorkOrderEventType, WorkOrderState

S = WorkOrderState


class Action(StrEnum):
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    ARRIVE = "arrive"
    COMPLETE = "complete"
    VERIFY = "verify"
    CLOSE = "close"
    CANCEL = "cancel"
    REOPEN = "reopen"
    REJECT = "reject"
    HAND_BACK = "hand_back"


TRANSITIONS: dict[tuple[WorkOrderState, Action], WorkOrderState] = {
    (S.NEW, Action.DISPATCH): S.DISPATCHED,
    (S.DISPATCHED, Action.DISPATCH): S.DISPATCHED,
    (S.DISPATCHED, Action.ACCEPT): S.ACCEPTED,
    (S.ACCEPTED, Action.ARRIVE): S.ON_SITE,
    (S.ON_SITE, Action.COMPLETE): S.COMPLETED,
    (S.COMPLETED, Action.VERIFY): S.VERIFIED,
    (S.VERIFIED, Action.CLOSE): S.CLOSED,
    (S.COMPLETED, Action.REOPEN): S.DISPATCHED,
    (S.VERIFIED, Action.REOPEN): S.DISPATCHED,
    (S.NEW, Action.CANCEL): S.CANCELLED,
    (S.DISPATCHED, Action.CANCEL): S.CANCELLED,
    (S.ACCEPTED, Action.CANCEL): S.CANCELLED,
    (S.DISPATCHED, Action.REJECT): S.NEW,
    (S.ACCEPTED, Action.HAND_BACK): S.NEW,
    (S.ON_SITE, Action.HAND_BACK): S.NEW,
}
RETURNS = frozenset({Action.REJECT, Action.HAND_BACK})
"""The moves that give an order back to the dispatch queue, unassigned, with a reason."""

EVENT_OF: dict[Action, WorkOrderEventType] = {
    Action.DISPATCH: WorkOrderEventType.DISPATCHED,
    Action.ACCEPT: WorkOrderEventType.ACCEPTED,
    Action.ARRIVE: WorkOrderEventType.ON_SITE,
    Action.COMPLETE: WorkOrderEventType.COMPLETED,
    Action.VERIFY: WorkOrderEventType.VERIFIED,
    Action.CLOSE: WorkOrderEventType.CLOSED,
    Action.CANCEL: WorkOrderEventType.CANCELLED,
    Action.REOPEN: WorkOrderEventType.REOPENED,
    Action.REJECT: WorkOrderEventType.REJECTED,
    Action.HAND_BACK: WorkOrderEventType.HANDED_BACK,
}

OPEN_STATES = frozenset(s for s in S if s.open)
"""States in which an order still needs someone (its SLA clocks may still run out): the
contract's `WorkOrderState.open`, which the pages read from each order as `open`."""


def allowed_actions(state: WorkOrderState) -> list[Action]:
    return [action for (source, action) in TRANSITIONS if source is state]


def next_state(state: WorkOrderState, action: Action) -> WorkOrderState:
    """The state `action` leads to from `state`, or `IllegalTransition` naming what is
    allowed instead."""
    target = TRANSITIONS.get((state, action))
    if target is None:
        allowed = allowed_actions(state)
        raise IllegalTransition(
            f"cannot {action} an order that is {state}"
            + (f"; allowed: {', '.join(allowed)}" if allowed else "; it is final"),
            field="action",
            state=str(state),
            action=str(action),
            allowed=[str(a) for a in allowed],
        )
    return target
