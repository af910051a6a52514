"""Root cause, not a storm: topology-aware inhibition (as Alertmanager's inhibit rules, but
from the site's wiring rather than label matching).

A *root* alarm is one whose cause stops other equipment: a power room's loss of supply
(`power.outage`) stops what the site file says it feeds (`PowerRoom.feeds`). While a root
is active, an alarm raised on a device it feeds (or on a group of such devices) is its
*child*: the AlarmEvent carries `parent_alarm_id`, the API keeps it under the root, and it
opens no work order and pages nobody. When the root clears, its children still active are
released (an `updated` event without the parent): alarms in their own right from then on.

The race at the start of an outage is handled here too: fed devices fail within seconds of
the supply, while the root waits out its `for:` delay. A child whose root's condition
already holds but whose alarm is not raised yet is *held* (kept, not published) until the
root is raised — then published as its child — or until the root's condition goes away or
`HOLD_MS` passes, when it is published on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.plan import SitePlan
    from rules.state import SiteState

ROOT_RULES = frozenset({"power.outage"})
"""Rules whose alarm explains the alarms of what its target feeds."""
PENDING = "pending"
"""`explain`'s answer while a root's condition holds and its alarm is not raised yet."""
HOLD_MS = 15_000
"""The longest a child waits for its root's alarm (the root's own `for:` is 3 s)."""


def topology(plan: SitePlan) -> dict[str, tuple[str, ...]]:
    """Target id → the power rooms that feed it: a device by the site file's `feeds`, a
    group of devices by the rooms that feed every member."""
    site = plan.config
    fed = {device.id: tuple(site.fed_by(device.id)) for device in site.devices}
    for group in plan.groups:
        rooms = [set(fed.get(member, ())) for member, _ in group.members]
        common = set.intersection(*rooms) if rooms else set()
        if common:
            fed[group.target.id] = tuple(sorted(common))
    return {target: rooms for target, rooms in fed.items() if rooms}


def explain(site: SiteState, target: str, rule: str) -> str | None:
    """The id of the active root alarm that explains an alarm of `rule` on `target`,
    `PENDING` while such a root is about to be raised, or None."""
    if rule in ROOT_RULES:
        return None
    pending = False
    for room in site.plan.fed_by.get(target, ()):
        for root_rule in ROOT_RULES:
            root = site.book.open.get((root_rule, room))
            if root is not None and root.active and not root.held:
                return root.alarm_id
            runtime = site.devices.get(room)
            state = runtime.states.get(root_rule) if runtime is not None else None
            if state is not None and state.raw and not state.firing:
                pending = True
    return PENDING if pending else None
