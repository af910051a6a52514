"""What the gateway knows about handhelds: their HMAC keys (from the environment) and the
memory of their scans — ids seen, counters used — that makes duplicates and replays
detectable across restarts."""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from estatewatch.config import SiteConfig
from gateway.store import Statement

COUNTER_WINDOW = 1024
"""Counters remembered per handheld; a scan synced late may be this far behind."""
MEMORY_MS = 30 * 86_400_000
"""How long a scan id is remembered (a handheld syncs within hours; 30 days is ample)."""
REJECTED_MEMORY = 10_000


@dataclass(frozen=True, slots=True)
class HandheldKey:
    key: bytes | None
    problem: str | None = None


def _key_from_env(env: Mapping[str, str], ref: str, *, size: int | None = None) -> HandheldKey:
    """The hex key in environment variable `ref`, or the problem with it (said by the scans
    it refuses: a configured key is never silently skipped)."""
    text = env.get(ref, "").strip()
    if not text:
        return HandheldKey(None, f"{ref} is not set on the gateway")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = None
    if key is None or (size is not None and len(key) != size):
        kind = f"a {size}-byte hex AES key" if size is not None else "a hex key"
        return HandheldKey(None, f"{ref} does not hold {kind}")
    return HandheldKey(key)


def load_keys(site: SiteConfig, environ: Mapping[str, str] | None = None) -> dict[str, HandheldKey]:
    """Each keyed handheld's HMAC key from the environment variable its `key_ref` names
    (hex); a missing or unreadable key is a problem its scans will report."""
    env = os.environ if environ is None else environ
    return {h.id: _key_from_env(env, h.key_ref) for h in site.handhelds if h.key_ref}


def load_tag_keys(
    site: SiteConfig, environ: Mapping[str, str] | None = None
) -> dict[str, HandheldKey]:
    """Each NTAG 424 DNA checkpoint's SDM key (by checkpoint id) from the environment
    variable its `sun_key_ref` names; a missing or unusable key is a problem its scans report
    (refused as `cloned_tag`: an unverifiable tag proves nothing)."""
    env = os.environ if environ is None else environ
    return {
        c.id: _key_from_env(env, c.sun_key_ref, size=16) for c in site.checkpoints if c.sun_key_ref
    }


def tag_counter_key(tag_uid: str) -> str:
    """Where a tag's SUN read counters are kept among the handhelds' counters (the colon
    cannot occur in a handheld id, so the two never meet)."""
    return f"tag:{tag_uid}"


@dataclass
class Counters:
    high: int = -1
    recent: set[int] = field(default_factory=set)


@dataclass
class ScanMemory:
    """Scan ids seen (with when) and counters used, per handheld."""

    seen: dict[str, int] = field(default_factory=dict)
    counters: dict[str, Counters] = field(default_factory=dict)
    rejected: OrderedDict[bytes, None] = field(default_factory=OrderedDict)

    def remember_rejected(self, raw: bytes) -> bool:
        """Whether these exact bytes were rejected before (and remember them if not)."""
        digest = hashlib.sha256(raw).digest()
        if digest in self.rejected:
            return True
        self.rejected[digest] = None
        while len(self.rejected) > REJECTED_MEMORY:
            self.rejected.popitem(last=False)
        return False

    @classmethod
    def from_rows(
        cls, seen: Iterable[Sequence[object]], counters: Iterable[Sequence[object]]
    ) -> ScanMemory:
        """The memory as the store holds it: (scan_id, at_ms) and (handheld, counter) rows."""
        memory = cls(seen={str(scan_id): int(str(at)) for scan_id, at in seen})
        for handheld, value in counters:
            counter = int(str(value))
            entry = memory.counters.setdefault(str(handheld), Counters())
            entry.recent.add(counter)
            entry.high = max(entry.high, counter)
        return memory

    def prune(self, now_ms: int) -> list[Statement]:
        """Forget what is too old; the statements do the same in the store."""
        cutoff = now_ms - MEMORY_MS
        self.seen = {k: at for k, at in self.seen.items() if at >= cutoff}
        statements: list[Statement] = [("DELETE FROM scans_seen WHERE at_ms < ?", (cutoff,))]
        for handheld, counters in self.counters.items():
            floor = counters.high - COUNTER_WINDOW
            counters.recent = {c for c in counters.recent if c > floor}
            statements.append(
                ("DELETE FROM scan_counters WHERE handheld = ? AND counter <= ?", (handheld, floor))
            )
        return statements
