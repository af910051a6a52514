"""Where batches go: one small interface, two InfluxDB API flavours and an embedded store, a
registry by name.

    v1  InfluxDB 1.x, and the v1-compatible endpoint of 2.x/3.x: line protocol POSTed to
        ``/write?db=&rp=&precision=ms`` over one keep-alive httpx client, basic auth or token.
    v2  InfluxDB 2.x and 3.x: influxdb-client's write service (``/api/v2/write``), with org,
        bucket and token. The library's own gzip is level 9 and its write API retries by
        itself; ingest compresses at its own level and does its own retries, so it calls
        the library's `WriteService.post_write` with the body already compressed.

    sqlite  the embedded store (`estatewatch.readings.sqlite`), one SQLite file and no server:
        the lines are parsed back (`ingest.lineparse`) and written as rows, in one
        transaction per batch; rows older than the retention are pruned after writes.

All raise `RetryableWriteError` (network, 5xx, 429, and 401/403/404: credentials or a
missing database are fixed by an operator, not by dropping data) or `RejectedWriteError`
(400, 413, 422: the data itself; for sqlite, a line that is not ingest's line protocol or
does not fit the schema).

One 400 is a success: ``partial write: points beyond retention policy dropped=N`` (1.x;
2.x says the same in a 422) means InfluxDB wrote every point of the batch but the N older
than its retention policy. A gateway back from a long outage forwards such readings;
retrying cannot store them and halving the batch would only rewrite the rest. `write`
returns N, and the embedded store drops such points the same way.
"""

from __future__ import annotations

import asyncio
import logging
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import httpx
import orjson

from estatewatch.clock import Clock
from ingest.errors import RejectedWriteError, RetryableWriteError, WriteError

log = logging.getLogger(__name__)

REJECTED = frozenset({400, 413, 422})


class Sink(Protocol):
    """Writes one batch of line protocol (ms timestamps) or raises a `WriteError`; returns
    how many of its points the store dropped as older than its retention (the rest are
    written)."""

    name: str

    async def write(self, lines: bytes) -> int: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class SinkSettings:
    url: str = "http://127.0.0.1:8086"
    database: str = "estatewatch"
    retention_policy: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    org: str | None = None
    bucket: str | None = None
    token: str | None = field(default=None, repr=False)
    gzip_level: int = 0
    """0 sends plain text: on one host (or a LAN) it is the faster choice, since both sides
    spend CPU on compression (measured: end-to-end rate halved at level 1 on the bench
    machine). Over a slow or metered link, level 1 shrinks telemetry two- to five-fold."""
    timeout: float = 30.0
    sqlite_path: str | None = None
    """The sqlite sink's file (created with its tables when missing)."""
    sqlite_retention: timedelta = timedelta(days=30)
    """The sqlite sink deletes raw rows older than this (hourly, after a write)."""


def classify(status: int, text: str, retry_after: str | None = None) -> WriteError | None:
    """The error for an HTTP answer to a write, None for success."""
    if 200 <= status < 300:
        return None
    reason = _reason(text) or f"HTTP {status}"
    if status in REJECTED:
        return RejectedWriteError(status, reason)
    return RetryableWriteError(f"{status}: {reason}", retry_after=_seconds(retry_after))


_BEYOND_RETENTION = re.compile(
    r"(?:^|: )partial write: points beyond retention policy dropped=(\d+)\s*$"
)


def beyond_retention(status: int, text: str) -> int | None:
    """N when the answer is InfluxDB's "partial write: points beyond retention policy
    dropped=N" and nothing else (a parse error or a type conflict in the same batch is a
    rejection); None otherwise."""
    if status not in (400, 422):
        return None
    match = _BEYOND_RETENTION.search(_reason(text))
    return int(match.group(1)) if match else None


def _reason(text: str) -> str:
    """InfluxDB's `{"error": "..."}` (1.x) or `{"code":..,"message": "..."}` (2.x) text."""
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text.strip()[:2000]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or text)[:2000]
    return text.strip()[:2000]


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


def gzip(data: bytes, level: int) -> bytes:
    """gzip framing (what ``Content-Encoding: gzip`` means) at `level`."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


async def _encode(lines: bytes, level: int) -> bytes:
    if level <= 0:
        return lines
    return await asyncio.to_thread(gzip, lines, level)  # zlib releases the GIL


class InfluxV1Sink:
    name = "v1"

    def __init__(self, settings: SinkSettings) -> None:
        self.settings = settings
        params = {"db": settings.database, "precision": "ms"}
        if settings.retention_policy:
            params["rp"] = settings.retention_policy
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if settings.gzip_level > 0:
            headers["Content-Encoding"] = "gzip"
        if settings.token:
            headers["Authorization"] = f"Token {settings.token}"
        auth = None
        if settings.username is not None:
            auth = httpx.BasicAuth(settings.username, settings.password or "")
        self._http = httpx.AsyncClient(
            base_url=settings.url,
            params=params,
            headers=headers,
            auth=auth,
            timeout=settings.timeout,
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
        )

    async def write(self, lines: bytes) -> int:
        content = await _encode(lines, self.settings.gzip_level)
        try:
            response = await self._http.post("/write", content=content)
        except httpx.TransportError as exc:
            raise RetryableWriteError(f"{self.settings.url}: {exc!r}") from exc
        dropped = beyond_retention(response.status_code, response.text)
        if dropped is not None:
            return dropped
        error = classify(response.status_code, response.text, response.headers.get("Retry-After"))
        if error is not None:
            raise error
        return 0

    async def aclose(self) -> None:
        await self._http.aclose()


class InfluxV2Sink:
    name = "v2"

    def __init__(self, settings: SinkSettings) -> None:
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.service.write_service import WriteService

        if not (settings.org and settings.bucket and settings.token):
            raise ValueError("the v2 sink needs org, bucket and token")
        self.settings = settings
        self._client = InfluxDBClient(
            url=settings.url,
            token=settings.token,
            org=settings.org,
            timeout=int(settings.timeout * 1000),
        )
        self._service = WriteService(self._client.api_client)  # type: ignore[no-untyped-call]

    def _post(self, content: bytes) -> int:
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        s = self.settings
        extra: dict[str, Any] = {}
        if s.gzip_level > 0:
            extra["content_encoding"] = "gzip"
        try:
            self._service.post_write(  # type: ignore[no-untyped-call]
                org=s.org,
                bucket=s.bucket,
                body=content,
                precision="ms",
                content_type="text/plain; charset=utf-8",
                **extra,
            )
        except ApiException as exc:
            text = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else exc.body
            text = str(text or exc.reason)
            dropped = beyond_retention(exc.status or 0, text)
            if dropped is not None:
                return dropped
            headers: Mapping[str, str] = exc.headers or {}
            error = classify(exc.status or 0, text, headers.get("Retry-After"))
            raise error or RetryableWriteError(str(exc)) from exc
        except (HTTPError, OSError) as exc:
            raise RetryableWriteError(f"{s.url}: {exc!r}") from exc
        return 0

    async def write(self, lines: bytes) -> int:
        content = await _encode(lines, self.settings.gzip_level)
        return await asyncio.to_thread(self._post, content)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._client.close)


class SqliteSink:
    """Writes into the embedded SQLite store. The file is opened at the first write (so a
    bad path is retried and logged like an unreachable InfluxDB, not a crash)."""

    name = "sqlite"

    def __init__(self, settings: SinkSettings, *, clock: Clock | None = None) -> None:
        from estatewatch.readings.sqlite import SqliteReadingStore

        if not settings.sqlite_path:
            raise ValueError("the sqlite sink needs sqlite_path")
        self.settings = settings
        self.store = SqliteReadingStore(
            settings.sqlite_path, retention=settings.sqlite_retention, clock=clock
        )
        self._open = False

    async def write(self, lines: bytes) -> int:
        from estatewatch.readings.sqlite_schema import PointRejected
        from estatewatch.readings.store import ReadingsError
        from ingest.lineparse import LineProtocolError, parse_lines

        try:
            points = await asyncio.to_thread(parse_lines, lines)
        except LineProtocolError as exc:
            raise RejectedWriteError(400, str(exc)) from exc
        try:
            if not self._open:
                await self.store.open()
                self._open = True
            written = await self.store.write_within_retention(points)
        except PointRejected as exc:
            raise RejectedWriteError(400, str(exc)) from exc
        except ReadingsError as exc:
            raise RetryableWriteError(str(exc)) from exc
        try:
            await self.store.prune_if_due()
        except ReadingsError as exc:  # the batch is written; pruning tries again next time
            log.warning("pruning %s failed: %s", self.settings.sqlite_path, exc)
        return written.dropped

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            await self.store.aclose()


SINKS: dict[str, Callable[[SinkSettings], Sink]] = {
    InfluxV1Sink.name: InfluxV1Sink,
    InfluxV2Sink.name: InfluxV2Sink,
    SqliteSink.name: SqliteSink,
}
"""Sink flavour name -> factory (`estatewatch ingest` picks v2 when given org/bucket,
sqlite when given `--sqlite PATH`)."""


def make_sink(name: str, settings: SinkSettings) -> Sink:
    try:
        factory = SINKS[name]
    except KeyError:
        raise ValueError(f"unknown sink {name!r}; known: {', '.join(sorted(SINKS))}") from None
    return factory(settings)
