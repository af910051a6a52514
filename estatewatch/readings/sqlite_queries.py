"""The SQL of the embedded store's questions, as functions of a connection (run on a database
thread by `SqliteReadingStore`). Every value is a bound parameter; the only text put into a
statement is an aggregate's SQL function, chosen from a fixed table."""

from __future__ import annotations

import sqlite3
from typing import Any

from estatewatch.readings.sqlite_schema import STATUS_COLUMNS, SeriesKey
from estatewatch.readings.store import Aggregate, QueryError

Row = tuple[Any, ...]

_SERIES_ID = "SELECT id FROM series WHERE site = ? AND kind = ? AND device = ? AND point = ?"

SERIES_WITH_OLD_ROWS = """
    SELECT id FROM series AS s
    WHERE EXISTS (SELECT 1 FROM readings WHERE series = s.id AND ts < ?) ORDER BY id"""


def prune_series(conn: sqlite3.Connection, *, series: int, cutoff: int, at_most: int) -> int:
    """Delete at most `at_most` of the series' rows older than the cutoff, the oldest first:
    up to the `at_most`-th oldest ts, found on the primary key."""
    sql = """
        DELETE FROM readings WHERE series = :series AND ts < :cutoff AND ts <= coalesce(
            (SELECT ts FROM readings WHERE series = :series AND ts < :cutoff
             ORDER BY ts LIMIT 1 OFFSET :n),
            :cutoff)"""
    args = {"series": series, "cutoff": cutoff, "n": max(0, at_most - 1)}
    return conn.execute(sql, args).rowcount


def prune_events(conn: sqlite3.Connection, cutoff: int) -> int:
    """Status and health rows older than the cutoff (small tables: a scan is cheap)."""
    deleted = conn.execute("DELETE FROM device_status WHERE ts < ?", (cutoff,)).rowcount
    return deleted + conn.execute("DELETE FROM gateway_health WHERE ts < ?", (cutoff,)).rowcount


def latest(
    conn: sqlite3.Connection, *, site: str, kind: str, device: str, points: list[str] | None
) -> list[Row]:
    """(point, ts, value, quality) of the newest row with a value, per series of the device.
    The subquery walks the primary key backwards and stops at the first value."""
    sql = """
        SELECT s.point, r.ts, r.value, r.quality FROM series AS s
        JOIN readings AS r ON r.series = s.id AND r.ts = (
            SELECT ts FROM readings WHERE series = s.id AND value IS NOT NULL
            ORDER BY ts DESC LIMIT 1)
        WHERE s.site = ? AND s.kind = ? AND s.device = ?"""
    args: list[Any] = [site, kind, device]
    if points is not None:
        sql += f" AND s.point IN ({', '.join('?' * len(points))})"
        args += points
    return conn.execute(sql + " ORDER BY s.point", args).fetchall()


def points(conn: sqlite3.Connection, kind: str) -> list[str]:
    rows = conn.execute("SELECT DISTINCT point FROM series WHERE kind = ? ORDER BY point", (kind,))
    return [r[0] for r in rows]


def range_(conn: sqlite3.Connection, key: SeriesKey, start: int, end: int, limit: int) -> list[Row]:
    """(ts, value, quality) in [start, end), oldest first."""
    sql = f"""
        SELECT ts, value, quality FROM readings
        WHERE series = ({_SERIES_ID}) AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?"""
    return conn.execute(sql, (*key, start, end, max(0, limit))).fetchall()


# fn -> (SQL aggregate, which values take part). Like InfluxQL: mean of numbers only, min and
# max of numbers and booleans (any false / any true), last of any value.
_AGGREGATES: dict[Aggregate, tuple[str, str]] = {
    Aggregate.MEAN: ("avg(value)", "typeof(value) = 'real'"),
    Aggregate.MIN: ("min(value)", "typeof(value) IN ('real', 'integer')"),
    Aggregate.MAX: ("max(value)", "typeof(value) IN ('real', 'integer')"),
    # SQLite: with max(), bare columns come from the row holding the maximum.
    Aggregate.LAST: ("value, max(ts)", "value IS NOT NULL"),
}
_TYPES: dict[Aggregate, frozenset[str]] = {
    Aggregate.MEAN: frozenset({"real"}),
    Aggregate.MIN: frozenset({"real", "integer"}),
    Aggregate.MAX: frozenset({"real", "integer"}),
    Aggregate.LAST: frozenset({"real", "integer", "text"}),
}
"""The value types (by the point's newest value) each fn accepts; InfluxQL refuses the rest."""


PER_WINDOW = 2000
"""Up to this many windows, one plain aggregate per window (a range scan on the key each)
beats GROUP BY, which sorts through a temporary B-tree (measured: 3-8x on a day of 1 s
readings; bench/readings.py)."""


def aggregate(
    conn: sqlite3.Connection, key: SeriesKey, start: int, end: int, window: int, fn: Aggregate
) -> list[Row]:
    """(window start, value) per window with data; windows aligned to the epoch, as
    InfluxQL's GROUP BY time() aligns them."""
    found = conn.execute(_SERIES_ID, key).fetchone()
    if found is None or start >= end:
        return []
    series = found[0]
    call, values = _AGGREGATES[fn]
    newest = conn.execute(
        "SELECT typeof(value) FROM readings WHERE series = ? AND value IS NOT NULL "
        "ORDER BY ts DESC LIMIT 1",
        (series,),
    ).fetchone()
    if newest is not None and newest[0] not in _TYPES[fn]:
        what = "a boolean" if newest[0] == "integer" else "a text"
        raise QueryError(f"{fn.value} of {what} point ({key[3]}) is not supported")
    first = start - start % window
    if (end - first) // window <= PER_WINDOW:
        sql = (
            f"SELECT {call}, count(*) FROM readings "
            f"WHERE series = ? AND ts >= ? AND ts < ? AND {values}"
        )
        out = []
        for bucket in range(first, end, window):
            row = conn.execute(sql, (series, max(bucket, start), min(bucket + window, end)))
            value, *_, count = row.fetchone()
            if count:
                out.append((bucket, value))
        return out
    sql = f"""
        SELECT (ts / :w) * :w AS bucket, {call} FROM readings
        WHERE series = :series AND ts >= :start AND ts < :end AND {values}
        GROUP BY bucket ORDER BY bucket"""
    args = {"w": window, "series": series, "start": start, "end": end}
    return [(row[0], row[1]) for row in conn.execute(sql, args)]


def readings(
    conn: sqlite3.Connection,
    *,
    site: str,
    kind: str,
    device: str | None,
    start: int,
    end: int,
    limit: int,
) -> list[Row]:
    """(device, building, room, point, ts, value, quality) ordered by (ts, device): enough
    rows for `limit` whole readings (a reading has at most one row per point of its device).
    """
    where, args = "site = ? AND kind = ?", [site, kind]
    if device is not None:
        where += " AND device = ?"
        args.append(device)
    (widest,) = conn.execute(
        f"SELECT max(n) FROM (SELECT count(*) AS n FROM series WHERE {where} GROUP BY device)",
        args,
    ).fetchone()
    if not widest or limit <= 0:
        return []
    sql = f"""
        SELECT s.device, s.building, s.room, s.point, r.ts, r.value, r.quality
        FROM readings AS r JOIN series AS s ON s.id = r.series
        WHERE r.series IN (SELECT id FROM series WHERE {where}) AND r.ts >= ? AND r.ts < ?
        ORDER BY r.ts, s.device LIMIT ?"""
    return conn.execute(sql, [*args, start, end, limit * widest]).fetchall()


def statuses(
    conn: sqlite3.Connection, *, site: str, device: str, start: int, end: int, limit: int
) -> list[dict[str, Any]]:
    columns = ("ts", *STATUS_COLUMNS, "kind", "building", "room")
    sql = f"""
        SELECT {", ".join(columns)} FROM device_status
        WHERE site = ? AND device = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?"""
    rows = conn.execute(sql, (site, device, start, end, max(0, limit)))
    return [dict(zip(columns, row, strict=True)) for row in rows]
