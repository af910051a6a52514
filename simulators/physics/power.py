"""A low-voltage power room (低压配电房): the multifunction meter on the transformer's LV
side and the transformer's winding-temperature monitor.

Phase voltages sit within ±2 % of nominal; the load follows a residential day (evening
peak); currents, power factor, active and reactive power are consistent with it; energy
accumulates. The dry-type transformer heats with a first-order thermal lag (45 min) towards
``room + 60 K × (0.2 + 0.8 × load²)`` — no-load and load losses — and its fans start at
90 °C and stop at 80 °C. The busbar tie breaker is normally open (two transformers on
sectionalised busbars), the main breaker closed.
"""

from __future__ import annotations

import math
from datetime import datetime, tzinfo
from random import Random

from estatewatch.config import PowerRoom
from estatewatch.contracts.payloads import Scalar
from simulators.faults import Fault
from simulators.physics.base import clamp, daily_curve, lag, local_hour

LOAD_PEAKS = ((8.0, 1.5, 0.15), (12.5, 2.0, 0.12), (20.5, 2.2, 0.42))
LOAD_BASE = 0.22
THERMAL_TAU = 45 * 60.0  # s
RATED_RISE = 60.0  # K at full load
OVERHEAT_RISE = 95.0  # K more with the fans failed and the ventilation blocked
FAN_ON, FAN_OFF = 90.0, 80.0
OVER, UNDER = 1.12, 0.85


class PowerRoomModel:
    def __init__(self, device: PowerRoom, rng: Random, now: datetime, tz: tzinfo) -> None:
        self.rng = rng
        self.tz = tz
        self.nominal = device.nominal_voltage_v
        self.kva = device.transformer_kva
        self.faults: set[Fault] = set()
        self.lost_phase = rng.randrange(3)
        self.imbalance = [rng.uniform(-0.04, 0.04) for _ in range(3)]
        self.drift = [rng.uniform(-0.006, 0.006) for _ in range(3)]
        self.walk = 1.0
        self.energy = rng.uniform(500_000.0, 3_000_000.0)
        self.room = rng.uniform(26.0, 30.0)
        self.hour = local_hour(now, tz)
        self.load = self._load_share()
        self.fan = False
        self.transformer = self._steady_temperature()
        self.fan = self.transformer >= FAN_ON
        self.frequency = 50.0
        self.pf = 0.95
        self.voltages = [self.nominal] * 3
        self.currents = [0.0] * 3
        self._measure()

    # --- the model interface ---------------------------------------------------------------

    def set_fault(self, fault: Fault, active: bool) -> None:
        if active:
            self.faults.add(fault)
        else:
            self.faults.discard(fault)
        self._measure()

    def write(self, name: str, value: Scalar) -> bool:
        return False

    def step(self, now: datetime, dt: float) -> None:
        if dt <= 0:
            return
        self.hour = local_hour(now, self.tz)
        minutes = min(dt, 3600.0) / 60.0
        self.walk = clamp(self.walk + self.rng.gauss(0.0, 0.03) * math.sqrt(minutes), 0.85, 1.15)
        self.drift = [
            clamp(d + self.rng.gauss(0.0, 0.001) * math.sqrt(minutes), -0.012, 0.012)
            for d in self.drift
        ]
        self.load = self._load_share()
        self._measure()
        self.energy += self.active_power * dt / 3600.0
        self.transformer = lag(self.transformer, self._steady_temperature(), dt, THERMAL_TAU)
        if self.transformer >= FAN_ON:
            self.fan = True
        elif self.transformer <= FAN_OFF:
            self.fan = False
        room = 27.0 + 2.5 * math.sin(2 * math.pi * (self.hour - 10.0) / 24)
        self.room = lag(self.room, room + 0.05 * (self.transformer - 60.0), dt, 1800.0)

    def values(self) -> dict[str, Scalar]:
        v, i = self.voltages, self.currents
        return {
            "voltage_l1": round(v[0], 2),
            "voltage_l2": round(v[1], 2),
            "voltage_l3": round(v[2], 2),
            "current_l1": round(i[0], 1),
            "current_l2": round(i[1], 1),
            "current_l3": round(i[2], 1),
            "power_factor": round(self.pf, 3),
            "active_power": round(self.active_power, 1),
            "energy": round(self.energy, 1),
            "frequency": round(self.frequency, 2),
            "transformer_temperature": round(self.transformer, 1),
            "room_temperature": round(self.room, 1),
            "reactive_power": round(self.reactive_power, 2),
            "main_breaker_closed": Fault.OUTAGE not in self.faults,
            "tie_breaker_closed": False,
            "transformer_fan_running": self.fan_running,
        }

    # --- physics ---------------------------------------------------------------------------

    @property
    def fan_running(self) -> bool:
        return self.fan and self.energised and Fault.TRANSFORMER_OVERHEAT not in self.faults

    @property
    def energised(self) -> bool:
        return Fault.OUTAGE not in self.faults

    def _load_share(self) -> float:
        """The share of the transformer's rating drawn now."""
        return clamp(daily_curve(self.hour, LOAD_BASE, LOAD_PEAKS) * self.walk, 0.05, 0.95)

    def _measure(self) -> None:
        """Voltages, currents, power factor and power from the load and the faults."""
        if not self.energised:
            self.voltages = [abs(self.rng.gauss(0.0, 0.3)) for _ in range(3)]
            self.currents = [0.0, 0.0, 0.0]
            self.frequency, self.pf = 0.0, 0.0
            self.active_power = self.reactive_power = 0.0
            return
        level = OVER if Fault.OVER_VOLTAGE in self.faults else 1.0
        level = UNDER if Fault.UNDER_VOLTAGE in self.faults else level
        noise = [self.rng.gauss(0.0, 0.0008) for _ in range(3)]
        self.voltages = [
            self.nominal * level * (1 + d + n) for d, n in zip(self.drift, noise, strict=True)
        ]
        live = [True, True, True]
        if Fault.PHASE_LOSS in self.faults:
            live[self.lost_phase] = False
            self.voltages[self.lost_phase] = abs(self.rng.gauss(2.0, 0.5))  # induced
        self.pf = clamp(0.93 + 0.04 * self.load + self.rng.gauss(0.0, 0.003), 0.85, 0.99)
        apparent = self.load * self.kva * 1000 / 3  # VA per phase, constant-power load
        self.currents = [
            apparent * (1 + self.imbalance[k]) / self.voltages[k] * (1 + self.rng.gauss(0, 0.005))
            if live[k]
            else 0.0
            for k in range(3)
        ]
        self.active_power = (
            sum(v * c for v, c in zip(self.voltages, self.currents, strict=True)) * self.pf / 1000
        )
        self.reactive_power = self.active_power * math.tan(math.acos(self.pf))
        self.frequency = 50.0 + self.rng.gauss(0.0, 0.015)

    def _steady_temperature(self) -> float:
        if not self.energised:
            return self.room
        losses = 0.2 + 0.8 * self.load**2
        rise = RATED_RISE * losses
        if Fault.TRANSFORMER_OVERHEAT in self.faults:
            return self.room + rise + OVERHEAT_RISE  # the fans have failed
        return self.room + rise * (0.8 if self.fan else 1.0)
