"""A DL/T 645 multifunction energy meter on an outgoing feeder of a power room.

It sits on the power room's busbar: its phase voltages are the room's (an outage or a phase
lost upstream shows on it too), its currents and power are its `load_share` of the room's
load, with a little of its own noise, at the room's power factor; energy accumulates from
its power. Without a power room (`supply` unset) it follows the same residential day on
its own. Its fault: `overload` (the feeder draws ~125 % of its rated current); what happens
upstream (an outage, a lost phase, over-voltage) it shows as the power room does.
"""

from __future__ import annotations

import math
from datetime import datetime, tzinfo
from random import Random

from estatewatch.config import EnergyMeter
from estatewatch.contracts.payloads import Scalar
from simulators.faults import Fault
from simulators.physics.base import clamp, daily_curve, local_hour
from simulators.physics.power import LOAD_BASE, LOAD_PEAKS, PowerRoomModel

OVERLOAD = 1.25  # × rated current


class MeterModel:
    def __init__(self, device: EnergyMeter, rng: Random, now: datetime, tz: tzinfo) -> None:
        self.rng = rng
        self.tz = tz
        self.nominal = device.nominal_voltage_v
        self.rated = device.rated_current_a
        self.share = device.load_share
        self.room: PowerRoomModel | None = None
        self.faults: set[Fault] = set()
        self.energy = rng.uniform(20_000.0, 400_000.0)
        self.hour = local_hour(now, tz)
        self.voltages = [self.nominal] * 3
        self.currents = [0.0] * 3
        self.pf = 0.95
        self.frequency = 50.0
        self.active_power = self.reactive_power = 0.0
        self._measure()

    def attach(self, room: PowerRoomModel) -> None:
        """Feed it from `room`'s busbar."""
        self.room = room
        self._measure()

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
        self._measure()
        self.energy += self.active_power * dt / 3600.0

    def values(self) -> dict[str, Scalar]:
        v, i = self.voltages, self.currents
        return {
            "voltage_l1": round(v[0], 1),
            "voltage_l2": round(v[1], 1),
            "voltage_l3": round(v[2], 1),
            "current_l1": round(i[0], 3),
            "current_l2": round(i[1], 3),
            "current_l3": round(i[2], 3),
            "active_power": round(self.active_power, 4),
            "reactive_power": round(self.reactive_power, 4),
            "power_factor": round(self.pf, 3),
            "energy": round(self.energy, 2),
            "frequency": round(self.frequency, 2),
        }

    def _measure(self) -> None:
        room = self.room
        if room is not None:
            voltages = list(room.voltages)
            room_currents = room.currents
            self.pf, self.frequency = room.pf, room.frequency
            currents = [c * self.share for c in room_currents]
        else:
            load = clamp(daily_curve(self.hour, LOAD_BASE, LOAD_PEAKS), 0.05, 0.95)
            voltages = [self.nominal * (1 + self.rng.gauss(0.0, 0.002)) for _ in range(3)]
            currents = [load * self.rated for _ in range(3)]
            self.pf, self.frequency = 0.95, 50.0 + self.rng.gauss(0.0, 0.015)
        currents = [c * (1 + self.rng.gauss(0.0, 0.004)) for c in currents]
        if Fault.OVERLOAD in self.faults and any(v > self.nominal * 0.5 for v in voltages):
            currents = [OVERLOAD * self.rated * (1 + self.rng.gauss(0.0, 0.01)) for _ in range(3)]
        currents = [
            c if v > self.nominal * 0.5 else 0.0 for v, c in zip(voltages, currents, strict=True)
        ]
        self.voltages, self.currents = voltages, currents
        self.active_power = (
            sum(v * c for v, c in zip(voltages, currents, strict=True)) * self.pf / 1000
        )
        self.reactive_power = (
            self.active_power * math.tan(math.acos(self.pf)) if 0 < self.pf <= 1 else 0.0
        )
