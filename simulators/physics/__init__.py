"""Physics of the simulated devices: one pure model per device kind.

A model knows nothing of Modbus, MQTT or the wall clock: `step(now, dt)` moves it on by
`dt` seconds of estate time (`now` is the estate time after the step, for daily curves),
`values()` gives its engineering values by point name, and `set_fault` turns a physics fault
on or off. All randomness comes from the `random.Random` handed in, so a seed fixes the
whole value sequence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from random import Random

from estatewatch.config import (
    AirHandler,
    Chiller,
    Device,
    Elevator,
    EnergyMeter,
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
from simulators.physics.hvac import AirHandlerModel, ChillerModel
from simulators.physics.meter import MeterModel
from simulators.physics.power import PowerRoomModel
from simulators.physics.pump import PumpSetModel
from simulators.physics.sensors import SensorModel

__all__ = [
    "AirHandlerModel",
    "ChillerModel",
    "ElevatorModel",
    "FirePanelModel",
    "GeneratorModel",
    "MeterModel",
    "Model",
    "PowerRoomModel",
    "PumpSetModel",
    "SensorModel",
    "StaticModel",
    "link_models",
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
    if isinstance(device, EnergyMeter):
        return MeterModel(device, rng, now, tz)
    if isinstance(device, AirHandler):
        return AirHandlerModel(device, rng, now, tz)
    if isinstance(device, Chiller):
        return ChillerModel(device, rng, now, tz)
    return StaticModel()


def link_models(devices: Mapping[str, tuple[Device, Model]]) -> None:
    """Tie models that depend on another device's: a meter to the power room feeding it."""
    for device, model in devices.values():
        if isinstance(device, EnergyMeter) and isinstance(model, MeterModel) and device.supply:
            room = devices.get(device.supply)
            if room is not None and isinstance(room[1], PowerRoomModel):
                model.attach(room[1])
