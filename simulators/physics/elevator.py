"""An elevator answering calls floor to floor.

Each call is two legs: to the caller's floor (doors open, passengers board), then to their
destination (doors open, they leave). The car accelerates at 0.9 m/s² to its rated speed
and decelerates to level at the landing; doors take 2.5 s to open and to close and dwell a
few seconds. Calls come more often at the morning and evening peaks, mostly to or from the
lobby. Chinese buildings have no floor 0: B1 is below 1F, so the floors skip 0.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, tzinfo
from enum import IntEnum
from random import Random

from estatewatch.config import Elevator
from estatewatch.contracts.payloads import Scalar
from simulators.faults import Fault
from simulators.physics.base import clamp, daily_curve, lag, local_hour, substeps

FLOOR_HEIGHT = 3.2  # m
ACCELERATION = 0.9  # m/s²
RESCUE_SPEED = 0.3  # m/s, the maintainer's manual levelling after an entrapment
DOOR_TIME = 2.5  # s to open or to close
PERSON_KG = 70
TRAFFIC_PEAKS = ((7.8, 1.0, 1.0), (12.0, 1.0, 0.45), (18.5, 1.5, 0.9))
TRAFFIC_BASE = 0.08


class Door(IntEnum):
    CLOSED = 0
    OPENING = 1
    OPEN = 2
    CLOSING = 3
    FAULT = 4


class Direction(IntEnum):
    IDLE = 0
    UP = 1
    DOWN = 2


FAULT_DOOR_LOCK = 11
FAULT_DOOR_OBSTRUCTION = 12
FAULT_BETWEEN_FLOORS = 31
STOP_FAULTS = {  # stop, creep to the nearest landing, open and park there
    Fault.OVERSPEED: 21,
    Fault.POWER_FAILURE: 41,
    Fault.SAFETY_CIRCUIT: 51,
}
DOOR_FAULTS = {Fault.DOOR_FAULT: FAULT_DOOR_LOCK, Fault.DOOR_OBSTRUCTION: FAULT_DOOR_OBSTRUCTION}


class ElevatorModel:
    def __init__(self, device: Elevator, rng: Random, now: datetime, tz: tzinfo) -> None:
        self.rng = rng
        self.tz = tz
        low, high = device.lowest_floor, device.highest_floor
        self.floors = [f for f in range(low, high + 1) if not (f == 0 and low < 0 < high)]
        self.rated_load = device.rated_load_kg
        self.rated_speed = 2.5 if len(self.floors) > 20 else 1.75
        self.faults: set[Fault] = set()
        lobby = self.floors.index(1) if 1 in self.floors else 0
        self.position = lobby * FLOOR_HEIGHT  # metres above the lowest landing
        self.speed = 0.0
        self.direction = Direction.IDLE
        self.target: int | None = None
        self.legs: deque[tuple[int, int]] = deque()  # (floor index, persons boarding there)
        self.door = Door.CLOSED
        self.door_timer = 0.0
        self.persons = 0
        self.load = 0
        self.wait = rng.uniform(1.0, 20.0)
        self.trips = rng.randint(100_000, 900_000)
        self.run_hours = rng.uniform(5_000.0, 30_000.0)
        self.temperature = rng.uniform(23.0, 27.0)
        self.fault_code = 0
        self.rescue = False
        self.hour = local_hour(now, tz)

    # --- the model interface ---------------------------------------------------------------

    def set_fault(self, fault: Fault, active: bool) -> None:
        if active:
            self.faults.add(fault)
        else:
            self.faults.discard(fault)
        if fault is Fault.ENTRAPMENT and active:
            self._entrap()
        elif fault is Fault.ENTRAPMENT:
            self.rescue = True  # the maintainer brings the car to the nearest landing
            self.target = round(self.position / FLOOR_HEIGHT)
            self.legs.clear()
        elif fault in DOOR_FAULTS and active:
            self.legs.clear()
            if self.direction is Direction.IDLE:
                self._door_fault()
        elif fault in DOOR_FAULTS and Fault.ENTRAPMENT not in self.faults:
            self.fault_code = 0
            self.door, self.door_timer = Door.CLOSING, DOOR_TIME
        elif fault in STOP_FAULTS and active and Fault.ENTRAPMENT not in self.faults:
            self.fault_code = STOP_FAULTS[fault]
            self.legs.clear()
            self.speed = 0.0  # the emergency stop; then creep to the nearest landing
            self.rescue = True
            self.target = self._nearest()
            self.direction = Direction.IDLE
        elif fault in STOP_FAULTS and Fault.ENTRAPMENT not in self.faults:
            self.fault_code = 0
            if self.door is Door.OPEN:
                self.door, self.door_timer = Door.CLOSING, DOOR_TIME

    def write(self, name: str, value: Scalar) -> bool:
        return False

    def step(self, now: datetime, dt: float) -> None:
        if dt <= 0:
            return
        self.hour = local_hour(now, self.tz)
        n, h = substeps(dt, 0.25, 2000)
        for _ in range(n):
            self._substep(h)
        outside = 24.0 + 3.0 * math.sin(2 * math.pi * (self.hour - 9.0) / 24)
        heat = 0.8 * self.load / self.rated_load
        self.temperature = lag(self.temperature, outside + heat, dt, 1800.0)
        self.temperature += self.rng.gauss(0.0, 0.02)

    def values(self) -> dict[str, Scalar]:
        moving = self.speed > 0.0
        leveled = not moving and abs(self.position - self._nearest() * FLOOR_HEIGHT) < 0.01
        in_fault = bool(self.faults - {Fault.OFFLINE, Fault.MODBUS_EXCEPTION, Fault.GARBAGE})
        in_fault = in_fault or self.rescue
        return {
            "floor": self.floors[self._nearest()],
            "direction": int(self.direction),
            "door_state": int(self.door),
            "load": self.load,
            "speed": round(self.speed, 2),
            "fault_code": self.fault_code,
            "running": moving,
            "in_service": not in_fault,
            "leveled": leveled,
            "alarm_button": Fault.ENTRAPMENT in self.faults,
            "fire_mode": False,
            "trips": self.trips,
            "run_hours": int(self.run_hours),
            "car_temperature": round(self.temperature, 1),
            "model": "EW-MRL-2500",
        }

    # --- behaviour ---------------------------------------------------------------------------

    def _nearest(self) -> int:
        return int(clamp(round(self.position / FLOOR_HEIGHT), 0, len(self.floors) - 1))

    def _entrap(self) -> None:
        """An emergency stop between two landings with people inside."""
        self.speed = 0.0
        self.direction = Direction.IDLE
        self.target = None
        self.legs.clear()
        self.rescue = False
        self.door, self.door_timer = Door.CLOSED, 0.0
        here = self.position / FLOOR_HEIGHT
        if abs(here - round(here)) < 0.2:  # at a landing: stuck just above (or below) it
            step = 0.45 if round(here) < len(self.floors) - 1 else -0.45
            self.position = (round(here) + step) * FLOOR_HEIGHT
        if self.persons == 0:
            self.persons = self.rng.randint(1, 4)
        self.load = self._weigh(self.persons)
        self.fault_code = FAULT_BETWEEN_FLOORS

    def _door_fault(self) -> None:
        if Fault.DOOR_FAULT in self.faults:
            self.door, self.fault_code = Door.FAULT, FAULT_DOOR_LOCK
        else:  # obstructed: the doors stand open and keep reopening
            self.door, self.fault_code = Door.OPEN, FAULT_DOOR_OBSTRUCTION
        self.door_timer = 0.0
        self.persons, self.load = 0, 0  # the doors are not locked: people step out

    @property
    def moving_with_people(self) -> bool:
        """Travelling (or about to) with somebody inside: a stop now traps them."""
        return self.persons > 0 and (self.speed > 0.0 or self.target is not None)

    @property
    def parked(self) -> bool:
        """Out of service at a landing: no new calls; a stopped car stands open."""
        return bool(self.faults & {*STOP_FAULTS, *DOOR_FAULTS, Fault.OUT_OF_SERVICE})

    def _weigh(self, persons: int) -> int:
        if persons == 0:
            return 0
        kg = persons * PERSON_KG + self.rng.randint(-15, 25) * persons // 2
        return int(clamp(kg, 1, self.rated_load * 1.1))

    def _substep(self, h: float) -> None:
        if Fault.ENTRAPMENT in self.faults:
            return
        if self.target is not None:
            self._travel(h)
        elif self.door is Door.FAULT:
            return
        elif self.door is Door.OPEN and self.faults & {*STOP_FAULTS, *DOOR_FAULTS}:
            return  # parked open (a stop fault) or held open (an obstruction)
        elif self.door is not Door.CLOSED:
            self._doors(h)
        elif self.legs:
            self._go(self.legs[0][0])
        else:
            self.wait -= h
            if self.wait <= 0 and not self.parked:
                self._new_call()

    def _new_call(self) -> None:
        here = self._nearest()
        lobby = self.floors.index(1) if 1 in self.floors else 0
        other = self.rng.randrange(len(self.floors))
        if self.rng.random() < 0.5:  # half of the journeys start or end at the lobby
            origin, destination = (lobby, other) if self.rng.random() < 0.5 else (other, lobby)
        else:
            origin, destination = self.rng.randrange(len(self.floors)), other
        if origin == destination:
            destination = (destination + 1) % len(self.floors)
        self.legs.extend([(origin, self.rng.randint(1, 5)), (destination, 0)])
        if origin == here:
            self.door, self.door_timer = Door.OPENING, DOOR_TIME

    def _go(self, index: int) -> None:
        if index == self._nearest() and self.speed == 0.0:
            self.door, self.door_timer = Door.OPENING, DOOR_TIME
            return
        self.target = index
        self.direction = Direction.UP if index * FLOOR_HEIGHT > self.position else Direction.DOWN

    def _travel(self, h: float) -> None:
        assert self.target is not None
        goal = self.target * FLOOR_HEIGHT
        distance = abs(goal - self.position)
        top = RESCUE_SPEED if self.rescue else self.rated_speed
        self.speed = min(top, self.speed + ACCELERATION * h, math.sqrt(2 * ACCELERATION * distance))
        self.direction = Direction.UP if goal > self.position else Direction.DOWN
        if distance <= self.speed * h + 0.003:
            self._arrive(goal)
            return
        sign = 1.0 if self.direction is Direction.UP else -1.0
        self.position += sign * self.speed * h
        self.run_hours += h / 3600

    def _arrive(self, goal: float) -> None:
        self.position = goal
        self.speed = 0.0
        self.direction = Direction.IDLE
        self.target = None
        self.trips += 1
        if self.rescue:
            self.rescue = False
            if not self.faults & set(STOP_FAULTS):
                self.fault_code = 0
        if self.faults & set(DOOR_FAULTS):
            self._door_fault()
        else:
            self.door, self.door_timer = Door.OPENING, DOOR_TIME

    def _doors(self, h: float) -> None:
        self.door_timer -= h
        if self.door_timer > 0:
            return
        if self.door is Door.OPENING:
            self.door, self.door_timer = Door.OPEN, self.rng.uniform(3.0, 8.0)
            self._exchange()
            if self.faults & set(STOP_FAULTS):
                self.persons, self.load = 0, 0  # parked open: everybody leaves
        elif self.door is Door.OPEN:
            self.door, self.door_timer = Door.CLOSING, DOOR_TIME
        else:  # closing
            self.door, self.door_timer = Door.CLOSED, 0.0
            if not self.legs:
                busy = daily_curve(self.hour, TRAFFIC_BASE, TRAFFIC_PEAKS)
                self.wait = self.rng.expovariate(busy / 60.0)

    def _exchange(self) -> None:
        """Passengers leave and board at this landing."""
        here = self._nearest()
        if self.legs and self.legs[0][0] == here:
            _, boarding = self.legs.popleft()
            self.persons = boarding
        else:
            self.persons = 0
        self.load = self._weigh(self.persons)
