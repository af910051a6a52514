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

ROOT_RULES = frozenset({"power.outage"})
"""Rules whose alarm explains the alarms of what its target feeds."""
PENDING = "pending"
"""`explain`'s answer while a root's condition holds and its alarm is not raised yet."""
HOLD_MS = 15_000
"""The longest a child waits for its root's alarm (the root's own `for:` is 3 s)."""

# Where the rest lives: what feeds what, `rules.plan.topology` (compiled with the site's
# plan); which active root explains an alarm, `rules.state.explain`; holding and releasing
# children, `rules.alarms.AlarmBook`.
