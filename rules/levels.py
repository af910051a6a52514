"""Threshold levels: a number, or simple arithmetic over device attributes and rule params.

YAML says ``below: setpoint_mpa * 0.7`` or ``above: nominal_voltage_v * $over`` so one rule
fits every pump set or power room; the level is worked out once per device when the rules
are compiled, so the hot path compares plain floats.

Grammar: ``expr := term (("+" | "-") term)*``, ``term := factor (("*" | "/") factor)*``,
``factor := number | attribute | $param | "-" factor``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from estatewatch.config.devices import (
    AirHandler,
    Chiller,
    DeviceKind,
    Elevator,
    EnergyMeter,
    FirePanel,
    Generator,
    PowerRoom,
    PumpSet,
    Sensor,
)

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(\$?[a-z_][a-z0-9_]*)|([-+*/]))")

_MODELS = {
    DeviceKind.WATER_PUMP_SET: PumpSet,
    DeviceKind.FIRE_PUMP: PumpSet,
    DeviceKind.ELEVATOR: Elevator,
    DeviceKind.POWER_ROOM: PowerRoom,
    DeviceKind.GENERATOR: Generator,
    DeviceKind.FIRE_PANEL: FirePanel,
    DeviceKind.SENSOR: Sensor,
    DeviceKind.ENERGY_METER: EnergyMeter,
    DeviceKind.AIR_HANDLER: AirHandler,
    DeviceKind.CHILLER: Chiller,
}


def _numeric_fields(model: type[object]) -> frozenset[str]:
    fields = getattr(model, "model_fields", {})
    names = {name for name, info in fields.items() if info.annotation in (int, float)}
    return frozenset(names | {"poll_interval_s"})


ATTRIBUTES: dict[DeviceKind, frozenset[str]] = {k: _numeric_fields(m) for k, m in _MODELS.items()}
"""The numeric attributes a level may name, per device kind (plus ``poll_interval_s``)."""


def device_attributes(device: object) -> dict[str, float]:
    """The numeric attributes of a configured device, by name."""
    kind = getattr(device, "kind")  # noqa: B009  (any device model)
    values: dict[str, float] = {}
    for name in ATTRIBUTES[DeviceKind(kind)]:
        if name == "poll_interval_s":
            values[name] = getattr(device, "poll_interval").total_seconds()  # noqa: B009
        else:
            values[name] = float(getattr(device, name))
    return values


@dataclass(frozen=True, slots=True)
class Expr:
    """A parsed level: a sum of signed products of numbers, attributes and params."""

    text: str
    terms: tuple[tuple[float, tuple[tuple[str, bool], ...]], ...]
    """Each term: a coefficient and its (name, divide) factors; names starting ``$`` are
    params."""

    @property
    def names(self) -> frozenset[str]:
        return frozenset(name for _, factors in self.terms for name, _ in factors)

    def value(self, env: Mapping[str, float]) -> float:
        total = 0.0
        for coefficient, factors in self.terms:
            product = coefficient
            for name, divide in factors:
                x = env[name]
                product = product / x if divide else product * x
            total += product
        return total


def parse(text: str | float) -> Expr:
    """Parse a level; raise ValueError naming what is wrong."""
    if isinstance(text, bool):
        raise ValueError("a level is a number or an expression like 'setpoint_mpa * 0.7'")
    if isinstance(text, int | float):
        return Expr(str(text), ((float(text), ()),))
    tokens = _tokenize(text)
    terms: list[tuple[float, tuple[tuple[str, bool], ...]]] = []
    pos, sign = 0, 1.0
    while True:
        coefficient, factors, pos = _term(tokens, pos, text)
        terms.append((sign * coefficient, tuple(factors)))
        if pos == len(tokens):
            return Expr(text, tuple(terms))
        op = tokens[pos]
        if op not in ("+", "-"):
            raise ValueError(f"{text!r}: expected + or - before {op!r}")
        sign = 1.0 if op == "+" else -1.0
        pos += 1


def _tokenize(text: str) -> list[str]:
    tokens, pos = [], 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if match is None:
            raise ValueError(f"{text!r}: cannot read {stripped[pos:].strip()!r}")
        tokens.append(match.group(match.lastindex or 0))
        pos = match.end()
    if not tokens:
        raise ValueError("a level cannot be empty")
    return tokens


def _term(tokens: list[str], pos: int, text: str) -> tuple[float, list[tuple[str, bool]], int]:
    coefficient, factors, divide = 1.0, [], False
    while True:
        negate = False
        while pos < len(tokens) and tokens[pos] == "-":
            negate, pos = not negate, pos + 1
        if pos == len(tokens) or tokens[pos] in "+-*/":
            raise ValueError(f"{text!r}: a number, attribute or $param is missing")
        token = tokens[pos]
        if negate:
            coefficient = -coefficient
        if token[0].isdigit():
            number = float(token)
            if divide and number == 0:
                raise ValueError(f"{text!r}: division by zero")
            coefficient = coefficient / number if divide else coefficient * number
        else:
            factors.append((token, divide))
        pos += 1
        if pos == len(tokens) or tokens[pos] not in ("*", "/"):
            return coefficient, factors, pos
        divide, pos = tokens[pos] == "/", pos + 1
