"""InfluxDB line protocol, written by pure functions (no I/O, no state).

    measurement[,tag=value...] field=value[,field=value...] timestamp

Escaping, as InfluxDB 1.x/2.x/3.x parse it: in a measurement, comma and space; in tag keys,
tag values and field keys, comma, equals sign and space; in a string field value, double
quote and backslash. A newline cannot be written in a name or tag at all, nor can a name end
in a backslash (it would escape the separator): those raise `ValueError`.

Values follow the schema's one rule (see `estatewatch.readings.schema`): every number is a
float (written without the ``i`` suffix), booleans are ``true``/``false``, text is a quoted
string; NaN and infinities cannot be written and raise `ValueError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import orjson

from estatewatch.contracts.payloads import Scalar

_MEASUREMENT = str.maketrans({",": "\\,", " ": "\\ "})
_KEY = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STRING = str.maketrans({'"': '\\"', "\\": "\\\\"})


def _checked(text: str, what: str) -> str:
    if not text:
        raise ValueError(f"an empty {what} cannot be written")
    if "\n" in text or "\r" in text:
        raise ValueError(f"a {what} cannot contain a line break: {text!r}")
    if text.endswith("\\"):
        raise ValueError(f"a {what} cannot end in a backslash: {text!r}")
    return text


def escape_measurement(name: str) -> str:
    return _checked(name, "measurement").translate(_MEASUREMENT)


def escape_key(name: str) -> str:
    """A tag key, tag value or field key."""
    return _checked(name, "tag or field name").translate(_KEY)


def format_float(value: float | int) -> str:
    """A number as a line-protocol float: the shortest text that reads back the same."""
    number = float(value)  # OverflowError for an int beyond float range
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    # orjson ≥ 3.9 writes exponents as `1e+16`; line protocol's grammar has no `+` there.
    return orjson.dumps(number).decode().replace("e+", "e")


def format_value(value: Scalar) -> str:
    """A field value by the schema's rule: numbers as floats, bools, strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        try:
            return format_float(value)
        except OverflowError:
            raise ValueError(f"{value!r} is too large for a float") from None
    if isinstance(value, str):
        return '"' + value.translate(_STRING) + '"'
    raise TypeError(f"{type(value).__name__} is not a field value")


def encode_line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Iterable[tuple[str, Scalar]],
    ts_ms: int,
) -> str:
    """One point; tags in sorted key order (InfluxDB's own order, the cheapest to parse).
    Tags with an empty value are left out, as InfluxDB would drop them."""
    head = escape_measurement(measurement)
    for key in sorted(tags):
        if tags[key] != "":
            head += f",{escape_key(key)}={escape_key(tags[key])}"
    body = ",".join(f"{escape_key(k)}={format_value(v)}" for k, v in fields)
    if not body:
        raise ValueError("a point needs at least one field")
    return f"{head} {body} {int(ts_ms)}"
