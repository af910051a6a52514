"""The engine's state: per site, what each device last said, each rule's timing, the patrol
records and the open alarms. Snapshots to JSON and back, so a restart loses nothing."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from estatewatch.config.patrol import RosterEntry
from estatewatch.contracts.payloads import AlarmEvent, Scalar
from rules.alarms import Alarm, AlarmBook
from rules.conditions import DeviceRuntime, RuleState
from rules.inhibit import GATEWAY_EXPLAINS, GATEWAY_ROOT, PENDING, POWER_ROOTS, ROOT_RULES
from rules.plan import SitePlan

SNAPSHOT_VERSION = 1


def gateway_target(gateway: str) -> str:
    """The target of a gateway's alarm (as the patrol rules name a gateway)."""
    return f"gateway:{gateway}"


@dataclass
class GatewaySeen:
    order: tuple[int, int]
    """(its run's start, 1 for offline): a last will sorts after its run's online."""
    back_at: int | None = None
    """Back online at this time with its root alarm still active (`rules.gateways`)."""


SEEN_SCANS = 5000


@dataclass
class PatrolState:
    checked_until: int | None = None
    """Patrol windows ending up to here have been checked for missed checkpoints."""
    last_scan: dict[str, int] = field(default_factory=dict)
    """Checkpoint -> latest scanned_at."""
    windows: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    """``route@window_start`` -> checkpoint -> [scanned_at, index] of its first scan."""
    guards: dict[str, int] = field(default_factory=dict)
    """Guard -> latest scanned_at."""
    handhelds: dict[str, list[list[Any]]] = field(default_factory=dict)
    """Handheld -> its recent scans [scanned_at, checkpoint], in time order."""
    missed: dict[str, int] = field(default_factory=dict)
    """Checkpoint -> start of the window it was missed in (until it is scanned)."""
    missed_rounds: dict[str, list[str]] = field(default_factory=dict)
    """Route -> the checkpoints its last missed round still misses (its one alarm)."""
    seen: list[str] = field(default_factory=list)
    """Recent scan ids, so a redelivered scan is not counted twice."""
    states: dict[str, RuleState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._seen = set(self.seen)

    def first_time(self, scan_id: str) -> bool:
        if scan_id in self._seen:
            return False
        self._seen.add(scan_id)
        self.seen.append(scan_id)
        if len(self.seen) > SEEN_SCANS:
            self._seen.discard(self.seen.pop(0))
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "checked_until": self.checked_until,
            "last_scan": self.last_scan,
            "windows": self.windows,
            "guards": self.guards,
            "handhelds": self.handhelds,
            "missed": self.missed,
            "missed_rounds": self.missed_rounds,
            "seen": self.seen,
            "states": {k: v.to_json() for k, v in self.states.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PatrolState:
        data = dict(data)
        states = {k: RuleState.from_json(v) for k, v in data.pop("states", {}).items()}
        return cls(**data, states=states)


@dataclass
class SiteState:
    plan: SitePlan
    book: AlarmBook
    devices: dict[str, DeviceRuntime]
    groups: dict[str, RuleState] = field(default_factory=dict)
    patrol: PatrolState = field(default_factory=PatrolState)
    gateways: dict[str, GatewaySeen] = field(default_factory=dict)
    """What each gateway last said of itself (`rules.gateways`); not snapshotted: its
    retained state is delivered again when the engine reconnects."""
    roster: list[RosterEntry] | None = None
    """The roster as last edited through the API (its retained `DutyRoster`), else None:
    the site file's holds. Not snapshotted: the broker hands the retained one back."""

    @property
    def site(self) -> str:
        return self.plan.site

    @property
    def duty_roster(self) -> list[RosterEntry]:
        return self.roster if self.roster is not None else list(self.plan.config.roster)


@dataclass
class EngineState:
    """All sites of one engine instance. `evaluate` updates it in place and returns it."""

    sites: dict[str, SiteState] = field(default_factory=dict)


def new_state(plans: Sequence[SitePlan], now: int) -> EngineState:
    state = EngineState()
    for plan in plans:
        state.sites[plan.site] = _new_site(plan, now)
    return state


def _new_site(plan: SitePlan, now: int) -> SiteState:
    devices = {d: DeviceRuntime(watch_from=now) for d in plan.devices}
    site = SiteState(plan, AlarmBook(plan.site, plan.flap), devices)
    site.book.explain = functools.partial(explain, site)
    return site


def replan(state: EngineState, plans: Sequence[SitePlan], now: int) -> list[AlarmEvent]:
    """Swap in newly compiled rules (a reload), keeping every device's and rule's state.
    Open alarms of rules that no longer exist (or no longer apply) are cleared."""
    events: list[AlarmEvent] = []
    for plan in plans:
        site = state.sites.get(plan.site)
        if site is None:
            state.sites[plan.site] = _new_site(plan, now)
            continue
        site.plan = plan
        site.book.flap = plan.flap
        for device_id in plan.devices:
            site.devices.setdefault(device_id, DeviceRuntime(watch_from=now))
        live = {(r.id, d) for d, p in plan.devices.items() for r in p.rules}
        live |= {(g.rule.id, g.target.id) for g in plan.groups}
        for key, alarm in list(site.book.open.items()):
            if alarm.rule.startswith("patrol."):
                continue
            if key not in live:
                events += site.book.clear(key, now)
    return events


def snapshot(state: EngineState) -> dict[str, dict[str, Any]]:
    """A JSON-able copy of everything but the open alarms (the store keeps those)."""
    found: dict[str, dict[str, Any]] = {}
    for site_id, site in state.sites.items():
        found[site_id] = {
            "version": SNAPSHOT_VERSION,
            "devices": {
                d: {
                    "values": rt.values,
                    "last_seen": rt.last_seen,
                    "status": rt.status,
                    "status_error": rt.status_error,
                    "distrust_until": rt.distrust_until,
                    "states": {k: s.to_json() for k, s in rt.states.items()},
                }
                for d, rt in site.devices.items()
            },
            "groups": {k: s.to_json() for k, s in site.groups.items()},
            "patrol": site.patrol.to_json(),
            "raises": {"\x1f".join(k): v for k, v in site.book.raises.items()},
            "commands": list(site.book.commands),
        }
    return found


def restore(
    plans: Sequence[SitePlan],
    snapshots: dict[str, dict[str, Any]],
    alarms: dict[str, list[Alarm]],
    now: int,
) -> EngineState:
    """Rebuild the state from a snapshot and the stored open alarms. Deadman timers restart
    at `now`, so a device is not called offline for the time the engine was down."""
    state = new_state(plans, now)
    for site_id, site in state.sites.items():
        site.book.restore(alarms.get(site_id, []))
        data = snapshots.get(site_id)
        if not data or data.get("version") != SNAPSHOT_VERSION:
            continue
        for device_id, saved in data["devices"].items():
            rt = site.devices.get(device_id)
            if rt is None:
                continue
            values: dict[str, Scalar] = saved["values"]
            rt.values = values
            rt.last_seen = saved["last_seen"]
            rt.status = saved["status"]
            rt.status_error = saved["status_error"]
            rt.distrust_until = int(saved.get("distrust_until", 0))
            rt.states = {k: RuleState.from_json(v) for k, v in saved["states"].items()}
        site.groups = {k: RuleState.from_json(v) for k, v in data["groups"].items()}
        site.patrol = PatrolState.from_json(data["patrol"])
        for joined, times in data["raises"].items():
            rule, target = joined.split("\x1f", 1)
            site.book.raises[(rule, target)] = list(times)
        site.book.commands.extend(data["commands"])
    for site in state.sites.values():
        _reconcile(site, now)
    return state


def _reconcile(site: SiteState, now: int) -> None:
    """An alarm raised after the last snapshot (a crash in between) is open and active, but
    the restored rule state does not know it fired: mark it firing, so that the alarm clears
    when its condition is found gone instead of staying active for ever."""
    hold = round(site.plan.patrol.hold.total_seconds() * 1000)
    groups = {g.target.id for g in site.plan.groups}
    for (rule, target), alarm in site.book.open.items():
        if not alarm.active:
            continue
        if rule.startswith("patrol."):
            s = site.patrol.states.setdefault(f"{rule}\x1f{target}", RuleState())
            if rule == "patrol.missed_checkpoint":
                site.patrol.missed.setdefault(target, 0)  # any later scan clears it
            elif rule != "patrol.silent_guard" and s.hold_until is None:
                s.hold_until = now + hold
        elif target in site.devices:
            s = site.devices[target].states.setdefault(rule, RuleState())
        elif target in groups:
            s = site.groups.setdefault(f"{rule}\x1f{target}", RuleState(members={}))
        else:
            continue
        if not s.firing:
            s.raw = s.firing = True
            s.since = s.since or alarm.raised_at
            s.false_since = None


UNSEEN_MS = 5_000
"""A feeding power room that reported this recently, but not since a fault began, is still
to be heard from: its reading of the same moment may be a poll behind."""


def explain(site: SiteState, target: str, rule: str, since: int | None = None) -> str | None:
    """The id of the active root alarm that explains an alarm of `rule` on `target`
    (`rules.inhibit`), `PENDING` while such a root is about to be raised — or, for a fault
    that began at `since`, while a feeding room has not reported since — or None."""
    if rule in ROOT_RULES:
        return None
    if rule in GATEWAY_EXPLAINS and target in site.devices:
        gateway = site.book.open.get((GATEWAY_ROOT, gateway_target(site.plan.config.gateway.id)))
        if gateway is not None and gateway.active:
            return gateway.alarm_id
    pending = False
    for room in site.plan.fed_by.get(target, ()):
        runtime = site.devices.get(room)
        for root_rule in POWER_ROOTS:
            root = site.book.open.get((root_rule, room))
            if root is not None and root.active and not root.held:
                return root.alarm_id
            state = runtime.states.get(root_rule) if runtime is not None else None
            if state is not None and state.raw and not state.firing:
                pending = True
        seen = runtime.last_seen if runtime is not None else None
        # An explicit fault code raises at once: wait for the room's word. A room reading
        # handled at the fault's own instant (the same batch: the gateway polled the room a
        # moment before the supply went) is not word since the fault: with `0 <` a child
        # escaped its root that way, and the storm opened three orders (bench/storm.py).
        if since is not None and seen is not None and 0 <= since - seen <= UNSEEN_MS:
            pending = True
    return PENDING if pending else None
