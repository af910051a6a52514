"""A test driver for the pure engine: feeds readings, statuses, scans and ticks into
`evaluate` at chosen times and keeps every alarm event it returned."""

from __future__ import annotations

import itertools

from estatewatch.clock import to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import (
    AlarmCommand,
    AlarmEvent,
    AlarmEventType,
    DeviceError,
    DeviceErrorKind,
    DeviceReading,
    DeviceState,
    DeviceStatus,
    PatrolException,
    PatrolExceptionKind,
    PatrolScan,
    Scalar,
    ScanSource,
    TelemetryBatch,
    stable_id,
)
from rules.evaluate import Event, Tick, evaluate
from rules.loader import parse_rules
from rules.plan import SitePlan, compile_site
from rules.state import EngineState, new_state, restore, snapshot
from tests.dates import utc

T0 = to_epoch_ms(utc(0, 8))  # Monday 16:00 in Shanghai


class Driver:
    def __init__(self, site: SiteConfig, rules: str | None = None, *, start: int = T0) -> None:
        self.site = site
        self.rules_text = rules
        self.plan: SitePlan = compile_site(site, parse_rules(rules, sites=[site]))
        self.now = start
        self.state: EngineState = new_state([self.plan], start)
        self.events: list[AlarmEvent] = []
        self._seq = itertools.count()
        self._counter = itertools.count(1)

    @property
    def site_id(self) -> str:
        return self.site.site.id

    # --- input -------------------------------------------------------------------------

    def send(self, event: Event) -> list[AlarmEvent]:
        self.state, found = evaluate(self.state, event, self.now)
        self.events += found
        return found

    def reading(self, device: str, **values: Scalar) -> list[AlarmEvent]:
        d = self.site.device(device)
        batch = TelemetryBatch(
            site=self.site_id,
            gateway=self.site.gateway.id,
            seq=next(self._seq),
            readings=[
                DeviceReading(
                    device=device,
                    kind=d.kind,
                    building=d.building,
                    room=d.room,
                    ts=self.now,
                    values=values,
                )
            ],
        )
        return self.send(batch)

    def status(self, device: str, state: DeviceState, error: str = "") -> list[AlarmEvent]:
        d = self.site.device(device)
        return self.send(
            DeviceStatus(
                site=self.site_id,
                gateway=self.site.gateway.id,
                seq=next(self._seq),
                device=device,
                kind=d.kind,
                building=d.building,
                room=d.room,
                state=state,
                ts=self.now,
                since=self.now,
                last_error=DeviceError(kind=DeviceErrorKind.MODBUS_EXCEPTION, message=error)
                if error
                else None,
            )
        )

    def scan(
        self, checkpoint: str, *, guard: str = "guard-zhang", handheld: str = "hh-01",
        at: int | None = None,
    ) -> list[AlarmEvent]:  # fmt: skip
        cp = next(c for c in self.site.checkpoints if c.id == checkpoint)
        t = self.now if at is None else at
        return self.send(
            PatrolScan(
                site=self.site_id,
                gateway=self.site.gateway.id,
                seq=next(self._seq),
                scan_id=stable_id(handheld, cp.tag_uid, t),
                handheld=handheld,
                guard=guard,
                tag_uid=cp.tag_uid,
                checkpoint=cp.id,
                building=cp.building,
                scanned_at=t,
                received_at=self.now,
                source=ScanSource.MQTT,
                counter=next(self._counter),
            )
        )

    def exception(
        self, kind: PatrolExceptionKind, *, handheld: str = "hh-01", tag: str = "DEADBEEF01"
    ) -> list[AlarmEvent]:
        return self.send(
            PatrolException(
                site=self.site_id,
                gateway=self.site.gateway.id,
                seq=next(self._seq),
                kind=kind,
                reason=f"test {kind.value}",
                received_at=self.now,
                source=ScanSource.MQTT,
                handheld=handheld,
                guard="guard-zhang",
                tag_uid=tag,
                scanned_at=self.now,
            )
        )

    def command(
        self, alarm_id: str, action: str = "acknowledge", by: str = "duty"
    ) -> list[AlarmEvent]:
        return self.send(
            AlarmCommand(
                command_id=f"cmd-{next(self._seq)}",
                alarm_id=alarm_id,
                site=self.site_id,
                action=action,
                by=by,
                at=self.now,
            )
        )

    # --- time --------------------------------------------------------------------------

    def at(self, ms: int) -> Driver:
        assert ms >= self.now, "time goes forward"
        self.now = ms
        return self

    def tick(self, seconds: float = 1.0, *, every: float = 1.0) -> list[AlarmEvent]:
        """Let `seconds` pass, ticking every `every` seconds."""
        found: list[AlarmEvent] = []
        end = self.now + round(seconds * 1000)
        while self.now < end:
            self.now = min(end, self.now + round(every * 1000))
            found += self.send(Tick())
        return found

    def restart(self) -> None:
        """What a restart does: keep only the snapshot and the open alarms, then restore."""
        import json

        saved = json.loads(json.dumps(snapshot(self.state)))
        alarms = {s: list(site.book.open.values()) for s, site in self.state.sites.items()}
        plan = compile_site(self.site, parse_rules(self.rules_text, sites=[self.site]))
        self.state = restore([plan], saved, alarms, self.now)

    # --- what happened -----------------------------------------------------------------

    def raised(self) -> list[str]:
        return [e.rule for e in self.events if e.event is AlarmEventType.RAISED]

    def kinds(self, rule: str | None = None) -> list[str]:
        return [e.event.value for e in self.events if rule is None or e.rule == rule]

    def open_rules(self) -> set[str]:
        return {a.rule for site in self.state.sites.values() for a in site.book.open.values()}

    def active_rules(self) -> set[str]:
        return {
            a.rule
            for site in self.state.sites.values()
            for a in site.book.open.values()
            if a.active
        }
