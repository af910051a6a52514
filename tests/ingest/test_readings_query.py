"""The query layer's planning and InfluxQL text: pure, table-tested."""

from __future__ import annotations

from datetime import timedelta

import pytest

from estatewatch.config.devices import DeviceKind
from estatewatch.readings.query import Planner
from estatewatch.readings.quoting import duration, ident, literal
from estatewatch.readings.schema import Retention, backfill_statement, setup_statements
from estatewatch.readings.store import Aggregate

DAY = 86_400_000
NOW = 1_000 * DAY
PLANNER = Planner(Retention(), rollup_after=timedelta(days=2))


@pytest.mark.parametrize(
    ("start", "window", "source"),
    [
        (NOW - DAY, None, "raw"),
        (NOW - DAY, timedelta(minutes=5), "raw"),
        (NOW - 3 * DAY, timedelta(minutes=5), "rollup_1m"),  # long: rollups answer faster
        (NOW - 3 * DAY, None, "raw"),  # raw points still there, asked for raw
        (NOW - 3 * DAY, timedelta(seconds=30), "raw"),  # not whole minutes
        (NOW - 31 * DAY, None, "rollup_1m"),  # beyond the raw retention
        (NOW - 31 * DAY, timedelta(hours=1), "rollup_1m"),
        (NOW - 31 * DAY, timedelta(seconds=90), "raw"),
    ],
)
def test_source_choice(start: int, window: timedelta | None, source: str) -> None:
    assert PLANNER.source(now=NOW, start=start, window=window) == source


def test_without_rollups_it_is_always_raw() -> None:
    planner = Planner(Retention(raw_policy=None, rollup_policy=None))
    assert planner.source(now=NOW, start=0, window=timedelta(hours=1)) == "raw"


def test_quoting_cannot_be_escaped_from() -> None:
    assert ident('we"ird') == '"we\\"ird"'
    assert literal("o'brien\\") == "'o\\'brien\\\\'"
    assert duration(timedelta(days=30)) == "720h"
    assert duration(timedelta(minutes=10)) == "10m"
    assert duration(timedelta(milliseconds=1500)) == "1500ms"
    with pytest.raises(ValueError, match="positive"):
        duration(timedelta(0))


def test_statements() -> None:
    kind = DeviceKind.WATER_PUMP_SET
    raw = PLANNER.range(source="raw", site="hv", kind=kind, device="p'1", point="x",
                        start=1, end=2, limit=10)  # fmt: skip
    assert raw == (
        'SELECT "x", "x.quality" FROM "raw"."water_pump_set" WHERE "device" = \'p\\\'1\' AND '
        "\"site\" = 'hv' AND time >= 1ms AND time < 2ms ORDER BY time ASC LIMIT 10"
    )
    hourly = timedelta(hours=1)
    agg = PLANNER.aggregate(source="rollup_1m", site="hv", kind=kind, device="p", point="x",
                            start=1, end=2, window=hourly, fn=Aggregate.LAST)  # fmt: skip
    assert agg.startswith('SELECT last("mean_x") FROM "rollup_1m"."water_pump_set" WHERE')
    assert agg.endswith("GROUP BY time(3600000ms) fill(none)")
    unqualified = Planner(Retention(raw_policy=None, rollup_policy=None))
    assert 'FROM "elevator" WHERE' in unqualified.readings(
        site="hv", kind=DeviceKind.ELEVATOR, start=0, end=1, device=None, limit=5
    )


def test_setup_and_backfill_statements() -> None:
    statements = setup_statements("ew", Retention(raw=timedelta(days=7)))
    assert statements[0] == 'CREATE DATABASE "ew"'
    assert 'CREATE RETENTION POLICY "raw" ON "ew" DURATION 168h REPLICATION 1 DEFAULT' in statements
    cq = statements[-1]
    assert cq.startswith('CREATE CONTINUOUS QUERY "ew_rollup_1m" ON "ew" RESAMPLE EVERY 1m FOR 10m')
    kinds = "|".join(sorted(k.value for k in DeviceKind))  # every kind's measurement
    assert f'INTO "ew"."rollup_1m".:MEASUREMENT FROM "ew"."raw"./^({kinds})$/' in cq
    assert backfill_statement("ew", Retention(), 0, 60_000).endswith(
        "WHERE time >= 0ms AND time < 60000ms GROUP BY time(1m), *"
    )
    assert setup_statements("ew", Retention(raw_policy=None, rollup_policy=None)) == [
        'CREATE DATABASE "ew"'
    ]


def test_retention_refuses_rollups_shorter_than_raw() -> None:
    with pytest.raises(ValueError, match="longer"):
        Retention(raw=timedelta(days=30), rollup=timedelta(days=7))
