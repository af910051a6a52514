"""Ingest's errors. Library errors (httpx, influxdb-client, urllib3) become these at the
sink boundary, so the writer decides retry or dead letter on our types alone."""

from __future__ import annotations

from estatewatch.errors import EstateWatchError


class IngestError(EstateWatchError):
    """Base of every error ingest raises on purpose."""


class WriteError(IngestError):
    """A batch was not written."""


class RetryableWriteError(WriteError):
    """The database is unreachable, overloaded or refusing us for now (network error, 5xx,
    429, 401/403/404): nothing is wrong with the data, so the same batch is tried again.
    `retry_after` is the server's hint in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RejectedWriteError(WriteError):
    """The database refused the data itself (400 bad line, field type conflict, points
    beyond retention; 413 too large; 422). Trying again cannot help: the writer narrows the
    batch down to the message(s) at fault and dead-letters them with `reason`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason
