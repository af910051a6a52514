"""A small line-protocol reader for assertions: what InfluxDB would make of our lines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, float | bool | str]
    ts: int


def _split(text: str, sep: str) -> list[str]:
    """Split on `sep` outside quotes and not after a backslash."""
    parts, cur, quoted, i = [], "", False, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur += text[i : i + 2]
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur)
    return parts


def _unescape(text: str) -> str:
    out, i = "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out += text[i + 1]
            i += 2
        else:
            out += text[i]
            i += 1
    return out


def _value(text: str) -> float | bool | str:
    if text.startswith('"'):
        return _unescape(text[1:-1])
    if text in ("true", "false"):
        return text == "true"
    assert not text.endswith("i"), f"an integer field: {text}"
    return float(text)


def parse_line(line: str) -> Point:
    head, fields, ts = _split(line, " ")
    measurement, *tags = _split(head, ",")
    tag_map = dict(_unescape(t).split("=", 1) for t in tags)
    field_map = {}
    for item in _split(fields, ","):
        key, value = _split(item, "=") if "\\=" in item else item.split("=", 1)
        field_map[_unescape(key)] = _value(value)
    return Point(_unescape(measurement), tag_map, field_map, int(ts))


def parse_lines(data: bytes) -> list[Point]:
    return [parse_line(line) for line in _split(data.decode(), "\n") if line]
