"""The alarm lifecycle: raise → acknowledged → cleared → closed, one open alarm per
(rule, target), flapping held and counted. Pure: every transition returns the AlarmEvents
to publish, each with the alarm's stable id and the next revision."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.payloads import (
    AlarmCommand,
    AlarmEvent,
    AlarmEventType,
    Scalar,
    Severity,
    TargetKind,
    stable_id,
)
from rules.inhibit import HOLD_MS, PENDING, ROOT_RULES

Key = tuple[str, str]
"""(rule id, target)."""


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    id: str
    device_kind: DeviceKind | None = None
    building: str | None = None
    room: str | None = None


@dataclass(frozen=True, slots=True)
class Raise:
    """What a rule says about the alarm it raises."""

    rule: str
    category: str
    severity: Severity
    title: str
    message: str = ""
    value: Scalar | None = None
    details: dict[str, Scalar | None] = field(default_factory=dict)
    title_zh: str | None = None
    message_zh: str | None = None


@dataclass(slots=True)
class Alarm:
    alarm_id: str
    site: str
    rule: str
    category: str
    severity: Severity
    target_kind: TargetKind
    target: str
    device_kind: DeviceKind | None
    building: str | None
    room: str | None
    title: str
    message: str
    raised_at: int
    ts: int
    revision: int = 0
    onset_at: int | None = None
    """When the fault began (its condition first held); before `raised_at` by the `for`."""
    active: bool = True
    acknowledged: bool = False
    acknowledged_by: str | None = None
    cleared_at: int | None = None
    occurrences: int = 1
    value: Scalar | None = None
    details: dict[str, Scalar | None] = field(default_factory=dict)
    flapping: bool = False
    clear_pending: int | None = None
    """A flapping alarm's condition went away at this time; it clears after a quiet spell."""
    parent_alarm_id: str | None = None
    """The root alarm that explains this one (`rules.inhibit`), while it does."""
    held: bool = False
    """Raised while its root was about to be: not published until the root is."""
    title_zh: str | None = None
    message_zh: str | None = None

    @property
    def key(self) -> Key:
        return (self.rule, self.target)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alarm:
        data = dict(data)
        data["severity"] = Severity(data["severity"])
        data["target_kind"] = TargetKind(data["target_kind"])
        if data["device_kind"] is not None:
            data["device_kind"] = DeviceKind(data["device_kind"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class FlapPolicy:
    count: int = 4
    window_ms: int = 600_000
    quiet_ms: int = 300_000


class AlarmBook:
    """The open alarms of one site."""

    def __init__(self, site: str, flap: FlapPolicy | None = None) -> None:
        self.site = site
        self.flap = flap or FlapPolicy()
        self.open: dict[Key, Alarm] = {}
        self.by_id: dict[str, Alarm] = {}
        self.raises: dict[Key, list[int]] = {}
        """Recent raise times per key, kept across alarms: what tells flapping."""
        self.commands: deque[str] = deque(maxlen=2000)
        self.explain: Callable[[str, str, int | None], str | None] | None = None
        """(target, rule, the fault's onset) → the root alarm explaining it, `PENDING` or None
        (`rules.inhibit`)."""

    # --- conditions --------------------------------------------------------------------

    def fire(
        self,
        key: Key,
        target: Target,
        what: Raise,
        now: int,
        *,
        momentary: bool = False,
        onset: int | None = None,
    ) -> list[AlarmEvent]:
        """The rule's condition became true for `target`. A `momentary` condition (a scan
        exception) may happen again while its alarm is active: each time is counted."""
        alarm = self.open.get(key)
        if alarm is not None and alarm.active and alarm.clear_pending is None and not momentary:
            return []  # already in alarm (the state was restored from an older snapshot)
        flapping = self._count_raise(key, now)
        if alarm is None:
            begun = min(onset, now) if onset is not None else now
            parent = self.explain(target.id, what.rule, begun) if self.explain else None
            alarm = Alarm(
                alarm_id=stable_id(self.site, what.rule, target.id, now),
                site=self.site,
                rule=what.rule,
                category=what.category,
                severity=what.severity,
                target_kind=target.kind,
                target=target.id,
                device_kind=target.device_kind,
                building=target.building,
                room=target.room,
                title=what.title,
                message=what.message,
                title_zh=what.title_zh,
                message_zh=what.message_zh,
                raised_at=now,
                ts=now,
                onset_at=min(onset, now) if onset is not None else now,
                value=what.value,
                details=dict(what.details),
                flapping=flapping,
                parent_alarm_id=None if parent == PENDING else parent,
                held=parent == PENDING,
            )
            self.open[key] = alarm
            self.by_id[alarm.alarm_id] = alarm
            if alarm.held:
                return []
            return [self._event(alarm, AlarmEventType.RAISED, now), *self._adopt(alarm, now)]
        alarm.occurrences += 1
        alarm.value = what.value
        alarm.details.update(what.details)
        if alarm.held:
            return []
        if alarm.clear_pending is not None:  # flapping and held active: count it, quietly
            alarm.clear_pending = None
            return []
        if not alarm.active:
            alarm.active, alarm.cleared_at = True, None
        elif alarm.flapping:
            return []
        return self._flap_update(alarm, flapping, now)

    def clear(self, key: Key, now: int) -> list[AlarmEvent]:
        """The rule's condition went away (after its clear deadband)."""
        alarm = self.open.get(key)
        if alarm is None or not alarm.active or alarm.clear_pending is not None:
            return []
        if alarm.held:  # gone before anyone heard of it
            del self.open[key], self.by_id[alarm.alarm_id]
            return []
        if self._flapping(key, now):
            alarm.clear_pending = now
            if not alarm.flapping:
                alarm.flapping = True
                alarm.details["flapping"] = True
                return [self._event(alarm, AlarmEventType.UPDATED, now)]
            return []
        return self._clear(alarm, now)

    def tick(self, now: int) -> list[AlarmEvent]:
        """Clear flapping alarms that have been quiet for the flap policy's quiet spell."""
        events: list[AlarmEvent] = []
        for alarm in list(self.open.values()):
            if alarm.held:
                events += self._unhold(alarm, now)
            pending = alarm.clear_pending
            if pending is not None and now - pending >= self.flap.quiet_ms:
                alarm.clear_pending, alarm.flapping = None, False
                alarm.details["flapping"] = False
                events += self._clear(alarm, now)
        return events

    # --- people ------------------------------------------------------------------------

    def command(self, command: AlarmCommand, now: int) -> list[AlarmEvent]:
        """An acknowledgement or a close from the API; repeats of a command do nothing."""
        if command.command_id in self.commands:
            return []
        self.commands.append(command.command_id)
        alarm = self.by_id.get(command.alarm_id)
        if alarm is None:
            return []
        if command.note:
            alarm.details["note"] = command.note[:256]
        if command.action == "close":
            return [self._close(alarm, now), *self._release(alarm, now)]
        if alarm.acknowledged:
            return []
        alarm.acknowledged, alarm.acknowledged_by = True, command.by
        events = [self._event(alarm, AlarmEventType.ACKNOWLEDGED, now)]
        if not alarm.active and alarm.clear_pending is None:
            events.append(self._close(alarm, now))
        return events

    # --- inhibition (rules.inhibit) ----------------------------------------------------

    def _adopt(self, root: Alarm, now: int) -> list[AlarmEvent]:
        """A root was raised: the alarms held for it are published as its children."""
        if root.rule not in ROOT_RULES or self.explain is None:
            return []
        events: list[AlarmEvent] = []
        for alarm in list(self.open.values()):
            if alarm.held and self.explain(alarm.target, alarm.rule, None) == root.alarm_id:
                alarm.held, alarm.parent_alarm_id = False, root.alarm_id
                events.append(self._event(alarm, AlarmEventType.RAISED, now))
        return events

    def _unhold(self, alarm: Alarm, now: int) -> list[AlarmEvent]:
        """A held alarm whose root did not come (its condition went away, or too late)."""
        parent = self.explain(alarm.target, alarm.rule, alarm.onset_at) if self.explain else None
        if parent == PENDING and now - alarm.raised_at < HOLD_MS:
            return []
        alarm.held = False
        alarm.parent_alarm_id = None if parent == PENDING else parent
        return [self._event(alarm, AlarmEventType.RAISED, now)]

    def _release(self, root: Alarm, now: int) -> list[AlarmEvent]:
        """A root cleared or closed: its children still active become alarms of their own
        (an `updated` event without the parent: the API opens their orders and pages)."""
        if root.rule not in ROOT_RULES:
            return []
        events: list[AlarmEvent] = []
        for alarm in list(self.open.values()):
            if alarm.parent_alarm_id == root.alarm_id and alarm.active:
                alarm.parent_alarm_id = None
                alarm.details["released_from"] = root.alarm_id
                events.append(self._event(alarm, AlarmEventType.UPDATED, now))
        return events

    # --- internals ---------------------------------------------------------------------

    def _count_raise(self, key: Key, now: int) -> bool:
        times = self.raises.setdefault(key, [])
        times.append(now)
        return self._flapping(key, now)

    def _flapping(self, key: Key, now: int) -> bool:
        times = self.raises.get(key)
        if not times:
            return False
        horizon = now - self.flap.window_ms
        while times and times[0] < horizon:
            times.pop(0)
        if not times:
            del self.raises[key]
            return False
        return len(times) >= self.flap.count

    def _flap_update(self, alarm: Alarm, flapping: bool, now: int) -> list[AlarmEvent]:
        if flapping:
            alarm.flapping = True
            alarm.details["flapping"] = True
        return [self._event(alarm, AlarmEventType.UPDATED, now)]

    def _clear(self, alarm: Alarm, now: int) -> list[AlarmEvent]:
        alarm.active, alarm.cleared_at = False, now
        events = [self._event(alarm, AlarmEventType.CLEARED, now)]
        if alarm.acknowledged:
            events.append(self._close(alarm, now))
        return [*events, *self._release(alarm, now)]

    def _close(self, alarm: Alarm, now: int) -> AlarmEvent:
        self.open.pop(alarm.key, None)
        self.by_id.pop(alarm.alarm_id, None)
        alarm.clear_pending = None
        return self._event(alarm, AlarmEventType.CLOSED, now)

    def _event(self, alarm: Alarm, kind: AlarmEventType, now: int) -> AlarmEvent:
        alarm.revision += 1
        alarm.ts = now
        return AlarmEvent(
            event_id=f"{alarm.alarm_id}:{alarm.revision}",
            alarm_id=alarm.alarm_id,
            revision=alarm.revision,
            event=kind,
            site=alarm.site,
            rule=alarm.rule,
            category=alarm.category,
            severity=alarm.severity,
            target_kind=alarm.target_kind,
            target=alarm.target,
            device_kind=alarm.device_kind,
            building=alarm.building,
            room=alarm.room,
            title=alarm.title,
            message=alarm.message,
            title_zh=alarm.title_zh,
            message_zh=alarm.message_zh,
            raised_at=alarm.raised_at,
            onset_at=alarm.onset_at if alarm.onset_at is not None else alarm.raised_at,
            ts=now,
            active=alarm.active,
            acknowledged=alarm.acknowledged,
            acknowledged_by=alarm.acknowledged_by,
            cleared_at=alarm.cleared_at,
            occurrences=alarm.occurrences,
            value=alarm.value,
            details=dict(alarm.details),
            parent_alarm_id=alarm.parent_alarm_id,
        )

    # --- persistence -------------------------------------------------------------------

    def restore(self, alarms: list[Alarm]) -> None:
        for alarm in alarms:
            self.open[alarm.key] = alarm
            self.by_id[alarm.alarm_id] = alarm
