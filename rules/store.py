"""SQLite persistence: open alarms, an outbox of alarm events not yet acknowledged by the
broker, and periodic snapshots of the rule state. Blocking: the engine calls it through
`asyncio.to_thread`, from one writer task, so writes keep their order."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.alarms import Alarm
from rules.errors import StateError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    alarm_id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    site TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    saved_at INTEGER NOT NULL
);
"""


@dataclass
class Write:
    """One ordered unit of work: alarm rows to upsert or delete, events to send, and
    optionally a snapshot taken after those events."""

    alarms: dict[str, tuple[str, str]] = field(default_factory=dict)
    """alarm id -> (site, JSON body)."""
    closed: set[str] = field(default_factory=set)
    outbox: list[tuple[str, bytes]] = field(default_factory=list)
    snapshot: dict[str, str] | None = None
    """site -> JSON body."""
    saved_at: int = 0


@dataclass
class Loaded:
    snapshots: dict[str, dict[str, Any]]
    alarms: dict[str, list[Alarm]]
    outbox: list[tuple[int, str, bytes]]


class StateStore:
    """The engine's SQLite file (WAL; one connection guarded by a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def load(self) -> Loaded:
        with self._lock:
            try:
                snaps = {
                    site: json.loads(body)
                    for site, body in self._db.execute("SELECT site, body FROM snapshots")
                }
                alarms: dict[str, list[Alarm]] = {}
                for site, body in self._db.execute("SELECT site, body FROM alarms"):
                    alarms.setdefault(site, []).append(Alarm.from_json(json.loads(body)))
                outbox = [
                    (int(seq), str(topic), bytes(payload))
                    for seq, topic, payload in self._db.execute(
                        "SELECT seq, topic, payload FROM outbox ORDER BY seq"
                    )
                ]
            except (sqlite3.Error, ValueError, TypeError, KeyError) as exc:
                raise StateError(f"{self.path}: cannot read the saved state: {exc}") from exc
        return Loaded(snaps, alarms, outbox)

    def write(self, writes: list[Write]) -> list[tuple[int, str, bytes]]:
        """Apply `writes` in one transaction; return the outbox rows to publish."""
        rows: list[tuple[int, str, bytes]] = []
        with self._lock:
            try:
                self._db.execute("BEGIN")
                for w in writes:
                    for alarm_id, (site, body) in w.alarms.items():
                        self._db.execute(
                            "INSERT OR REPLACE INTO alarms (alarm_id, site, body) VALUES (?, ?, ?)",
                            (alarm_id, site, body),
                        )
                    for alarm_id in w.closed:
                        self._db.execute("DELETE FROM alarms WHERE alarm_id = ?", (alarm_id,))
                    for topic, payload in w.outbox:
                        cur = self._db.execute(
                            "INSERT INTO outbox (topic, payload) VALUES (?, ?)", (topic, payload)
                        )
                        rows.append((int(cur.lastrowid or 0), topic, payload))
                    if w.snapshot is not None:
                        for site, body in w.snapshot.items():
                            self._db.execute(
                                "INSERT OR REPLACE INTO snapshots (site, body, saved_at)"
                                " VALUES (?, ?, ?)",
                                (site, body, w.saved_at),
                            )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StateError(f"{self.path}: cannot save: {exc}") from exc
        return rows

    def sent(self, seqs: list[int]) -> None:
        """The broker acknowledged these outbox rows."""
        if not seqs:
            return
        with self._lock:
            try:
                self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
            except sqlite3.Error as exc:
                raise StateError(f"{self.path}: cannot update the outbox: {exc}") from exc
