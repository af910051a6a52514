"""Validating a guard's scan against the site: pure.

A scan from a handheld the site does not know, with a bad signature, with a counter that does
not rise, or of a tag no checkpoint has is not dropped: it becomes a `PatrolException` the
duty room sees. A good one becomes a `PatrolScan` with its checkpoint and original time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from estatewatch.config import SiteConfig
from estatewatch.contracts.codec import describe
from estatewatch.contracts.payloads import (
    HandheldScan,
    PatrolExceptionKind,
    ScanVerification,
)

log = logging.getLogger(__name__)

LATE_SYNC_MS = 5 * 60 * 1000
"""A scan received this long after it was made was kept on the handheld (synced late)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    checkpoint: str
    building: str
    verified: ScanVerification
    synced_late: bool


@dataclass(frozen=True, slots=True)
class Rejected:
    kind: PatrolExceptionKind
    reason: str


Verdict = Accepted | Rejected


def parse_scan(raw: object) -> HandheldScan | str:
    """A scan from JSON bytes or an already parsed value; a reason string if malformed."""
    try:
        if isinstance(raw, bytes | str):
            return HandheldScan.model_validate_json(raw)
        return HandheldScan.model_validate(raw)
    except ValidationError as exc:
        return describe(exc)


def raw_text(raw: object) -> str:
    if isinstance(raw, bytes):
        return raw[:2048].decode("utf-8", errors="replace")
    if isinstance(raw, str):
        return raw[:2048]
    return json.dumps(raw, default=str, ensure_ascii=False)[:2048]


def handheld_keys(site: SiteConfig, environ: Mapping[str, str] = os.environ) -> dict[str, bytes]:
    """The HMAC key of each handheld whose `key_ref` names an environment variable holding hex."""
    keys: dict[str, bytes] = {}
    for handheld in site.handhelds:
        if handheld.key_ref is None or not environ.get(handheld.key_ref):
            continue
        try:
            keys[handheld.id] = bytes.fromhex(environ[handheld.key_ref])
        except ValueError:
            log.error(
                "%s: %s is not hex; its scans are not verified", handheld.id, handheld.key_ref
            )
    return keys


def check_scan(
    scan: HandheldScan,
    site: SiteConfig,
    keys: Mapping[str, bytes],
    *,
    last_counter: int | None,
    received_at: int,
) -> Verdict:
    """Accept the scan or say why not. `last_counter` is the handheld's highest accepted."""
    if not any(h.id == scan.handheld for h in site.handhelds):
        return Rejected(PatrolExceptionKind.UNKNOWN_HANDHELD, f"unknown handheld {scan.handheld!r}")
    verified = ScanVerification.NONE
    key = keys.get(scan.handheld)
    if key is not None:
        if scan.signature is None:
            return Rejected(PatrolExceptionKind.BAD_SIGNATURE, "the scan is not signed")
        expected = hmac.new(key, scan.signing_text(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, scan.signature):
            return Rejected(PatrolExceptionKind.BAD_SIGNATURE, "the signature does not match")
        verified = ScanVerification.HMAC
    if scan.counter is not None and last_counter is not None and scan.counter <= last_counter:
        return Rejected(
            PatrolExceptionKind.REPLAY,
            f"counter {scan.counter} does not rise above {last_counter} for {scan.handheld}",
        )
    checkpoint = site.checkpoint_by_tag(scan.tag_uid)
    if checkpoint is None:
        return Rejected(PatrolExceptionKind.UNKNOWN_TAG, f"no checkpoint has tag {scan.tag_uid}")
    late = scan.offline or received_at - scan.scanned_at > LATE_SYNC_MS
    return Accepted(checkpoint.id, checkpoint.building, verified, late)
