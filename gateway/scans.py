"""Patrol scans from handhelds and fixed readers: checked, de-duplicated, and turned into a
`PatrolScan` or a `PatrolException` — never dropped. Pure apart from the clock-free memory it
keeps (persisted by the caller with the message, in one transaction).

Order of checks: readable (else `malformed`) → seen before (a duplicate: same handheld, tag
and time, i.e. same `scan_id`, collapses to one) → the handheld is the site's
(`unknown_handheld`) → its HMAC signature, when it has a key (`bad_signature`) → its
counter (`replay`) → the tag is a checkpoint (`unknown_tag`) → for an NTAG 424 DNA
checkpoint, its SUN message verifies under the tag's key and names the tag (`cloned_tag`)
and its read counter rises (`replay`: a copied tag URL) → accepted.

A scan id is remembered only once the scan is authentic, so a forged scan cannot pre-empt
the genuine one; exact repeats of a rejected message collapse by their bytes instead.
Counters: a live scan must carry a counter above the highest seen. A scan synced late
(`offline: true`) may carry a lower one — it was made before the live scans that overtook
it — as long as that counter was never used and is within the last `COUNTER_WINDOW`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
from pydantic import ValidationError

from estatewatch.config import SiteConfig
from estatewatch.config.patrol import Checkpoint
from estatewatch.contracts import topics
from estatewatch.contracts.codec import describe
from estatewatch.contracts.payloads import (
    MAX_PAYLOAD_BYTES,
    HandheldScan,
    PatrolException,
    PatrolExceptionKind,
    PatrolScan,
    ScanSource,
    ScanVerification,
)
from estatewatch.ntag424 import SunError, SunReading
from estatewatch.ntag424 import verify as verify_sun
from gateway.handhelds import HandheldKey, tag_counter_key
from gateway.scan_memory import COUNTER_WINDOW, ScanMemory
from gateway.store import Statement

LATE_SYNC_MS = 120_000
"""A scan received this long after it was made is marked `synced_late`."""


class ScanOutcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    EXCEPTION = "exception"


@dataclass(frozen=True, slots=True)
class ScanDecision:
    outcome: ScanOutcome
    message: PatrolScan | PatrolException | None = None
    statements: tuple[Statement, ...] = ()
    scan_id: str | None = None

    def answer(self, index: int) -> dict[str, object]:
        """What the HTTP sync endpoint says about this scan."""
        body: dict[str, object] = {"index": index, "result": self.outcome.value}
        if self.scan_id is not None:
            body["scan_id"] = self.scan_id
        if isinstance(self.message, PatrolException):
            body["kind"] = self.message.kind.value
            body["reason"] = self.message.reason
        elif isinstance(self.message, PatrolScan):
            body["checkpoint"] = self.message.checkpoint
        return body


class ScanValidator:
    def __init__(
        self,
        site: SiteConfig,
        keys: Mapping[str, HandheldKey],
        memory: ScanMemory,
        *,
        gateway: str,
        tag_keys: Mapping[str, HandheldKey] | None = None,
    ) -> None:
        self.site = site
        self.keys = keys
        self.tag_keys = tag_keys or {}
        self.memory = memory
        self.gateway = gateway
        self.handhelds = {h.id for h in site.handhelds}
        self.carried = {g.handheld for g in site.guards if g.handheld}

    # --- entry points ----------------------------------------------------------------------

    def from_mqtt(self, topic: str, data: bytes, received_at: int) -> ScanDecision:
        parts = topics.parse(topic)
        topic_handheld = parts.key if parts and parts.kind == "handheld_scan" else None
        raw = data[:2048].decode("utf-8", errors="replace")
        if len(data) > MAX_PAYLOAD_BYTES:
            return self._reject(
                data,
                PatrolExceptionKind.MALFORMED,
                "payload too large",
                ScanSource.MQTT,
                received_at,
                raw,
                handheld=topic_handheld,
            )
        try:
            scan = HandheldScan.model_validate_json(data)
        except ValidationError as exc:
            return self._reject(
                data,
                PatrolExceptionKind.MALFORMED,
                describe(exc),
                ScanSource.MQTT,
                received_at,
                raw,
                handheld=topic_handheld,
            )
        if topic_handheld is not None and scan.handheld != topic_handheld:
            reason = f"sent on the topic of {topic_handheld} but names handheld {scan.handheld}"
            return self._reject(
                data,
                PatrolExceptionKind.MALFORMED,
                reason,
                ScanSource.MQTT,
                received_at,
                raw,
                scan=scan,
            )
        source = ScanSource.MQTT if scan.handheld in self.carried else ScanSource.READER
        return self.check(scan, source=source, received_at=received_at, raw=data)

    def from_json(self, item: Any, received_at: int) -> ScanDecision:
        """One element of an HTTP sync array."""
        data = orjson.dumps(item)
        raw = data[:2048].decode("utf-8", errors="replace")
        try:
            scan = HandheldScan.model_validate(item)
        except ValidationError as exc:
            return self._reject(
                data,
                PatrolExceptionKind.MALFORMED,
                describe(exc),
                ScanSource.HTTP,
                received_at,
                raw,
            )
        return self.check(scan, source=ScanSource.HTTP, received_at=received_at, raw=data)

    def unreadable(self, body: bytes, reason: str, received_at: int) -> ScanDecision:
        """An HTTP sync body that is no array of scans."""
        raw = body[:2048].decode("utf-8", errors="replace")
        return self._reject(
            body, PatrolExceptionKind.MALFORMED, reason, ScanSource.HTTP, received_at, raw
        )

    # --- the checks ------------------------------------------------------------------------

    def check(
        self, scan: HandheldScan, *, source: ScanSource, received_at: int, raw: bytes
    ) -> ScanDecision:
        scan_id = scan.scan_id
        text = raw[:2048].decode("utf-8", errors="replace")
        if scan_id in self.memory.seen:
            return ScanDecision(ScanOutcome.DUPLICATE, scan_id=scan_id)
        if self.handhelds and scan.handheld not in self.handhelds:
            reason = f"handheld {scan.handheld} is not one of the site's"
            return self._reject(
                raw,
                PatrolExceptionKind.UNKNOWN_HANDHELD,
                reason,
                source,
                received_at,
                text,
                scan=scan,
            )
        verified = ScanVerification.NONE
        key = self.keys.get(scan.handheld)
        if key is not None:
            problem = key.problem or _signature_problem(scan, key.key)
            if problem is not None:
                return self._reject(
                    raw,
                    PatrolExceptionKind.BAD_SIGNATURE,
                    problem,
                    source,
                    received_at,
                    text,
                    scan=scan,
                )
            verified = ScanVerification.HMAC
        # Authentic from here on: remember it by its id, whatever the outcome.
        statements = self._remember(scan, received_at)
        replay = self._replay_problem(scan.handheld, scan.counter, scan.offline)
        self._count(scan.handheld, scan.counter)
        if replay is not None:
            message = self._exception(
                PatrolExceptionKind.REPLAY, replay, source, received_at, text, scan
            )
            return ScanDecision(ScanOutcome.EXCEPTION, message, statements, scan_id)
        checkpoint = self.site.checkpoint_by_tag(scan.tag_uid)
        if checkpoint is None:
            reason = f"tag {scan.tag_uid} is no checkpoint of site {self.site.site.id}"
            message = self._exception(
                PatrolExceptionKind.UNKNOWN_TAG, reason, source, received_at, text, scan
            )
            return ScanDecision(ScanOutcome.EXCEPTION, message, statements, scan_id)
        if checkpoint.sun_key_ref is not None:
            try:
                reading = self._verify_sun(scan, checkpoint)
            except SunError as exc:
                message = self._exception(
                    PatrolExceptionKind.CLONED_TAG, str(exc), source, received_at, text, scan
                )
                return ScanDecision(ScanOutcome.EXCEPTION, message, statements, scan_id)
            tag_key = tag_counter_key(reading.uid)
            statements += (self.memory.counter_used(tag_key, reading.counter, received_at),)
            replay = self._replay_problem(tag_key, reading.counter, scan.offline)
            self._count(tag_key, reading.counter)
            if replay is not None:
                reason = f"{replay}: a copied tag URL"
                message = self._exception(
                    PatrolExceptionKind.REPLAY, reason, source, received_at, text, scan
                )
                return ScanDecision(ScanOutcome.EXCEPTION, message, statements, scan_id)
            verified = ScanVerification.SUN
        accepted = PatrolScan(
            site=self.site.site.id,
            gateway=self.gateway,
            seq=0,
            scan_id=scan_id,
            handheld=scan.handheld,
            guard=scan.guard,
            tag_uid=scan.tag_uid,
            checkpoint=checkpoint.id,
            building=checkpoint.building,
            scanned_at=scan.scanned_at,
            received_at=received_at,
            source=source,
            synced_late=scan.offline or received_at - scan.scanned_at > LATE_SYNC_MS,
            counter=scan.counter,
            verified=verified,
            finding=scan.finding,
        )
        return ScanDecision(ScanOutcome.ACCEPTED, accepted, statements, scan_id)

    def _verify_sun(self, scan: HandheldScan, checkpoint: Checkpoint) -> SunReading:
        key = self.tag_keys.get(checkpoint.id)
        if key is None or key.key is None:
            problem = key.problem if key is not None else "no key on the gateway"
            raise SunError(f"checkpoint {checkpoint.id} is an NTAG 424 DNA tag: {problem}")
        if scan.sun is None:
            raise SunError(
                f"checkpoint {checkpoint.id} is an NTAG 424 DNA tag, but the scan carries no "
                "SUN message: a copied UID?"
            )
        reading = verify_sun(scan.sun.picc_data, scan.sun.cmac, key.key)
        if reading.uid != checkpoint.tag_uid:
            raise SunError(f"the SUN message is tag {reading.uid}'s, not {checkpoint.tag_uid}'s")
        return reading

    def _replay_problem(self, who: str, counter: int | None, offline: bool) -> str | None:
        if counter is None:
            return None
        counters = self.memory.counters.get(who)
        if counters is None:
            return None
        if counter in counters.recent:
            return f"counter {counter} of {who} was used by another scan"
        if counter > counters.high:
            return None
        if offline and counter > counters.high - COUNTER_WINDOW:
            return None  # made offline before the live scans that overtook it
        return f"counter {counter} of {who} does not rise (highest seen {counters.high})"

    def _count(self, who: str, counter: int | None) -> None:
        if counter is None:
            return
        self.memory.count(who, counter)

    def _remember(self, scan: HandheldScan, at: int) -> tuple[Statement, ...]:
        statements = [self.memory.remember(scan.scan_id, at)]
        if scan.counter is not None:
            statements.append(self.memory.counter_used(scan.handheld, scan.counter, at))
        return tuple(statements)

    def _reject(
        self,
        data: bytes,
        kind: PatrolExceptionKind,
        reason: str,
        source: ScanSource,
        received_at: int,
        raw: str,
        *,
        scan: HandheldScan | None = None,
        handheld: str | None = None,
    ) -> ScanDecision:
        """An exception for a scan that is not (known to be) authentic."""
        scan_id = scan.scan_id if scan is not None else None
        if self.memory.remember_rejected(data):
            return ScanDecision(ScanOutcome.DUPLICATE, scan_id=scan_id)
        message = self._exception(kind, reason, source, received_at, raw, scan, handheld)
        return ScanDecision(ScanOutcome.EXCEPTION, message, (), scan_id)

    def _exception(
        self,
        kind: PatrolExceptionKind,
        reason: str,
        source: ScanSource,
        received_at: int,
        raw: str,
        scan: HandheldScan | None,
        handheld: str | None = None,
    ) -> PatrolException:
        return PatrolException(
            site=self.site.site.id,
            gateway=self.gateway,
            seq=0,
            kind=kind,
            reason=reason[:4000],
            received_at=received_at,
            source=source,
            handheld=scan.handheld if scan else (handheld[:256] if handheld else None),
            guard=scan.guard if scan else None,
            tag_uid=scan.tag_uid if scan else None,
            scanned_at=scan.scanned_at if scan else None,
            raw=raw[:2048],
        )


def _signature_problem(scan: HandheldScan, key: bytes | None) -> str | None:
    if key is None:
        return "the gateway has no key for this handheld"
    if scan.signature is None:
        return f"{scan.handheld} signs its scans, but this one is unsigned"
    if scan.counter is None:
        return "a signed scan needs its counter"
    expected = hmac.new(key, scan.signing_text(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, scan.signature):
        return "the signature does not match the handheld's key"
    return None
