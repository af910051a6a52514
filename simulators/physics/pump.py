"""A constant-pressure variable-frequency pump set (恒压变频供水), domestic or fire.

A VFD drives the running pumps at one frequency; a PI loop holds the outlet pressure at the
set-point against the day's demand. Pumps are staged on when the drive sits at maximum
frequency and off when it idles low. Pressure follows the pump curve
``p = sp * (1.6 (f/50)^2 - 0.45 q^2)`` (q: flow per running pump, in rated flows) through a
short hydraulic lag. The set draws from a break tank refilled by a float valve.

A fire pump set is normally on standby: stopped, its pressure held near the set-point by a
jockey pump (a slow sawtooth). It starts by itself when the pressure falls below 80 % of the
set-point, and returns to standby once the demand has gone and the pressure is restored.
"""

from __future__ import annotations

import math
from datetime import datetime, tzinfo
from random import Random

from estatewatch.config import DeviceKind, PumpSet
from estatewatch.contracts.payloads import Scalar
from simulators.faults import Fault
from simulators.physics.base import clamp, daily_curve, lag, local_hour, substeps

RATED_FLOW = 20.0  # m³/h per pump
P_SHUTOFF = 1.6  # pressure at 50 Hz and no flow, in set-points
FRICTION = 0.45  # pressure the pump curve loses at rated flow, in set-points
F_MAX, F_MIN = 50.0, 20.0
KP, KI = 20.0, 8.0  # Hz per unit of relative pressure error (and per second)
STAGE_UP_HZ, STAGE_UP_S = 49.5, 8.0
STAGE_DOWN_HZ, STAGE_DOWN_S = 41.5, 30.0
TAU_PRESSURE = 1.5  # s
TANK_LOW_LIMIT = 20.0  # %
TRIP_CODE = 1  # overcurrent
DRY_RUN_CODE = 5  # the controller's dry-run protection
WORN = 0.33  # head of a worn impeller, a share of a new one's
FIRE_START = 0.8  # a fire pump starts below this share of its set-point
# Daily domestic demand, a share of the design flow: morning and evening peaks.
DEMAND_PEAKS = ((7.5, 1.0, 0.78), (12.0, 1.3, 0.3), (19.5, 1.6, 0.72))
DEMAND_BASE = 0.07


class PumpSetModel:
    def __init__(self, device: PumpSet, rng: Random, now: datetime, tz: tzinfo) -> None:
        self.rng = rng
        self.tz = tz
        self.pumps = device.pumps
        self.fire = device.kind is DeviceKind.FIRE_PUMP
        self.setpoint = device.setpoint_mpa
        self.tank_m3 = device.tank_capacity_m3
        self.rated_a = device.rated_current_a
        self.rated_kw = self.rated_a * math.sqrt(3) * 380 * 0.86 * 0.91 / 1000
        self.design_flow = (self.pumps if self.fire else max(1, self.pumps - 1) * 0.9) * RATED_FLOW
        self.faults: set[Fault] = set()
        self.fault_code = 0
        self.supply = True  # the power room feeding the set has its supply
        self.running = 0 if self.fire else 1
        self.frequency = 0.0 if self.fire else 42.0
        self.integral = self.frequency
        self.pressure = self.setpoint * (0.96 if self.fire else 1.0)
        self.measured = self.pressure
        self.high_for = self.low_for = self.restored_for = 0.0
        self.jockey = False
        self.tank = rng.uniform(88.0, 95.0) if self.fire else rng.uniform(75.0, 90.0)
        self.inflow_open = False
        self.run_hours = rng.uniform(2000.0, 20000.0) if not self.fire else rng.uniform(50, 400)
        self.starts = rng.randint(500, 5000) if not self.fire else rng.randint(20, 200)
        self.demand_walk = 1.0
        self.flow = 0.0
        self.water_temp = 17.0 + rng.uniform(-1.0, 1.0)
        self._hour = local_hour(now, tz)

    # --- the model interface ---------------------------------------------------------------

    def set_fault(self, fault: Fault, active: bool) -> None:
        if active:
            self.faults.add(fault)
        else:
            self.faults.discard(fault)
        if fault in (Fault.PUMP_TRIP, Fault.DRY_RUN_TRIP):
            if active:
                self.fault_code = TRIP_CODE if fault is Fault.PUMP_TRIP else DRY_RUN_CODE
                self._stop_all()
            elif not self.tripped:
                self.fault_code = 0
                if not self.fire:
                    self._start_pump()
        elif fault is Fault.TANK_LOW and active:
            self.tank = min(self.tank, TANK_LOW_LIMIT * 0.6)
            self.inflow_open = False
        elif fault is Fault.TANK_OVERFLOW and active:
            self.tank = max(self.tank, 98.5)  # found at the brim, running over
        elif fault is Fault.DRY_RUN and active and self.running == 0 and not self.tripped:
            self._start_pump()

    def set_supply(self, on: bool) -> None:
        """The feeding power room lost (or got back) its supply: the VFD and pumps stop with
        no fault code, and the pressure falls to the inlet's; back on, they start again."""
        if on == self.supply:
            return
        self.supply = on
        if not on:
            self._stop_all()
        elif not self.tripped and not self.fire:
            self._start_pump()

    def write(self, name: str, value: Scalar) -> bool:
        if name == "setpoint_pressure" and isinstance(value, int | float) and value > 0:
            self.setpoint = float(value)
            return True
        return False

    def step(self, now: datetime, dt: float) -> None:
        if dt <= 0:
            return
        self._hour = local_hour(now, self.tz)
        self.demand_walk = clamp(
            self.demand_walk + self.rng.gauss(0.0, 0.04) * math.sqrt(min(dt, 600) / 60), 0.8, 1.2
        )
        self.flow = self._demand()
        n, h = substeps(dt, 0.5, 400)
        for _ in range(n):
            self._substep(h)
        self._slow(dt)
        noise = self.rng.gauss(0.0, 0.002 * self.setpoint)
        self.measured = max(0.0, self.pressure + noise)

    def values(self) -> dict[str, Scalar]:
        values: dict[str, Scalar] = {
            "outlet_pressure": round(self.measured, 4),
            "inlet_pressure": round(self.inlet, 4),
            "tank_level": round(self.tank, 1),
            "vfd_frequency": round(self.frequency, 2),
            "motor_power": round(sum(self._pump_power(i) for i in range(self.pumps)), 1),
            "run_hours": int(self.run_hours),
            "starts": self.starts,
            "fault_code": self.fault_code,
            "auto_mode": True,
            "water_temperature": round(self.water_temp, 1),
            "setpoint_pressure": self.setpoint,
            "tank_low_limit": TANK_LOW_LIMIT,
            "tank_low_switch": self.tank < TANK_LOW_LIMIT,
            "tank_overflow_switch": self.tank > 98.0,
            "remote_enable": True,
        }
        for i in range(max(3, self.pumps)):
            running = i < self.running
            values[f"pump{i + 1}_running"] = running
            current = self.rated_a * (0.3 + 0.7 * self._pump_power(i) / self.rated_kw)
            values[f"pump{i + 1}_current"] = round(current, 1) if running else 0.0
        return values

    # --- physics ---------------------------------------------------------------------------

    @property
    def tripped(self) -> bool:
        """Stopped and unable to start: a trip, or no supply."""
        return bool(self.faults & {Fault.PUMP_TRIP, Fault.DRY_RUN_TRIP}) or not self.supply

    @property
    def dry(self) -> bool:
        return Fault.DRY_RUN in self.faults or self.tank < 1.0

    @property
    def inlet(self) -> float:
        """Head of the break tank above the pump inlet (1 m plinth, 3 m of water at 100 %)."""
        return 0.0098 * (1.0 + 3.0 * self.tank / 100.0) * (0.2 if self.dry else 1.0)

    def _demand(self) -> float:
        """Flow the estate draws now, m³/h."""
        if self.fire:
            demand = 0.01 * RATED_FLOW
        else:
            share = daily_curve(self._hour, DEMAND_BASE, DEMAND_PEAKS) * self.demand_walk
            demand = clamp(share, 0.02, 1.1) * self.design_flow
        if Fault.PIPE_BURST in self.faults:
            demand += 2.5 * self.pumps * RATED_FLOW
        return demand

    def _substep(self, h: float) -> None:
        sp = self.setpoint
        if self.running == 0:
            self._standby(h)
            return
        speed = self.frequency / F_MAX
        per_pump = self.flow / (self.running * RATED_FLOW)
        if self.dry:
            target = 0.05 * sp * speed**2
        else:
            curve = P_SHUTOFF * speed**2 - FRICTION * per_pump**2
            if Fault.IMPELLER_WEAR in self.faults:
                curve *= WORN
            target = sp * max(curve, 0.08 * speed**2)
        self.pressure = lag(self.pressure, target + self.inlet, h, TAU_PRESSURE)
        error = (sp - self.pressure) / sp
        self.integral = clamp(self.integral + KI * error * h, F_MIN, F_MAX)
        self.frequency = clamp(self.integral + KP * error, F_MIN, F_MAX)
        self._stage(h, per_pump)

    def _stage(self, h: float, per_pump: float) -> None:
        self.high_for = self.high_for + h if self.frequency >= STAGE_UP_HZ else 0.0
        low = self.frequency <= STAGE_DOWN_HZ and self.running > 1
        self.low_for = self.low_for + h if low else 0.0
        if self.high_for >= STAGE_UP_S and self.running < self.pumps:
            self._start_pump()
        elif self.low_for >= STAGE_DOWN_S:
            self.running -= 1
            self.low_for = 0.0
        if self.fire and self.running:
            quiet = (
                self.flow < 0.05 * RATED_FLOW
                and self.pressure >= 0.95 * self.setpoint
                and not self.faults & {Fault.DRY_RUN, Fault.PIPE_BURST}
            )
            self.restored_for = self.restored_for + h if quiet else 0.0
            if self.restored_for >= 30.0:
                self._stop_all()

    def _standby(self, h: float) -> None:
        """No main pump runs: a fire set's jockey holds the pressure; otherwise it falls."""
        sp = self.setpoint
        if Fault.PIPE_BURST in self.faults:
            self.pressure = lag(self.pressure, 0.05 * sp, h, 3.0)
        elif self.fire and not self.tripped:
            if self.pressure < 0.92 * sp:
                self.jockey = True
            if self.jockey:
                self.pressure = lag(self.pressure, 1.02 * sp, h, 8.0)
                self.jockey = self.pressure < 1.0 * sp
            else:
                self.pressure = lag(self.pressure, 0.2 * sp, h, 3000.0)
        elif self.fire:
            self.pressure = lag(self.pressure, 0.3 * sp, h, 120.0)  # the jockey trips too
        else:
            self.pressure = lag(self.pressure, self.inlet, h, 4.0)
        if self.fire and not self.tripped and self.pressure < FIRE_START * sp:
            self._start_pump()

    def _start_pump(self) -> None:
        if self.running >= self.pumps:
            return
        if self.running == 0:
            self.integral = self.frequency = 35.0
        self.running += 1
        self.starts += 1
        self.high_for = self.restored_for = 0.0
        self.jockey = False

    def _stop_all(self) -> None:
        self.running = 0
        self.frequency = 0.0
        self.integral = F_MIN
        self.high_for = self.low_for = self.restored_for = 0.0

    def _pump_power(self, index: int) -> float:
        """Shaft power of pump `index`, kW (affinity laws: cube of speed)."""
        if index >= self.running:
            return 0.0
        speed = self.frequency / F_MAX
        if self.dry:
            return self.rated_kw * speed**3 * 0.08
        per_pump = self.flow / (self.running * RATED_FLOW)
        return self.rated_kw * speed**3 * (0.5 + 0.5 * min(per_pump, 1.6))

    def _slow(self, dt: float) -> None:
        """Tank, counters and water temperature over the whole step."""
        delivering = self.running > 0 and not self.dry
        drawn = self.flow if delivering else (self.flow if Fault.PIPE_BURST in self.faults else 0)
        if Fault.TANK_LOW in self.faults:
            self.inflow_open = False
        elif Fault.TANK_OVERFLOW in self.faults:
            self.inflow_open = True  # the float valve is stuck open
        elif self.tank < (88.0 if self.fire else 70.0):
            self.inflow_open = True
        elif self.tank >= (97.0 if self.fire else 92.0):
            self.inflow_open = False
        inflow = 1.3 * self.design_flow if self.inflow_open else 0.0
        self.tank = clamp(self.tank + (inflow - drawn) * dt / 3600 / self.tank_m3 * 100, 0, 100)
        if self.running:
            self.run_hours += dt / 3600
        ambient = 17.0 + 3.0 * math.sin(2 * math.pi * (self._hour - 9.0) / 24)
        self.water_temp = lag(self.water_temp, ambient, dt, 3 * 3600)
