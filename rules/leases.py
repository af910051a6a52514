"""Pure parts of rules on a JetStream cluster: which estates an instance takes or lets go
of, and the KV record an estate's rule state travels in between instances.

Balancing needs no coordinator: every instance sees the same lease keys, counts the live
instances by their heartbeat keys, and holds at most its fair share, `ceil(estates / live)`.
An estate nobody took for `ORPHAN_ROUNDS` rounds is taken whatever the share, so a count
that is momentarily wrong (an instance's heartbeat outliving its leases) leaves no estate
unwatched for long.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from rules.alarms import Alarm
from rules.state import EngineState as _EngineState
from rules.state import SiteState, snapshot

RECORD_VERSION = 1
ORPHAN_ROUNDS = 2


@dataclass(frozen=True)
class Moves:
    take: list[str] = field(default_factory=list)
    release: list[str] = field(default_factory=list)


def fair_share(estates: int, live: int) -> int:
    return math.ceil(estates / max(live, 1))


def plan_moves(
    sites: Sequence[str],
    *,
    me: str,
    held: Collection[str],
    taken: Collection[str],
    live: int,
    free_rounds: dict[str, int],
) -> Moves:
    """What to take and release this round. `taken` is every leased estate (ours
    included); `free_rounds` counts, per estate, the rounds it was seen free (updated here)."""
    share = fair_share(len(sites), live)
    free = [s for s in sites if s not in taken]
    for site in list(free_rounds):
        if site not in free:
            del free_rounds[site]
    for site in free:
        free_rounds[site] = free_rounds.get(site, 0) + 1
    # Each instance tries the free estates in its own order, so two instances starting
    # together mostly ask for different ones.
    free.sort(key=lambda s: hashlib.blake2b(f"{me}/{s}".encode(), digest_size=8).digest())
    room = max(share - len(held), 0)
    take = free[:room] + [s for s in free[room:] if free_rounds[s] > ORPHAN_ROUNDS]
    release: list[str] = []
    if not free and len(held) > share:
        release = sorted(held)[: len(held) - share][:1]  # one a round: no stampede
    return Moves(take, release)


@dataclass
class Record:
    """One estate's rule state as kept in the KV bucket `ew_rules_state`."""

    seq: int | None
    """The last stream sequence the state includes: the next owner reads on from there."""
    snapshot: dict[str, Any] | None
    alarms: list[Alarm]
    outbox: list[tuple[str, bytes]]
    """Alarm events written with this state and maybe not yet published: the next owner
    publishes them again (consumers are idempotent by alarm id and revision)."""

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "v": RECORD_VERSION,
                "seq": self.seq,
                "snapshot": self.snapshot,
                "alarms": [a.to_json() for a in self.alarms],
                "outbox": [[subject, payload.decode()] for subject, payload in self.outbox],
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes | None) -> Record:
        if not data:
            return cls(None, None, [], [])
        body = orjson.loads(data)
        if body.get("v") != RECORD_VERSION:
            return cls(None, None, [], [])
        return cls(
            seq=body["seq"],
            snapshot=body["snapshot"],
            alarms=[Alarm.from_json(a) for a in body["alarms"]],
            outbox=[(s, p.encode()) for s, p in body["outbox"]],
        )

    @classmethod
    def of(cls, site: SiteState, seq: int | None, outbox: list[tuple[str, bytes]]) -> Record:
        snap = snapshot(_EngineState(sites={site.site: site}))[site.site]
        return cls(seq, snap, list(site.book.by_id.values()), list(outbox))
