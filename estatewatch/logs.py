"""Logs for people (text) or for log shippers (one JSON object per line)."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|PASSWD|TOKEN)$")
"""Environment variables whose values never appear in a log: every secret EstateWatch reads
from the environment is named so (EW_SECRET_KEY, EW_INFLUX_PASSWORD, EW_INFLUX_TOKEN, the
handhelds' and tags' *_KEY, the channels' *_KEY/*_TOKEN/*_SECRET)."""
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@", re.IGNORECASE)
MASK = "***"


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The secret values to mask, longest first (so a secret containing another is masked
    whole); values under 6 characters would mask ordinary words and are left alone."""
    found = {v for k, v in environ.items() if SECRET_NAME.search(k.upper()) and len(v) >= 6}
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with URL passwords (`mqtt://user:***@host`) and the given secret values masked."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFormatter(logging.Formatter):
    """Masks secrets in whatever `inner` makes of a record: message, arguments, exception
    and `extra=` fields alike, from every library's logger."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record), self.secrets)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """`fmt="json"` for log shippers (the docker-compose services), text for people."""
    handler = logging.StreamHandler(sys.stderr)
    inner: logging.Formatter = (
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.setFormatter(RedactingFormatter(inner, secret_values(os.environ)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
