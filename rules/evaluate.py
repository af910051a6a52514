"""`evaluate(state, event, now) -> (state, events)`: the whole engine as one function.

No I/O and no clock of its own: the caller says what happened and when. The state is
updated in place (and returned) because the hot path handles tens of thousands of readings a
second; everything it needs to survive a restart is in `state.snapshot()` plus the open
alarms.
"""

from __future__ import annotations

from dataclasses import dataclass

from estatewatch.config.patrol import RosterEntry
from estatewatch.contracts.payloads import (
    AlarmCommand,
    AlarmEvent,
    DeviceStatus,
    GatewayState,
    PatrolException,
    PatrolScan,
    TelemetryBatch,
)
from estatewatch.contracts.roster import DutyRoster
from rules import devices, gateways, patrol
from rules.state import EngineState


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed (the engine sends one a second): deadman timers, durations, clear
    deadbands, patrol windows and silent guards."""

    site: str | None = None
    """One site, or every site."""
    patrol: bool = True
    """Also the patrol rules (a replay of readings alone leaves them out)."""


Event = (
    TelemetryBatch
    | DeviceStatus
    | GatewayState
    | PatrolScan
    | PatrolException
    | AlarmCommand
    | DutyRoster
    | Tick
)


def evaluate(state: EngineState, event: Event, now: int) -> tuple[EngineState, list[AlarmEvent]]:
    """Apply one event at time `now` (epoch ms); return the state and the alarm events."""
    if isinstance(event, Tick):
        events: list[AlarmEvent] = []
        for site_id, each in state.sites.items():
            if event.site is None or event.site == site_id:
                events += devices.on_tick(each, now)
                events += gateways.on_tick(each, now)
                if event.patrol:
                    events += patrol.on_tick(each, now)
                events += each.book.tick(now)
        return state, events
    site = state.sites.get(event.site)
    if site is None:
        return state, []  # not one of this instance's sites
    if isinstance(event, TelemetryBatch):
        events = []
        for reading in event.readings:
            found = devices.on_reading(site, reading, now)
            if found:
                events += found
        return state, events
    if isinstance(event, DeviceStatus):
        return state, devices.on_status(site, event, now)
    if isinstance(event, GatewayState):
        return state, gateways.on_state(site, event, now)
    if isinstance(event, PatrolScan):
        return state, patrol.on_scan(site, event, now)
    if isinstance(event, PatrolException):
        return state, patrol.on_exception(site, event, now)
    if isinstance(event, DutyRoster):
        # Takes effect at the next tick: a guard rostered from a shift already running owes
        # the hourly report from its start.
        site.roster = [RosterEntry(**line.model_dump()) for line in event.entries]
        return state, []
    return state, site.book.command(event, now)
