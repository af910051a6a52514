"""Normal operating bands of the equipment's analogue points, for the shift handover's
"unusual readings": a value outside its band is out of band; one inside but within the
band's margin of an edge is near the threshold. Pure.

The bands follow the device's own attributes where it has them (a pump set's set-point, a
power room's nominal voltage, a generator's battery) and the usual service limits
otherwise; each says where it comes from (`basis`), which the report prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from estatewatch.config.devices import (
    Device,
    DeviceKind,
    Elevator,
    FirePanel,
    Generator,
    PowerRoom,
    PumpSet,
    Sensor,
    SensorType,
)

Verdict = Literal["out_of_band", "near_threshold"]


@dataclass(frozen=True, slots=True)
class Band:
    """`low <= value <= high` is normal; within `margin` of an edge is near the threshold."""

    point: str
    low: float | None
    high: float | None
    margin: float
    basis: str


@dataclass(frozen=True, slots=True)
class Finding:
    point: str
    verdict: Verdict
    value: float
    limit: float
    side: Literal["low", "high"]
    basis: str


def _pump(device: PumpSet) -> list[Band]:
    sp = device.setpoint_mpa
    bands = [
        Band("outlet_pressure", sp * 0.8, sp * 1.2, sp * 0.05, "set-point ±20 %"),
        Band("tank_level", 20.0, None, 10.0, "tank at least 20 %"),
    ]
    bands += [
        Band(f"pump{i}_current", None, device.rated_current_a, device.rated_current_a * 0.05,
             "nameplate current")
        for i in range(1, device.pumps + 1)
    ]  # fmt: skip
    return bands


def _power(device: PowerRoom) -> list[Band]:
    v = device.nominal_voltage_v
    # GB/T 12325: 220 V supply within +7 % / −10 % of nominal.
    bands = [
        Band(f"voltage_l{i}", v * 0.9, v * 1.07, v * 0.02, "GB/T 12325 +7 %/−10 %")
        for i in (1, 2, 3)
    ]
    return [
        *bands,
        Band("frequency", 49.5, 50.5, 0.1, "50 Hz ±0.5 Hz"),
        Band("power_factor", 0.9, None, 0.02, "power factor at least 0.9"),
        Band("transformer_temperature", None, 100.0, 10.0, "dry-type transformer 100 °C"),
    ]


def _generator(device: Generator) -> list[Band]:
    nominal = device.battery_nominal_v
    return [
        Band("battery_voltage", nominal * 0.95, None, nominal * 0.03, "starter battery 95 %"),
        Band("fuel_level", 30.0, None, 10.0, "day tank at least 30 %"),
        Band("coolant_temperature", None, 95.0, 5.0, "coolant 95 °C"),
    ]


def bands_for(device: Device) -> list[Band]:
    """The bands of the device's points (empty for a kind without analogue limits)."""
    if isinstance(device, PumpSet):
        return _pump(device)
    if isinstance(device, PowerRoom):
        return _power(device)
    if isinstance(device, Generator):
        return _generator(device)
    if isinstance(device, Elevator):
        return [Band("car_temperature", None, 40.0, 3.0, "car 40 °C")]
    if isinstance(device, FirePanel):
        return [Band("backup_battery", 21.6, None, 0.6, "24 V backup battery 90 %")]
    if isinstance(device, Sensor) and device.sensor_type == SensorType.TEMPERATURE:
        return [Band("temperature", None, 40.0, 3.0, "equipment room 40 °C")]
    assert device.kind in DeviceKind
    return []


def judge(band: Band, low: float | None, high: float | None) -> Finding | None:
    """The finding for a point whose lowest and highest values were `low` and `high`:
    out of band beats near the threshold, the farther excursion wins."""
    found: list[Finding] = []
    if band.low is not None and low is not None:
        if low < band.low:
            found.append(Finding(band.point, "out_of_band", low, band.low, "low", band.basis))
        elif low < band.low + band.margin:
            found.append(Finding(band.point, "near_threshold", low, band.low, "low", band.basis))
    if band.high is not None and high is not None:
        if high > band.high:
            found.append(Finding(band.point, "out_of_band", high, band.high, "high", band.basis))
        elif high > band.high - band.margin:
            found.append(Finding(band.point, "near_threshold", high, band.high, "high", band.basis))
    if not found:
        return None
    return max(found, key=lambda f: (f.verdict == "out_of_band", abs(f.value - f.limit)))


def gaps(window_starts: list[int], *, start: int, end: int, window: int) -> list[tuple[int, int]]:
    """The stretches of `[start, end)` (ms) with no reading: `window_starts` are the starts
    of the windows that had one (any order); consecutive empty windows join."""
    have = set(window_starts)
    out: list[tuple[int, int]] = []
    at = start - start % window
    while at < end:
        if at not in have:
            lo = max(at, start)
            if out and out[-1][1] == lo:
                out[-1] = (out[-1][0], min(at + window, end))
            else:
                out.append((lo, min(at + window, end)))
        at += window
    return out
