"""What the gateway knows about handhelds and NTAG 424 DNA checkpoints: their keys, from the
environment. (The memory of their scans is `gateway.scan_memory`.)"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from estatewatch.config import SiteConfig


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
