"""The `bacnet` source over real UDP on loopback: against the simulated air handler and
chiller (values, units from the device, one ReadPropertyMultiple per poll, offline and
back, COV), and against a device built from bacpypes3's own local objects, found by
Who-Is."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from bacpypes3.app import Application
from bacpypes3.local.analog import AnalogValueObject
from bacpypes3.local.binary import BinaryValueObject
from bacpypes3.local.multistate import MultiStateValueObject

from estatewatch.clock import FakeClock, SystemClock
from estatewatch.config import Bacnet, BacnetPort, SiteConfig
from estatewatch.contracts.payloads import DeviceErrorKind, DeviceState
from gateway.bacnet import BacnetPoller, BacnetSource
from gateway.schedule import PollStats
from simulators.harness import free_udp_port, run_estate
from tests.gateway.test_dlt645 import Capture, trackers

HVAC = {"ahu-1", "chiller-1"}


def hvac_site(example: SiteConfig, *, cov: bool = False) -> SiteConfig:
    """The example's office tower plant only, answering within 0.3 s (a fast offline)."""
    devices = []
    for device in example.devices:
        if device.id in HVAC:
            assert isinstance(device.connection, Bacnet)
            conn = device.connection.model_copy(
                update={"timeout": timedelta(seconds=0.3), "cov": cov}
            )
            devices.append(device.model_copy(update={"connection": conn}))
    return example.model_copy(update={"devices": devices})


def poller(source: BacnetSource, device_id: str) -> BacnetPoller:
    return next(p for p in source.pollers if p.device.id == device_id)


async def test_the_plant_is_read_as_the_simulator_serves_it(example_site: SiteConfig) -> None:
    clock = FakeClock()
    async with run_estate(hvac_site(example_site), clock=clock) as estate:
        estate.freeze()
        source = BacnetSource.from_site(estate.site, trackers(estate.site), PollStats(), clock)
        sink = Capture()
        async with source.link:
            for p in source.pollers:
                await p.poll(sink)
            ahu = poller(source, "ahu-1")
            assert source.link.requests == 2  # one ReadPropertyMultiple per device per poll
            await ahu.poll(sink)
            assert source.link.requests == 3  # the units were asked once, with the first
        truth = {d: estate.values(d) for d in HVAC}
    assert sink.statuses == [("ahu-1", DeviceState.ONLINE), ("chiller-1", DeviceState.ONLINE)]
    got = {r["device"]: r["values"] for r in reversed(sink.readings)}  # each one's first
    assert got["ahu-1"] == pytest.approx(truth["ahu-1"])
    assert got["chiller-1"] == pytest.approx(truth["chiller-1"])
    assert got["ahu-1"]["fan_status"] is True  # 16:00 on a weekday: the fan runs
    assert got["chiller-1"]["trip_alarm"] is False
    # The site file leaves the analog units to the device: what it reports.
    assert ahu.units == {"supply_air_temp": "degrees-celsius", "filter_dp": "pascals"}


async def test_a_device_that_stops_answering_goes_offline_and_comes_back(
    example_site: SiteConfig,
) -> None:
    clock = FakeClock()
    async with run_estate(hvac_site(example_site), clock=clock) as estate:
        estate.freeze()
        found = trackers(estate.site)
        source = BacnetSource.from_site(estate.site, found, PollStats(), clock)
        ahu, chiller = poller(source, "ahu-1"), poller(source, "chiller-1")
        sink = Capture()
        async with source.link:
            await ahu.poll(sink)
            estate.inject("ahu-1", "offline")
            for _ in range(3):
                await ahu.poll(sink)
                await chiller.poll(sink)  # the same gateway port: still answers
            tracker = found["ahu-1"]
            assert tracker.state is DeviceState.OFFLINE
            assert tracker.last_error is not None
            assert tracker.last_error.kind is DeviceErrorKind.TIMEOUT
            assert found["chiller-1"].state is DeviceState.ONLINE
            estate.clear("ahu-1")
            await clock.advance(120)  # past the offline probe's backoff
            await ahu.poll(sink)
            assert tracker.state is DeviceState.ONLINE
    ahu_statuses = [s for d, s in sink.statuses if d == "ahu-1"]
    assert ahu_statuses == [DeviceState.ONLINE, DeviceState.OFFLINE, DeviceState.ONLINE]
    assert sink.readings[-1]["device"] == "ahu-1"


async def until(done: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not done():  # noqa: ASYNC110 (UDP datagrams to wait for: no event to await)
            await asyncio.sleep(0.02)


async def test_a_change_of_value_arrives_between_polls(example_site: SiteConfig) -> None:
    clock = SystemClock()
    async with run_estate(hvac_site(example_site, cov=True), clock=clock) as estate:
        estate.freeze()
        source = BacnetSource.from_site(estate.site, trackers(estate.site), PollStats(), clock)
        chiller = poller(source, "chiller-1")
        sink = Capture()
        async with source.link:
            await chiller.poll(sink)
            task = asyncio.create_task(chiller.follow_changes(sink))
            try:
                await until(lambda: len(chiller.subscribed) == 3)
                before = len(sink.readings)
                # From a worker thread, as the control API injects: no poll from here on.
                await asyncio.to_thread(estate.inject, "chiller-1", "chiller_trip")
                await until(
                    lambda: any(r["values"].get("trip_alarm") for r in sink.readings[before:])
                )
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    changed = [r["values"] for r in sink.readings[before:]]
    assert {"trip_alarm": True} in changed
    assert chiller.cov_refused == set()


def library_device(address: str) -> Application:
    """A BACnet device made of bacpypes3's own application and local objects (nobody here
    wrote them), which is also the BBMD of its (loopback) subnet."""
    args = argparse.Namespace(
        vendoridentifier=999, instance=777, name="library-device", address=f"{address}",
        network=0, foreign=None, ttl=30, bbmd=[address],
    )  # fmt: skip
    app = Application.from_args(args)
    app.add_object(
        AnalogValueObject(
            objectIdentifier=("analog-value", 5), objectName="humidity", presentValue=41.5,
            units="percentRelativeHumidity", covIncrement=1.0,
        )
    )  # fmt: skip
    app.add_object(
        BinaryValueObject(
            objectIdentifier=("binary-value", 2), objectName="occupied", presentValue="active"
        )
    )
    app.add_object(
        MultiStateValueObject(
            objectIdentifier=("multi-state-value", 1), objectName="mode", presentValue=3,
            numberOfStates=4,
        )
    )  # fmt: skip
    return app


async def test_a_library_device_is_found_by_who_is_through_its_bbmd_and_read(
    example_site: SiteConfig,
) -> None:
    """No address in the site file: the gateway registers as a foreign device with the BBMD
    (on 127.0.0.2, another loopback address), its Who-Is goes through it, the I-Am comes
    back, and the points are read; an object the device lacks degrades it, naming the
    point."""
    bbmd = f"127.0.0.2:{free_udp_port()}"
    device = example_site.device("ahu-1").model_copy(
        update={
            "id": "library-device",
            "connection": Bacnet.model_validate(
                {
                    "protocol": "bacnet", "device_instance": 777, "timeout": "1s",
                    "cov": False,
                    "points": [
                        {"name": "humidity", "object_type": "analog-value", "instance": 5},
                        {"name": "occupied", "object_type": "binary-value", "instance": 2},
                        {"name": "mode", "object_type": "multi-state-value", "instance": 1},
                        {"name": "missing", "object_type": "analog-value", "instance": 99},
                    ],
                }
            ),
        }
    )  # fmt: skip
    port = BacnetPort(address=f"127.0.0.1:{free_udp_port()}", bbmd=bbmd, bbmd_ttl="60s")
    site = example_site.model_copy(update={"devices": [device]})
    clock = FakeClock()
    found = trackers(site)
    source = BacnetSource.from_site(site, found, PollStats(), clock, port)
    served = library_device(bbmd)
    sink = Capture()
    try:
        async with source.link:
            await asyncio.sleep(0.3)  # the foreign-device registration goes first
            (lib,) = source.pollers
            await lib.poll(sink)
    finally:
        served.close()
    assert lib.address == bbmd  # the source of the I-Am
    assert sink.readings[0]["values"] == {"humidity": 41.5, "occupied": True, "mode": 3}
    assert sink.readings[0]["quality"] == {"missing": "error"}
    tracker = found["library-device"]
    assert tracker.state is DeviceState.DEGRADED
    assert tracker.last_error is not None
    assert tracker.last_error.kind is DeviceErrorKind.PROTOCOL_ERROR
    assert "missing (analog-value,99)" in tracker.last_error.message
    assert lib.units["humidity"] == "percent-relative-humidity"  # as the object reports it


async def test_cov_from_a_library_device_and_polling_for_what_it_refuses(
    example_site: SiteConfig,
) -> None:
    """bacpypes3's own device refuses a subscription to an object it lacks: that point is
    polled, the others come by COV."""
    address = f"127.0.0.1:{free_udp_port()}"
    device = example_site.device("ahu-1").model_copy(
        update={
            "id": "library-device",
            "connection": Bacnet.model_validate(
                {
                    "protocol": "bacnet", "device_instance": 777, "address": address,
                    "timeout": "1s",
                    "points": [
                        {"name": "humidity", "object_type": "analog-value", "instance": 5},
                        {"name": "missing", "object_type": "analog-value", "instance": 99},
                    ],
                }
            ),
        }
    )  # fmt: skip
    port = BacnetPort(address=f"127.0.0.1:{free_udp_port()}")
    site = example_site.model_copy(update={"devices": [device]})
    clock = SystemClock()
    source = BacnetSource.from_site(site, trackers(site), PollStats(), clock, port)
    served = library_device(address)
    humidity = served.get_object_name("humidity")
    sink = Capture()
    try:
        async with source.link:
            (lib,) = source.pollers
            await lib.poll(sink)
            task = asyncio.create_task(lib.follow_changes(sink))
            try:
                await until(lambda: lib.subscribed == {"humidity"})
                before = len(sink.readings)
                humidity.presentValue = 55.0  # beyond its COV increment of 1 %RH
                await until(lambda: len(sink.readings) > before)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        served.close()
    assert lib.cov_refused == {"missing"}
    assert sink.readings[before]["values"] == {"humidity": 55.0}
