"""Stored readings: the InfluxDB schema (`schema`), the query interface (`ReadingStore`) and
its implementations: InfluxQL (`InfluxQLStore`) and one embedded SQLite file
(`SqliteReadingStore`, which also writes). Shared by ingest (the write side), the API and
the rules engine's replay; it knows nothing of how ingest works."""

from estatewatch.readings.influxql import InfluxConnection, InfluxQLStore
from estatewatch.readings.schema import Retention
from estatewatch.readings.sqlite import SqliteReadingStore
from estatewatch.readings.store import (
    Aggregate,
    PointValue,
    QueryError,
    ReadingsError,
    ReadingStore,
    Sample,
    Series,
    Source,
    StoreUnavailable,
)

__all__ = [
    "Aggregate",
    "InfluxConnection",
    "InfluxQLStore",
    "PointValue",
    "QueryError",
    "ReadingStore",
    "ReadingsError",
    "Retention",
    "Sample",
    "Series",
    "Source",
    "SqliteReadingStore",
    "StoreUnavailable",
]
