"""Quoting for InfluxQL text: identifiers in double quotes, string literals in single quotes.

Every name and value that goes into a query passes through here, so a device id or a point
name can never change the meaning of a statement.
"""

from __future__ import annotations

from datetime import timedelta


def ident(name: str) -> str:
    """`name` as a quoted InfluxQL identifier: ``"water_pump_set"``."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: str) -> str:
    """`value` as an InfluxQL string literal: ``'pump-1'``."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def duration(value: timedelta) -> str:
    """An InfluxQL duration literal in the largest whole unit: ``720h``, ``10m``, ``1500ms``."""
    ms = round(value.total_seconds() * 1000)
    if ms <= 0:
        raise ValueError(f"an InfluxQL duration must be positive, not {value}")
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
