"""Keyset pagination: an opaque cursor holding the sort key of the last row of a page.

The next page starts strictly after that key, so a deep page costs what the first one does
(an index seek, not `OFFSET` rows read and thrown away), and rows that arrive meanwhile never
shift a page.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from api.domain.errors import InvalidInput

Key = tuple[Any, ...]


def encode(key: Key) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, types: tuple[type, ...]) -> Key:
    """The key a cursor holds, each value of its column's type; 422 naming `cursor` if it
    is not one this API handed out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(types):
            raise ValueError("wrong length")
        out: list[Any] = []
        for value, kind in zip(values, types, strict=True):
            if kind is datetime:
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    raise ValueError("naive time")
                out.append(parsed)
            elif isinstance(value, kind) and not isinstance(value, bool):
                out.append(value)
            else:
                raise ValueError(f"expected {kind.__name__}")
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "not a cursor from this list's X-Next-Cursor header", field="cursor"
        ) from exc
    return tuple(out)


def after(columns: tuple[InstrumentedAttribute[Any], ...], key: Key) -> ColumnElement[bool]:
    """Rows sorting after `key` in ascending order of `columns` (a row-value comparison,
    which both SQLite and PostgreSQL answer from an index on those columns)."""
    return tuple_(*columns) > tuple_(*key)
