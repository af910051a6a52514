"""Scans in (site MQTT, HTTP sync) → durable ledger → `PatrolScan` / `PatrolException` out.

One SQLite transaction per submission (an MQTT message, or a whole HTTP batch) remembers the
scan ids seen (for `SEEN_TTL`, so a handheld re-sending collapses to one), the handheld's
counter, and enqueues what is forwarded: a crash never forwards a scan twice or loses one.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from estatewatch.clock import Clock, to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import (
    HandheldScan,
    PatrolException,
    PatrolExceptionKind,
    PatrolScan,
    ScanSource,
)
from gateway.outbox import Outbox, Outgoing
from gateway.scans import Accepted, check_scan, parse_scan, raw_text

log = logging.getLogger(__name__)

SEEN_TTL_MS = 30 * 86400 * 1000
SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_scans (scan_id TEXT PRIMARY KEY, seen_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS handheld_counters (handheld TEXT PRIMARY KEY, counter INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class ScanResult:
    index: int
    result: str  # accepted | duplicate | exception
    scan_id: str | None = None
    kind: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "result": self.result,
            "scan_id": self.scan_id,
            "kind": self.kind,
            "reason": self.reason,
        }


class ScanIntake:
    def __init__(
        self,
        outbox: Outbox,
        site: SiteConfig,
        keys: Mapping[str, bytes],
        *,
        gateway: str,
        clock: Clock,
    ) -> None:
        self.outbox = outbox
        self.site = site
        self.keys = keys
        self.gateway = gateway
        self.clock = clock
        self.counts: dict[str, int] = {"accepted": 0, "duplicate": 0, "exception": 0}

    async def prepare(self) -> None:
        await self.outbox.run(lambda: self.outbox.db.executescript(SCHEMA))

    async def submit(self, raws: Sequence[object], source: ScanSource) -> list[ScanResult]:
        """Validate and forward each raw scan; one durable transaction for all of them."""
        now = to_epoch_ms(self.clock.now())
        work = partial(self._submit, raws=raws, source=source, now=now)
        results = await self.outbox.run(partial(self.outbox.transaction, work))
        self.outbox.enqueued.set()
        for r in results:
            self.counts[r.result] += 1
            if r.result == "exception":
                log.warning(
                    "scan %s via %s: %s: %s", r.scan_id or "?", source.value, r.kind, r.reason
                )
        return results

    async def expire_seen(self) -> None:
        cutoff = to_epoch_ms(self.clock.now()) - SEEN_TTL_MS
        await self.outbox.run(
            partial(
                self.outbox.transaction,
                lambda db: db.execute("DELETE FROM seen_scans WHERE seen_ms < ?", (cutoff,)),
            )
        )

    # --- database thread -----------------------------------------------------------------

    def _submit(
        self, db: sqlite3.Connection, *, raws: Sequence[object], source: ScanSource, now: int
    ) -> list[ScanResult]:
        results = []
        for index, raw in enumerate(raws):
            scan = parse_scan(raw)
            if isinstance(scan, str):
                self._exception(db, PatrolExceptionKind.MALFORMED, scan, now, source, None, raw)
                results.append(ScanResult(index, "exception", None, "malformed", scan))
                continue
            results.append(self._one(db, index, scan, raw, source, now))
        return results

    def _one(
        self,
        db: sqlite3.Connection,
        index: int,
        scan: HandheldScan,
        raw: object,
        source: ScanSource,
        now: int,
    ) -> ScanResult:
        scan_id = scan.scan_id
        if db.execute("SELECT 1 FROM seen_scans WHERE scan_id = ?", (scan_id,)).fetchone():
            return ScanResult(index, "duplicate", scan_id)
        row = db.execute(
            "SELECT counter FROM handheld_counters WHERE handheld = ?", (scan.handheld,)
        ).fetchone()
        verdict = check_scan(
            scan,
            self.site,
            self.keys,
            last_counter=None if row is None else int(row[0]),
            received_at=now,
        )
        if isinstance(verdict, Accepted):
            message = PatrolScan(
                site=self.site.site.id,
                gateway=self.gateway,
                seq=0,
                scan_id=scan_id,
                handheld=scan.handheld,
                guard=scan.guard,
                tag_uid=scan.tag_uid,
                checkpoint=verdict.checkpoint,
                building=verdict.building,
                scanned_at=scan.scanned_at,
                received_at=now,
                source=source,
                synced_late=verdict.synced_late,
                counter=scan.counter,
                verified=verdict.verified,
                finding=scan.finding,
            )
            topic = topics.patrol_scan(self.site.site.id, self.gateway)
            self.outbox.put(db, [Outgoing("patrol_scan", topic, partial(_with_seq, message))])
            result = ScanResult(index, "accepted", scan_id)
        else:
            self._exception(db, verdict.kind, verdict.reason, now, source, scan, raw)
            result = ScanResult(index, "exception", scan_id, verdict.kind.value, verdict.reason)
        rejected = None if isinstance(verdict, Accepted) else verdict.kind
        if scan.counter is not None and rejected in (None, PatrolExceptionKind.UNKNOWN_TAG):
            db.execute(
                "INSERT INTO handheld_counters (handheld, counter) VALUES (?, ?)"
                " ON CONFLICT(handheld) DO UPDATE SET counter = MAX(counter, excluded.counter)",
                (scan.handheld, scan.counter),
            )
        if rejected is not PatrolExceptionKind.BAD_SIGNATURE:
            # (A forged scan must not block the genuine one with the same id.)
            db.execute(
                "INSERT OR IGNORE INTO seen_scans (scan_id, seen_ms) VALUES (?, ?)", (scan_id, now)
            )
        return result

    def _exception(
        self,
        db: sqlite3.Connection,
        kind: PatrolExceptionKind,
        reason: str,
        now: int,
        source: ScanSource,
        scan: HandheldScan | None,
        raw: object,
    ) -> None:
        message = PatrolException(
            site=self.site.site.id,
            gateway=self.gateway,
            seq=0,
            kind=kind,
            reason=reason[:4000],
            received_at=now,
            source=source,
            handheld=scan.handheld if scan else None,
            guard=scan.guard if scan else None,
            tag_uid=scan.tag_uid if scan else None,
            scanned_at=scan.scanned_at if scan else None,
            raw=raw_text(raw),
        )
        topic = topics.patrol_exception(self.site.site.id, self.gateway)
        self.outbox.put(db, [Outgoing("patrol_exception", topic, partial(_with_seq, message))])


def _with_seq(message: PatrolScan | PatrolException, seq: int) -> bytes:
    return message.model_copy(update={"seq": seq}).to_bytes()
