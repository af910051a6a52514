"""Line protocol read back: the inverse of `ingest.lineproto`, for sinks that are not InfluxDB
(the embedded SQLite store). Strict: it accepts what ingest writes and refuses the rest.

    measurement[,tag=value...] field=value[,field=value...] timestamp

Accepted: escapes as `lineproto` writes them (``\\,`` and ``\\ `` in a measurement; ``\\,``
``\\=`` ``\\ `` in tag keys, tag values and field keys; ``\\"`` and ``\\\\`` in a string);
a backslash before any other character is itself. Values: floats (``3``, ``-0.5``,
``1e16``), ``true``/``false``, double-quoted strings (which may hold line breaks). The
timestamp is required (integer milliseconds). Refused, with the line's number: integers
(``3i``), other boolean spellings, NaN and infinities, missing parts, a field given twice,
comments. Empty lines are skipped.
"""

from __future__ import annotations

import math
import re

from estatewatch.contracts.payloads import Scalar
from estatewatch.readings.sqlite_schema import Point

_NAME = r"(?:[^,= \\\n]|\\[,= ]|\\(?![,= \n]))+"
"""A tag key or value, or a field key: escaped separators, or a backslash standing alone."""
_MEASUREMENT = r"(?:[^, \\\n]|\\[, ]|\\(?![, \n]))+"
_VALUE = r'"(?:[^"\\]|\\.)*"|[^,\s"]+'

_LINE = re.compile(
    rf"(?P<m>{_MEASUREMENT})(?P<tags>(?:,{_NAME}={_NAME})*)"
    rf" (?P<fields>{_NAME}=(?:{_VALUE})(?:,{_NAME}=(?:{_VALUE}))*)"
    r" (?P<ts>-?[0-9]+)(?:\n|\Z)",
    re.DOTALL,
)
_TAG = re.compile(rf",({_NAME})=({_NAME})")
_FIELD = re.compile(rf"({_NAME})=({_VALUE}),?", re.DOTALL)
_FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_KEY_ESCAPE = re.compile(r"\\([,= ])")
_MEASUREMENT_ESCAPE = re.compile(r"\\([, ])")
_STRING_ESCAPE = re.compile(r'\\(["\\])')


class LineProtocolError(ValueError):
    """Text that is not line protocol as ingest writes it; says which line and why."""


def _key(text: str) -> str:
    return _KEY_ESCAPE.sub(r"\1", text) if "\\" in text else text


def _value(text: str) -> Scalar:
    if text[0] == '"':
        body = text[1:-1]
        return _STRING_ESCAPE.sub(r"\1", body) if "\\" in body else body
    if text == "true":
        return True
    if text == "false":
        return False
    if not _FLOAT.fullmatch(text):
        raise ValueError(f"{text!r} is not a float, true, false or a quoted string")
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    return number


def _point(match: re.Match[str]) -> Point:
    m = match.group("m")
    measurement = _MEASUREMENT_ESCAPE.sub(r"\1", m) if "\\" in m else m
    tags: dict[str, str] = {}
    for key, value in _TAG.findall(match.group("tags")):
        key = _key(key)
        if key in tags:
            raise ValueError(f"tag {key!r} is given twice")
        tags[key] = _key(value)
    fields: dict[str, Scalar] = {}
    for key, value in _FIELD.findall(match.group("fields")):
        key = _key(key)
        if key in fields:
            raise ValueError(f"field {key!r} is given twice")
        fields[key] = _value(value)
    return Point(measurement, tags, fields, int(match.group("ts")))


def parse_lines(data: bytes | str) -> list[Point]:
    """Every point of `data`, in order, or `LineProtocolError` for the first bad line."""
    try:
        text = data.decode() if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise LineProtocolError(f"not UTF-8 at byte {exc.start}") from None
    points: list[Point] = []
    pos, line, size = 0, 1, len(text)
    while pos < size:
        if text[pos] == "\n":
            pos, line = pos + 1, line + 1
            continue
        match = _LINE.match(text, pos)
        if match is None:
            end = text.find("\n", pos)
            snippet = text[pos : end if end >= 0 else size][:200]
            raise LineProtocolError(f"line {line}: not line protocol: {snippet!r}")
        try:
            points.append(_point(match))
        except ValueError as exc:
            raise LineProtocolError(f"line {line}: {exc}") from None
        line += match.group(0).count("\n")
        pos = match.end()
    return points
