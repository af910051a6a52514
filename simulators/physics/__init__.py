"""Physics of the simulated devices: one pure model per device kind.

A model knows nothing of Modbus, MQTT or the wall clock: `step(now, dt)` moves it on by
`dt` seconds of estate time (`now` is the estate time after the step, for daily curves),
`values()` gives its engineering values by point name, and `set_fault` turns a physics fault
on or off. All randomness comes from the `random.Random` handed in, so a seed fixes the
whole value sequence.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from random import Random

from estatewatch.config import (
    Device,
    Elevator,
    FirePanel,
    Generator,
    PowerRoom,
    PumpSet,
    RegisterMap,
    Sensor,
)
from simulators.physics.base import Model, StaticModel
from simulators.physics.elevator import ElevatorModel
from simulators.physics.fire_panel import FirePanelModel
from simulators.physics.generator import GeneratorModel
from simulators.physics.power import PowerRoomModel
from simulators.physics.pump import PumpSetModel
from simulators.physics.sensors import SensorModel

__all__ = [
    "ElevatorModel",
    "FirePanelModel",
    "GeneratorModel",
    "Model",
    "PowerRoomModel",
    "PumpSetModel",
    "SensorModel",
    "StaticModel",
    "make_model",
]


def make_model(
    device: Device,
    rng: Random,
    now: datetime,
    tz: tzinfo,
    register_map: RegisterMap | None = None,
) -> Model:
    """The physics model of a configured device (a static one for kinds without physics)."""
    if isinstance(device, PumpSet):
        return PumpSetModel(device, rng, now, tz)
    if isinstance(device, Elevator):
        return ElevatorModel(device, rng, now, tz)
    if isinstance(device, PowerRoom):
        return PowerRoomModel(device, rng, now, tz)
    if isinstance(device, Generator):
        return GeneratorModel(device, rng, now, tz)
    if isinstance(device, FirePanel):
        return FirePanelModel(device, register_map, rng, now, tz)
    if isinstance(device, Sensor):
        return SensorModel(device, rng, now, tz)
    return StaticModel()
