"""Wireless leak, smoke and temperature/humidity sensors (and a fire panel's contact).

A sensor reports a few values: its state (leak, smoke), or the room's temperature and
humidity, and its battery. Room temperature follows the day; a `high_temperature` fault
heats the room towards 48 °C over a couple of minutes, as a fire or a failed air
conditioner would.
"""

from __future__ import annotations

import math
from datetime import datetime, tzinfo
from random import Random

from estatewatch.config import Sensor
from estatewatch.contracts.payloads import Scalar
from simulators.faults import Fault
from simulators.physics.base import clamp, lag, local_hour

HOT = 48.0  # °C a high_temperature fault heads for
BATTERY_DRAIN = 1.0 / (30 * 86400)  # % per second: about 1 % a month


class SensorModel:
    def __init__(self, device: Sensor, rng: Random, now: datetime, tz: tzinfo) -> None:
        self.rng = rng
        self.tz = tz
        self.sensor_type = device.sensor_type
        self.faults: set[Fault] = set()
        self.battery = rng.uniform(60.0, 100.0)
        self.base_temperature = rng.uniform(22.0, 27.0)
        self.base_humidity = rng.uniform(45.0, 65.0)
        self.hour = local_hour(now, tz)
        self.temperature = self._room_temperature()
        self.humidity = self.base_humidity

    def set_fault(self, fault: Fault, active: bool) -> None:
        if active:
            self.faults.add(fault)
        else:
            self.faults.discard(fault)

    def write(self, name: str, value: Scalar) -> bool:
        return False

    def step(self, now: datetime, dt: float) -> None:
        if dt <= 0:
            return
        self.hour = local_hour(now, self.tz)
        self.battery = max(5.0, self.battery - BATTERY_DRAIN * dt)
        if Fault.HIGH_TEMPERATURE in self.faults:
            self.temperature = lag(self.temperature, HOT, dt, 60.0)
        else:
            self.temperature = lag(self.temperature, self._room_temperature(), dt, 300.0)
        self.temperature += self.rng.gauss(0.0, 0.03) * math.sqrt(min(dt, 60.0))
        dry = self.base_humidity - 1.8 * (self.temperature - self.base_temperature)
        self.humidity = clamp(lag(self.humidity, dry, dt, 600.0), 5.0, 95.0)

    def values(self) -> dict[str, Scalar]:
        smoke = Fault.SMOKE in self.faults
        fire = smoke or Fault.FIRE_ALARM in self.faults  # a panel's fire contact
        return {
            "leak": Fault.LEAK in self.faults,
            "smoke": smoke,
            "fire": fire,
            "alarm": fire,
            "battery": round(self.battery, 0),
            "temperature": round(self.temperature, 1),
            "humidity": round(self.humidity, 1),
        }

    def _room_temperature(self) -> float:
        return self.base_temperature + 1.5 * math.sin(2 * math.pi * (self.hour - 9.0) / 24)
