"""Root cause, not a storm: topology-aware inhibition (as Alertmanager's inhibit rules, but
from the site's wiring rather than label matching).

A *root* alarm is one whose cause stops other equipment: a power room's loss of supply
(`power.outage`) stops what the site file says it feeds (`PowerRoom.feeds`); a gateway
gone offline (`gateway.offline`, its last will or a clean stop: `rules.gateways`) silences
every device it polls. While a root is active, an alarm it explains is its *child*: for a
power room, any alarm raised on a device it feeds (or on a group of such devices); for a
gateway, the offline alarms (`GATEWAY_EXPLAINS`) of the site's devices. A child's
AlarmEvent carries `parent_alarm_id`, the API keeps it under the root, and it opens no
work order and pages nobody. When the root clears, its children still active are
released (an `updated` event without the parent): alarms in their own right from then on.

The race at the start of an outage is handled here too: fed devices fail within seconds of
the supply, while the root waits out its `for:` delay. A child whose root's condition
already holds but whose alarm is not raised yet is *held* (kept, not published) until the
root is raised — then published as its child — or until the root's condition goes away or
`HOLD_MS` passes, when it is published on its own.
"""

from __future__ import annotations

POWER_ROOTS = frozenset({"power.outage"})
"""Rules whose alarm explains the alarms of what its target feeds."""
GATEWAY_ROOT = "gateway.offline"
"""The alarm of a gateway gone offline (`rules.gateways`)."""
GATEWAY_EXPLAINS = frozenset({"device.offline", "sensor.offline"})
"""What a gateway's silence explains: its devices not heard from (their own faults it
does not explain — nothing of theirs arrives while it is away)."""
ROOT_RULES = POWER_ROOTS | {GATEWAY_ROOT}
"""Every rule whose alarm can have children."""
PENDING = "pending"
"""`explain`'s answer while a root's condition holds and its alarm is not raised yet."""
HOLD_MS = 15_000
"""The longest a child waits for its root's alarm (the root's own `for:` is 3 s)."""

# Where the rest lives: what feeds what, `rules.plan.topology` (compiled with the site's
# plan); which active root explains an alarm, `rules.state.explain`; holding and releasing
# children, `rules.alarms.AlarmBook`.
