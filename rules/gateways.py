"""A gateway's uplink as a root alarm (issue #23, `rules.inhibit`).

A gateway says `offline` on a clean stop, and the broker says it for one that vanished (its
last will, about a keep-alive and a half after the drop). Either way nothing its devices do
arrives: one `gateway.offline` alarm is raised on `gateway:{id}`, and the offline alarms of
the site's devices that follow (their deadman, a minute of silence) are its children —
one alarm, one order and one message instead of one per device.

When the gateway is back `online`, its devices' readings follow within a poll and their
offline alarms clear after their own deadband; the root waits `RECOVERY_MS` before it
clears, so those children clear as children. A device still silent then is released as
an alarm in its own right: the gateway does not explain it any more.
"""

from __future__ import annotations

from estatewatch.contracts.payloads import AlarmEvent, GatewayState, Severity, TargetKind
from rules.alarms import Raise, Target
from rules.inhibit import GATEWAY_ROOT
from rules.state import GatewaySeen, SiteState, gateway_target

CATEGORY = "gateway_offline"
RECOVERY_MS = 20_000
"""From the gateway's return to its root clearing: a poll round (1-10 s) plus the offline
rule's clear deadband (5 s), with room."""


def on_state(site: SiteState, state: GatewayState, now: int) -> list[AlarmEvent]:
    """The gateway's retained state: raise its root on `offline`, start the recovery on
    `online`. An older run's word (a stale retained message) changes nothing."""
    order = (state.since if state.since is not None else state.ts, int(state.state == "offline"))
    seen = site.gateways.get(state.gateway)
    if seen is not None and order <= seen.order:
        return []
    site.gateways[state.gateway] = seen = GatewaySeen(order)
    target = gateway_target(state.gateway)
    key = (GATEWAY_ROOT, target)
    if state.state == "online":
        root = site.book.open.get(key)
        if root is not None and root.active:
            seen.back_at = now
        return []
    how = "lost its uplink" if state.last_will else "was stopped"
    what = Raise(
        GATEWAY_ROOT,
        CATEGORY,
        Severity.MAJOR,
        f"Gateway {state.gateway} {how}: its devices are not heard from",
        details={"last_will": state.last_will, "version": state.version or None},
    )
    return site.book.fire(key, Target(TargetKind.GATEWAY, target), what, now)


def on_tick(site: SiteState, now: int) -> list[AlarmEvent]:
    """Clear the roots of gateways back for `RECOVERY_MS` (releasing what is still silent)."""
    events: list[AlarmEvent] = []
    for gateway, seen in site.gateways.items():
        if seen.back_at is not None and now - seen.back_at >= RECOVERY_MS:
            seen.back_at = None
            events += site.book.clear((GATEWAY_ROOT, gateway_target(gateway)), now)
    return events
