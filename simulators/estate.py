"""A whole simulated estate: every device of a site config, its physics stepped by a clock,
served over Modbus TCP and MQTT, with faults injected and cleared at run time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from random import Random
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from estatewatch.clock import Clock
from estatewatch.config import DeviceKind, Generator, SiteConfig
from estatewatch.contracts.payloads import Scalar
from simulators.bacnet_server import BacnetServers
from simulators.device import DeviceSim
from simulators.dlt645_server import MeterServers
from simulators.errors import SimulatorError, UnknownDevice
from simulators.faults import Fault, accepted_faults
from simulators.modbus_server import ModbusServers
from simulators.mqtt_sensors import SensorPublisher
from simulators.physics import link_models, make_model
from simulators.physics.elevator import ElevatorModel
from simulators.physics.pump import PumpSetModel

log = logging.getLogger(__name__)


class SimulatedEstate:
    """Every device of `site`, deterministic under `seed` for a given sequence of steps.

    Physics time starts at `clock.now()` and moves on by the clock's monotonic time, one step
    every `step` seconds of clock time, unless frozen; `step_once` moves it on by hand.
    """

    def __init__(self, site: SiteConfig, *, clock: Clock, seed: int = 1, step: float = 0.1) -> None:
        if step <= 0:
            raise ValueError("step must be positive")
        self.site = site
        self.clock = clock
        self.seed = seed
        self.step_seconds = step
        self.now = clock.now()
        try:
            tz = ZoneInfo(site.site.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SimulatorError(f"unknown timezone {site.site.timezone!r}") from exc
        self.sims: dict[str, DeviceSim] = {}
        for device in site.devices:
            rng = Random(f"{seed}:{device.id}")
            register_map = site.register_maps.get(device.register_map or "")
            model = make_model(device, rng, self.now, tz, register_map)
            self.sims[device.id] = DeviceSim(device, register_map, model, rng)
        link_models({d: (sim.device, sim.model) for d, sim in self.sims.items()})
        self.feeds = {
            room.id: [d.id for d in site.devices if room.id in site.fed_by(d.id)]
            for room in site.devices
            if room.kind is DeviceKind.POWER_ROOM
        }
        """Power room → the devices it feeds (the site file's `feeds`)."""
        self._unpowered: dict[str, set[Fault]] = {}
        """Device → the faults a loss of supply gave it (cleared when the supply is back)."""
        self._frozen = False
        self.failed_steps = 0
        self._listeners: list[Callable[[], None]] = []
        self.modbus: ModbusServers | None = None
        self.sensors: SensorPublisher | None = None

    # --- the test-harness interface ------------------------------------------------------------

    def sim(self, device_id: str) -> DeviceSim:
        try:
            return self.sims[device_id]
        except KeyError:
            raise UnknownDevice(device_id) from None

    def device_ids(self) -> list[str]:
        return list(self.sims)

    def kind(self, device_id: str) -> DeviceKind:
        return self.sim(device_id).device.kind

    def inject(
        self, device_id: str, fault: Fault | str, *, exception_code: int | None = None
    ) -> Fault:
        """Give a device a fault; `exception_code` is the answer of `modbus_exception`."""
        injected = self.sim(device_id).inject(fault, exception_code=exception_code)
        log.info("fault %s injected on %s", injected.value, device_id)
        self._supply(device_id)
        self._notify()
        return injected

    def clear(self, device_id: str, fault: Fault | str | None = None) -> None:
        """Clear one fault of a device, or all of them; the physics recovers from there."""
        self.sim(device_id).clear(fault)
        log.info("fault %s cleared on %s", fault or "(all)", device_id)
        self._supply(device_id)
        self._notify()

    # --- what a power room feeds ----------------------------------------------------------------

    def _supply(self, room_id: str) -> None:
        """Stop, or start again, what a power room feeds as its supply went or came back."""
        if room_id not in self.feeds:
            return
        lost = Fault.OUTAGE in self.sim(room_id).faults
        for device_id in self.feeds[room_id]:
            if lost and device_id not in self._unpowered:
                self._unpowered[device_id] = self._power_off(self.sim(device_id))
            elif not lost and device_id in self._unpowered:
                self._power_on(self.sim(device_id), self._unpowered.pop(device_id))
        for sim in self.sims.values():
            device = sim.device
            if isinstance(device, Generator) and room_id in device.backs:
                # its AMF controller senses the room's mains: it starts and takes the load
                if lost:
                    sim.inject(Fault.MAINS_LOSS)
                else:
                    sim.clear(Fault.MAINS_LOSS)

    @staticmethod
    def _power_off(sim: DeviceSim) -> set[Fault]:
        """How a device stops when its supply goes: pump sets stop and the pressure falls; a
        moving car halts between floors (with people inside: an entrapment) and a standing
        one stays where it is, out of service; a controller without a UPS stops answering."""
        given: set[Fault] = set()
        model = sim.model
        if isinstance(model, PumpSetModel):
            model.set_supply(False)
        elif isinstance(model, ElevatorModel):
            fault = Fault.ENTRAPMENT if model.moving_with_people else Fault.POWER_FAILURE
            if fault not in sim.faults:
                sim.inject(fault)
                given.add(fault)
        if not sim.device.ups and Fault.OFFLINE not in sim.faults:
            sim.inject(Fault.OFFLINE)
            given.add(Fault.OFFLINE)
        return given

    @staticmethod
    def _power_on(sim: DeviceSim, given: set[Fault]) -> None:
        """The supply is back: what stopped starts again. An entrapment stays until someone
        frees the people (`clear`): the car does not move by itself."""
        if isinstance(sim.model, PumpSetModel):
            sim.model.set_supply(True)
        for fault in given - {Fault.ENTRAPMENT}:
            sim.clear(fault)

    def faults(self, device_id: str) -> frozenset[Fault]:
        return frozenset(self.sim(device_id).faults)

    def accepted_faults(self, device_id: str) -> frozenset[Fault]:
        return accepted_faults(self.sim(device_id).device)

    def values(self, device_id: str) -> dict[str, Scalar]:
        """The engineering values being served right now (ground truth for tests)."""
        return self.sim(device_id).values()

    def freeze(self) -> None:
        """Stop the physics: served values stay exactly as they are."""
        self._frozen = True

    def unfreeze(self) -> None:
        """Resume the physics from where it stopped (the frozen time is skipped)."""
        self._frozen = False

    @property
    def frozen(self) -> bool:
        return self._frozen

    def step_once(self, seconds: float | None = None) -> None:
        """Advance the physics by one step (`step` seconds, or `seconds`), frozen or not."""
        self._advance(self.step_seconds if seconds is None else seconds)

    # --- running -------------------------------------------------------------------------------

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every step and every fault change."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    def _advance(self, dt: float) -> None:
        if dt <= 0:
            return
        self.now += timedelta(seconds=dt)
        for sim in self.sims.values():
            sim.step(self.now, dt)
        self._notify()

    async def run_physics(self, started: asyncio.Event | None = None) -> None:
        """Step the physics with the clock until cancelled (`started` is set once it waits
        on the clock, so a fake clock advanced right after wakes it)."""
        last = self.clock.monotonic()
        while True:
            if started is not None:
                started.set()  # its waiter resumes only after the sleep below is registered
            await self.clock.sleep(self.step_seconds)
            mono = self.clock.monotonic()
            dt, last = mono - last, mono
            if self._frozen:
                continue
            try:
                self._advance(dt)
            except Exception:  # a model's bug must not stop every other device
                self.failed_steps += 1
                if self.failed_steps == 1:
                    log.exception("a physics step of %.3f s failed; skipping it", dt)
                else:
                    log.debug("physics step failed again (%d so far)", self.failed_steps)

    @asynccontextmanager
    async def running(
        self,
        *,
        bind_host: str | None = "127.0.0.1",
        mqtt_url: str | None = None,
        sensor_interval: float = 60.0,
    ) -> AsyncIterator[SimulatedEstate]:
        """Serve every Modbus TCP device, publish the MQTT sensors (with `mqtt_url`) and step
        the physics, until the block exits."""
        async with AsyncExitStack() as stack:
            self.modbus = await stack.enter_async_context(
                ModbusServers(self.sims.values(), bind_host=bind_host)
            )
            await stack.enter_async_context(MeterServers(self.sims.values(), bind_host=bind_host))
            bacnet = await stack.enter_async_context(
                BacnetServers(self.sims.values(), bind_host=bind_host)
            )
            if bacnet.devices:
                self.add_listener(bacnet.refresh)
                stack.callback(self._listeners.remove, bacnet.refresh)
            if mqtt_url is not None:
                publisher = SensorPublisher(
                    self.sims.values(), url=mqtt_url, clock=self.clock, interval=sensor_interval
                )
                self.sensors = await stack.enter_async_context(publisher)
                self.add_listener(publisher.notice)
            started = asyncio.Event()
            task = asyncio.create_task(self.run_physics(started), name="sim-physics")
            try:
                await started.wait()
                yield self
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                if self.sensors is not None:
                    self._listeners.remove(self.sensors.notice)
