"""An office tower's air handler and chiller, as their BACnet controllers report them.

The air handler's fan runs in office hours (07:00-21:00 local) or always and its supply air follows
the set-point through a first-order lag (a cooling coil answers in a minute or so); off
hours it drifts towards the plant room's ~24 °C. The filter's pressure drop grows with
the fan's airflow, from the clean filter's drop; `filter_clogged` takes it to ~1.7 times
the change-filter level over a minute, `supply_air_high` (the chilled-water valve stuck
shut, or no chilled water) lets the supply air warm ~10 °C above the set-point.

The chiller runs with the air handlers: its leaving water holds the set-point with a
little noise; `chiller_trip` (a safety: low refrigerant pressure, motor overload) stops it
with the trip alarm on, and the loop water warms towards ~14 °C.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from random import Random

from estatewatch.config import AirHandler, Chiller
from estatewatch.contracts.payloads import Scalar
from simulators.faults import Fault
from simulators.physics.base import lag, local_hour

OCCUPIED = (7.0, 21.0)
PLANT_ROOM_C = 24.0
COIL_TAU = 60.0  # s: supply air after a change of chilled water
FILTER_TAU = 20.0  # s: a clogging filter, sped up so a demo shows it within a minute
CLOGGED = 1.7  # × the change-filter pressure drop
WARM_SUPPLY = 10.0  # °C above the set-point without chilled water
TRIPPED_LOOP_C = 14.0
LOOP_TAU = 120.0  # s: the chilled-water loop after the chiller stops


def occupied(now: datetime, tz: tzinfo) -> bool:
    return OCCUPIED[0] <= local_hour(now, tz) < OCCUPIED[1]


class AirHandlerModel:
    def __init__(self, device: AirHandler, rng: Random, now: datetime, tz: tzinfo) -> None:
        self.rng = rng
        self.tz = tz
        self.setpoint = device.supply_air_setpoint_c
        self.clean_dp = device.filter_dp_clean_pa
        self.high_dp = device.filter_dp_high_pa
        self.always = device.schedule == "always"
        self.faults: set[Fault] = set()
        self.fan = self.always or occupied(now, tz)
        self.supply_air = self.setpoint if self.fan else PLANT_ROOM_C
        self.filter_dp = self.clean_dp if self.fan else 0.0

    def step(self, now: datetime, dt: float) -> None:
        if dt <= 0:
            return
        self.fan = self.always or occupied(now, tz=self.tz)
        if self.fan:
            target = self.setpoint + (WARM_SUPPLY if Fault.SUPPLY_AIR_HIGH in self.faults else 0)
            target += self.rng.gauss(0.0, 0.1)
            clogged = Fault.FILTER_CLOGGED in self.faults
            dp_target = self.high_dp * CLOGGED if clogged else self.clean_dp
            dp_target += self.rng.gauss(0.0, 2.0)
        else:
            target, dp_target = PLANT_ROOM_C, 0.0
        self.supply_air = lag(self.supply_air, target, dt, COIL_TAU)
        self.filter_dp = max(0.0, lag(self.filter_dp, dp_target, dt, FILTER_TAU))

    def values(self) -> dict[str, Scalar]:
        return {
            "supply_air_temp": round(self.supply_air, 2),
            "fan_status": self.fan,
            "filter_dp": round(self.filter_dp, 1),
        }

    def set_fault(self, fault: Fault, active: bool) -> None:
        if active:
            self.faults.add(fault)
        else:
            self.faults.discard(fault)

    def write(self, name: str, value: Scalar) -> bool:
        return False


class ChillerModel:
    def __init__(self, device: Chiller, rng: Random, now: datetime, tz: tzinfo) -> None:
        self.rng = rng
        self.tz = tz
        self.setpoint = device.leaving_water_setpoint_c
        self.faults: set[Fault] = set()
        self.running = occupied(now, tz)
        self.leaving_water = self.setpoint if self.running else TRIPPED_LOOP_C

    @property
    def tripped(self) -> bool:
        return Fault.CHILLER_TRIP in self.faults

    def step(self, now: datetime, dt: float) -> None:
        if dt <= 0:
            return
        self.running = occupied(now, self.tz) and not self.tripped
        target = self.setpoint + self.rng.gauss(0.0, 0.05) if self.running else TRIPPED_LOOP_C
        self.leaving_water = lag(
            self.leaving_water, target, dt, LOOP_TAU if not self.running else 30.0
        )

    def values(self) -> dict[str, Scalar]:
        return {
            "leaving_water_temp": round(self.leaving_water, 2),
            "run_status": self.running,
            "trip_alarm": self.tripped,
        }

    def set_fault(self, fault: Fault, active: bool) -> None:
        if active:
            self.faults.add(fault)
            self.running = False
        else:
            self.faults.discard(fault)

    def write(self, name: str, value: Scalar) -> bool:
        return False
