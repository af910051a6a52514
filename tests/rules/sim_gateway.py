"""A stand-in for the gateway in the rules' scenario tests: it turns what the simulated
devices serve right now into the contract messages a gateway would publish.

Test-only and deliberately simple: every device is read on each `poll`; a device that stops
answering is `offline` after its `offline_after` failed polls; exception responses make it
`degraded` (no values); undecodable registers (NaN) make it `degraded` with a decode error
and the points `error` quality. An MQTT sensor that goes silent just stops sending.
"""

from __future__ import annotations

import itertools
import math

from estatewatch.config import MqttSensor, SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import (
    DeviceError,
    DeviceErrorKind,
    DeviceReading,
    DeviceState,
    DeviceStatus,
    HandheldScan,
    PatrolException,
    PatrolExceptionKind,
    PatrolScan,
    Payload,
    Quality,
    Scalar,
    ScanSource,
    ScanVerification,
    TelemetryBatch,
)
from simulators.estate import SimulatedEstate
from simulators.faults import Fault
from simulators.guard import verify


class SimGateway:
    def __init__(self, estate: SimulatedEstate, site: SiteConfig) -> None:
        self.estate = estate
        self.site = site
        self.gateway = site.gateway.id
        self._seq = itertools.count()
        self.states: dict[str, DeviceState] = {}
        self.failures: dict[str, int] = {}

    def poll(self, now: int) -> list[tuple[str, Payload]]:
        """(topic, payload) of everything a gateway would publish after one poll round."""
        site_id = self.site.site.id
        readings: list[DeviceReading] = []
        out: list[tuple[str, Payload]] = []
        for device in self.site.devices:
            faults = self.estate.faults(device.id)
            error: DeviceError | None = None
            if Fault.OFFLINE in faults:
                if isinstance(device.connection, MqttSensor):
                    continue  # a silent sensor: nothing arrives, nobody says so
                self.failures[device.id] = self.failures.get(device.id, 0) + 1
                state = (
                    DeviceState.OFFLINE
                    if self.failures[device.id] >= device.offline_after
                    else self.states.get(device.id, DeviceState.ONLINE)
                )
                error = DeviceError(kind=DeviceErrorKind.TIMEOUT, message="no answer")
            elif Fault.METER_ERROR in faults:
                state = DeviceState.DEGRADED
                error = DeviceError(
                    kind=DeviceErrorKind.PROTOCOL_ERROR, code=1,
                    message="abnormal answer: other error (0x01)",
                )  # fmt: skip
            elif Fault.MODBUS_EXCEPTION in faults:
                state = DeviceState.DEGRADED
                error = DeviceError(
                    kind=DeviceErrorKind.MODBUS_EXCEPTION, code=4,
                    message="exception 4 (slave device failure)",
                )  # fmt: skip
            else:
                self.failures[device.id] = 0
                values = self.estate.values(device.id)
                bad = sorted(
                    k for k, v in values.items() if isinstance(v, float) and not math.isfinite(v)
                )
                good: dict[str, Scalar] = {k: v for k, v in values.items() if k not in bad}
                state = DeviceState.DEGRADED if bad else DeviceState.ONLINE
                if bad:
                    error = DeviceError(
                        kind=DeviceErrorKind.DECODE, message=f"{bad[0]}: not a finite number"
                    )
                readings.append(
                    DeviceReading(
                        device=device.id, kind=device.kind, building=device.building,
                        room=device.room, ts=now, values=good,
                        quality={k: Quality.ERROR for k in bad},
                    )
                )  # fmt: skip
            if self.states.get(device.id, DeviceState.ONLINE) is not state:
                self.states[device.id] = state
                status = DeviceStatus(
                    site=site_id, gateway=self.gateway, seq=next(self._seq), device=device.id,
                    kind=device.kind, building=device.building, room=device.room,
                    state=state, ts=now, since=now, last_error=error,
                )  # fmt: skip
                out.append((topics.device_status(site_id, device.id), status))
        if readings:
            batch = TelemetryBatch(
                site=site_id, gateway=self.gateway, seq=next(self._seq), readings=readings
            )
            out.append((topics.telemetry(site_id, self.gateway), batch))
        return out


class ScanGateway:
    """What a gateway does with a handheld's scans (test-only): unknown tags, bad
    signatures and replays (a counter that does not rise) become PatrolExceptions, the rest
    PatrolScans of their checkpoint."""

    def __init__(self, site: SiteConfig, keys: dict[str, bytes]) -> None:
        self.site = site
        self.keys = keys
        self.counters: dict[str, int] = {}
        self._seq = itertools.count()

    def accept(self, scan: HandheldScan, received_at: int) -> PatrolScan | PatrolException:
        site_id, gateway = self.site.site.id, self.site.gateway.id

        def refuse(kind: PatrolExceptionKind, reason: str) -> PatrolException:
            return PatrolException(
                site=site_id, gateway=gateway, seq=next(self._seq), kind=kind, reason=reason,
                received_at=received_at, source=ScanSource.MQTT, handheld=scan.handheld,
                guard=scan.guard, tag_uid=scan.tag_uid, scanned_at=scan.scanned_at,
            )  # fmt: skip

        key = self.keys.get(scan.handheld)
        if key is not None and not verify(scan, key):
            return refuse(PatrolExceptionKind.BAD_SIGNATURE, "signature does not match")
        last = self.counters.get(scan.handheld)
        if scan.counter is not None and last is not None and scan.counter <= last:
            return refuse(PatrolExceptionKind.REPLAY, f"counter {scan.counter} <= {last}")
        if scan.counter is not None:
            self.counters[scan.handheld] = scan.counter
        checkpoint = self.site.checkpoint_by_tag(scan.tag_uid)
        if checkpoint is None:
            return refuse(PatrolExceptionKind.UNKNOWN_TAG, f"tag {scan.tag_uid} is not ours")
        return PatrolScan(
            site=site_id, gateway=gateway, seq=next(self._seq), scan_id=scan.scan_id,
            handheld=scan.handheld, guard=scan.guard, tag_uid=scan.tag_uid,
            checkpoint=checkpoint.id, building=checkpoint.building, scanned_at=scan.scanned_at,
            received_at=received_at, source=ScanSource.MQTT, synced_late=scan.offline,
            counter=scan.counter, verified=ScanVerification.HMAC if key else ScanVerification.NONE,
        )  # fmt: skip
