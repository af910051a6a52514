"""A standby diesel generator (柴油发电机) with its automatic mains failure (AMF) controller
and transfer switch (ATS).

On standby the engine is kept warm by its jacket heater and the starter battery floats on
its charger. When the controller sees the mains fail it cranks the engine (cranking pulls the
battery down), runs up to 1500 rpm and, once the voltage is steady, the ATS moves the
essential load onto the generator: all within the device's `start_time`. A start that
does not fire is retried three times and then locked out. Fuel falls with the load
(about 0.21 L/kWh plus the engine's own 3 % of rated). When the mains return the load goes
back at once and the engine cools down unloaded for a minute before it stops.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from enum import IntEnum
from random import Random

from estatewatch.config import Generator
from estatewatch.contracts.payloads import Scalar
from simulators.faults import Fault
from simulators.physics.base import clamp, lag

CRANK_S, REST_S, ATTEMPTS = 8.0, 10.0, 3
TRANSFER_S = 2.0  # steady voltage before the ATS moves
COOLDOWN_S = 60.0
ESSENTIAL_LOAD = 0.45  # of rated: fire pumps, lifts, emergency lighting, pumps
FUEL_PER_KWH, FUEL_IDLE = 0.21, 0.03  # L/kWh at load; L/h per rated kW running
LOW_FUEL = 0.12
HOT_C, RUNNING_C, HEATER_C = 108.0, 82.0, 40.0


class Ats(IntEnum):
    MAINS = 0
    GENERATOR = 1
    FAULT = 2  # told to transfer and did not


class GeneratorModel:
    def __init__(self, device: Generator, rng: Random, now: datetime, tz: tzinfo) -> None:
        self.rng = rng
        self.rated_kw = device.rated_kw
        self.tank_l = device.fuel_tank_l
        self.battery_nominal = device.battery_nominal_v
        self.start_time = max(device.start_time.total_seconds(), CRANK_S / 2 + TRANSFER_S)
        self.faults: set[Fault] = set()
        self.fuel_l = self.tank_l * rng.uniform(0.8, 0.95)
        self.battery = self.battery_nominal * 1.133  # float charge, 27.2 V on 24 V
        self.coolant = HEATER_C + rng.uniform(-2.0, 2.0)
        self.running = False
        self.speed = 0.0
        self.ats = Ats.MAINS
        self.load_kw = 0.0
        self.share = ESSENTIAL_LOAD
        self.lost_for = 0.0  # seconds since the mains failed (while they are lost)
        self.up_for = 0.0  # seconds the engine has run since its start
        self.cooldown = 0.0
        self.locked_out = False
        self.run_hours = rng.uniform(100.0, 900.0)
        self.starts = rng.randint(50, 400)

    @property
    def mains(self) -> bool:
        return Fault.MAINS_LOSS not in self.faults

    def set_fault(self, fault: Fault, active: bool) -> None:
        if active:
            self.faults.add(fault)
        else:
            self.faults.discard(fault)
        if fault is Fault.LOW_FUEL:
            # a leak or a missed delivery; cleared = the tanker came
            self.fuel_l = self.tank_l * (LOW_FUEL if active else 0.95)
        elif fault is Fault.START_FAILURE and not active:
            self.locked_out = False  # reset at the controller after the repair
        elif fault is Fault.ATS_FAIL and not active and self.ats is Ats.FAULT:
            self.ats = Ats.MAINS

    def write(self, name: str, value: Scalar) -> bool:
        return False

    def step(self, now: datetime, dt: float) -> None:
        if dt <= 0:
            return
        remaining = dt
        while remaining > 0:  # whole seconds at most: starts and transfers take seconds
            h = min(remaining, 1.0)
            self._substep(h)
            remaining -= h

    def _substep(self, h: float) -> None:
        cranking = False
        if not self.mains:
            self.lost_for += h
            cranking = self._start(h)
        else:
            self.lost_for = 0.0
            if self.ats is Ats.GENERATOR:
                self.ats = Ats.MAINS  # the mains are back: the load goes back at once
                self.cooldown = COOLDOWN_S
            elif self.ats is Ats.FAULT:
                self.ats = Ats.MAINS
            if self.running:
                self.cooldown -= h
                if self.cooldown <= 0:
                    self.running, self.up_for = False, 0.0
        self.speed = lag(self.speed, 1500.0 if self.running else 0.0, h, 1.0)
        self._load(h)
        self._thermal(h, cranking)
        if self.running:
            rate = self.fuel_rate
            self.fuel_l = max(0.0, self.fuel_l - rate * h / 3600)
            self.run_hours += h / 3600
            if self.fuel_l <= 0:
                self.running = False

    def _start(self, h: float) -> bool:
        """The AMF sequence while the mains are lost; True while the starter cranks."""
        if self.running:
            self.up_for += h
            if self.up_for >= TRANSFER_S and self.ats is Ats.MAINS:
                self.ats = Ats.FAULT if Fault.ATS_FAIL in self.faults else Ats.GENERATOR
            return False
        if self.locked_out or self.fuel_l <= 0:
            return False
        delay = self.start_time - TRANSFER_S - CRANK_S / 2  # start delay before cranking
        t = self.lost_for - delay
        if t < 0:
            return False
        attempt, into = divmod(t, CRANK_S + REST_S)
        if attempt >= ATTEMPTS:
            self.locked_out = True
            return False
        cranking = into < CRANK_S
        if cranking and into >= CRANK_S / 2 and Fault.START_FAILURE not in self.faults:
            self.running, self.up_for, self.cooldown = True, 0.0, COOLDOWN_S
            self.starts += 1
            return False
        return cranking

    def _load(self, h: float) -> None:
        if self.ats is Ats.GENERATOR and self.running:
            walk = self.share + self.rng.gauss(0.0, 0.01) * h**0.5
            self.share = clamp(walk, ESSENTIAL_LOAD * 0.85, ESSENTIAL_LOAD * 1.15)
            target = 1.15 if Fault.OVERLOAD in self.faults else self.share
            self.load_kw = lag(self.load_kw, target * self.rated_kw, h, 3.0)
        else:
            self.load_kw = lag(self.load_kw, 0.0, h, 1.0)

    def _thermal(self, h: float, cranking: bool) -> None:
        if self.running:
            hot = Fault.OVERHEAT in self.faults
            target = HOT_C if hot else RUNNING_C + 8.0 * self.load_kw / self.rated_kw
            self.coolant = lag(self.coolant, target, h, 60.0 if hot else 240.0)
        else:
            self.coolant = lag(self.coolant, HEATER_C, h, 1800.0)
        nominal = self.battery_nominal
        if cranking:
            target, tau = nominal * 0.85, 0.5
        elif Fault.BATTERY_LOW in self.faults:
            target, tau = nominal * 0.895, 20.0  # charger failed, the battery sags
        elif self.running:
            target, tau = nominal * 1.158, 5.0  # the engine's alternator
        else:
            target, tau = nominal * 1.133, 5.0  # float charge
        self.battery = lag(self.battery, target, h, tau)

    @property
    def fuel_rate(self) -> float:
        """Litres an hour at the present load."""
        if not self.running:
            return 0.0
        return FUEL_IDLE * self.rated_kw + FUEL_PER_KWH * self.load_kw

    def values(self) -> dict[str, Scalar]:
        on = self.running
        noise = self.rng.gauss(0.0, 0.3) if on else 0.0
        return {
            "mains_available": self.mains,
            "running": on,
            "ats_position": int(self.ats),
            "load_kw": round(self.load_kw, 1),
            "fuel_level": round(100.0 * self.fuel_l / self.tank_l, 1),
            "fuel_rate": round(self.fuel_rate, 1),
            "battery_voltage": round(self.battery, 2),
            "coolant_temperature": round(self.coolant, 1),
            "oil_pressure": round(420.0 * self.speed / 1500.0 + noise) if on else 0,
            "engine_speed": round(self.speed),
            "frequency": round(50.0 * self.speed / 1500.0, 2),
            "output_voltage": round(230.0 * min(1.0, self.speed / 1500.0) + noise, 1),
            "run_hours": int(self.run_hours),
            "starts": self.starts,
            "fail_to_start": self.locked_out,
        }
