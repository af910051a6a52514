"""The `dlt645` source against simulated meters over real TCP, and report by exception
compared with full-rate polling on the same simulated run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from estatewatch.clock import FakeClock
from estatewatch.config import Dlt645, SiteConfig
from estatewatch.config.report import Deadband
from estatewatch.contracts.payloads import DeviceErrorKind, DeviceState
from gateway.devices import DeviceTracker
from gateway.dlt645 import Dlt645Source
from gateway.polling import ModbusSource
from gateway.report import ReportFilter, policies
from gateway.schedule import PollStats
from simulators.harness import run_estate

POWER = {"power-room-1", "power-room-2", "meter-t1", "meter-t2", "meter-t34", "meter-podium"}


def power_site(example: SiteConfig, *, rbe: bool = False) -> SiteConfig:
    """The example's power rooms and their feeder meters only."""
    devices = [d for d in example.devices if d.id in POWER]
    gateway = example.gateway.model_copy(update={"report_by_exception": rbe})
    return example.model_copy(update={"devices": devices, "gateway": gateway})


class Capture:
    """A sink that keeps what a source publishes, decoded."""

    def __init__(self) -> None:
        self.readings: list[dict[str, Any]] = []
        self.statuses: list[tuple[str, DeviceState | None]] = []

    def reading(self, fragment: bytes, *, urgent: bool = False) -> None:
        self.readings.append(orjson.loads(fragment))

    def status(self, tracker: DeviceTracker) -> None:
        self.statuses.append((tracker.device.id, tracker.state))


def trackers(site: SiteConfig) -> dict[str, DeviceTracker]:
    return {d.id: DeviceTracker(d, site="s", gateway="g") for d in site.devices}


async def test_meters_are_read_as_the_simulator_serves_them(example_site: SiteConfig) -> None:
    clock = FakeClock()
    async with run_estate(power_site(example_site), clock=clock) as estate:
        estate.freeze()
        source = Dlt645Source.from_site(estate.site, trackers(estate.site), PollStats(), clock)
        assert len(source.pollers) == 4
        assert len(source.buses) == 2  # two RS-485 buses behind two transparent gateways
        sink = Capture()
        try:
            for poller in source.pollers:
                await poller.poll(sink)
        finally:
            await source.close()
    meters = ["meter-t1", "meter-t2", "meter-t34", "meter-podium"]
    assert sink.statuses == [(m, DeviceState.ONLINE) for m in meters]
    by_device = {r["device"]: r["values"] for r in sink.readings}
    truth = estate.values("meter-t34")
    got = by_device["meter-t34"]
    assert set(got) == {p.name for p in _points(estate.site, "meter-t34")}
    assert got["voltage_l1"] == pytest.approx(truth["voltage_l1"], abs=0.05)
    # Behind a 1000/5 A CT: secondary amperes to 3 decimals, scaled by 200.
    assert got["current_l2"] == pytest.approx(truth["current_l2"], abs=0.1 + 1e-9)
    assert got["active_power"] == pytest.approx(truth["active_power"], abs=0.01 + 1e-9)
    assert got["energy"] == pytest.approx(truth["energy"], abs=0.005)
    assert got["power_factor"] == pytest.approx(truth["power_factor"], abs=0.0005)
    # Fed from power room 2's busbar: its voltages.
    room = estate.values("power-room-2")
    assert got["voltage_l1"] == pytest.approx(room["voltage_l1"], abs=0.06)


def _points(site: SiteConfig, device: str) -> list[Any]:
    conn = site.device(device).connection
    assert isinstance(conn, Dlt645)
    return list(conn.points)


@pytest.mark.parametrize(
    ("fault", "state", "kind", "code"),
    [
        ("meter_error", DeviceState.DEGRADED, DeviceErrorKind.PROTOCOL_ERROR, 1),
        ("garbage", DeviceState.DEGRADED, DeviceErrorKind.DECODE, None),
        ("offline", DeviceState.OFFLINE, DeviceErrorKind.TIMEOUT, None),
    ],
)
async def test_meter_faults_become_its_status(
    example_site: SiteConfig,
    fault: str,
    state: DeviceState,
    kind: DeviceErrorKind,
    code: int | None,
) -> None:
    clock = FakeClock()
    site = power_site(example_site)
    async with run_estate(site, clock=clock) as estate:
        estate.freeze()
        found = trackers(estate.site)
        source = Dlt645Source.from_site(estate.site, found, PollStats(), clock)
        poller = next(p for p in source.pollers if p.device.id == "meter-t2")
        neighbour = next(p for p in source.pollers if p.device.id == "meter-t1")
        sink = Capture()
        try:
            await poller.poll(sink)
            estate.inject("meter-t2", fault)
            for _ in range(3):
                await poller.poll(sink)
                await neighbour.poll(sink)  # on the same bus: still answers
            tracker = found["meter-t2"]
            assert tracker.state is state
            assert tracker.last_error is not None
            assert (tracker.last_error.kind, tracker.last_error.code) == (kind, code)
            assert found["meter-t1"].state is DeviceState.ONLINE
            estate.clear("meter-t2")
            await clock.advance(120)  # past the offline probe's backoff
            await poller.poll(sink)
            assert tracker.state is DeviceState.ONLINE
        finally:
            await source.close()
    assert sink.statuses[-1] == ("meter-t2", DeviceState.ONLINE)
    assert sink.readings[-1]["device"] == "meter-t2"


async def test_an_unreachable_gateway_is_a_connection_error(example_site: SiteConfig) -> None:
    clock = FakeClock()
    site = power_site(example_site)
    async with run_estate(site, clock=clock) as estate:
        moved = estate.site
    found = trackers(moved)  # the estate is gone: nothing listens there any more
    source = Dlt645Source.from_site(moved, found, PollStats(), clock)
    sink = Capture()
    for _ in range(3):
        await source.pollers[0].poll(sink)
    await source.close()
    error = found["meter-t1"].last_error
    assert found["meter-t1"].state is DeviceState.OFFLINE
    assert error is not None
    assert error.kind is DeviceErrorKind.CONNECTION


# --- report by exception against full rate, on the same run --------------------------------


def _held(readings: list[dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
    held: dict[str, Any] = {}
    for reading in readings:
        held.update(reading["values"])
        yield reading["ts"], dict(held)


async def test_report_by_exception_delivers_every_change_beyond_the_deadband(
    example_site: SiteConfig,
) -> None:
    """Two gateways' worth of pollers read the same frozen-and-stepped estate, one at full
    rate and one by exception: at every step, every point the RBE side holds is within its
    deadband of the full-rate value, every point went out at least once a minute, and far
    fewer values went out."""
    clock = FakeClock()
    steps = 240
    full_site = power_site(example_site)
    async with run_estate(full_site, clock=clock) as estate:
        estate.freeze()
        site = estate.site
        rbe_site = site.model_copy(
            update={"gateway": site.gateway.model_copy(update={"report_by_exception": True})}
        )
        full = Capture()
        rbe = Capture()
        sources: list[tuple[ModbusSource | Dlt645Source, Capture]] = []
        for which, sink in ((site, full), (rbe_site, rbe)):
            found, stats = trackers(which), PollStats()
            sources.append((ModbusSource.from_site(which, found, stats, clock), sink))
            sources.append((Dlt645Source.from_site(which, found, stats, clock), sink))
        for meter in sources[1][0].pollers:
            meter.output.report = ReportFilter({})  # full rate: the meters' own deadbands ignored
        try:
            for _ in range(steps):
                estate.step_once(1.0)
                await clock.advance(1.0)
                for source, sink in sources:
                    if isinstance(source, ModbusSource):
                        for modbus in source.pollers:
                            for group in modbus.groups:
                                await modbus.poll(group, sink)
                    else:
                        for meter in source.pollers:
                            await meter.poll(sink)
        finally:
            for source, _ in sources:
                await source.close()
    bands = _bands(rbe_site)
    for device in POWER:
        mine = [r for r in rbe.readings if r["device"] == device]
        theirs = [r for r in full.readings if r["device"] == device]
        assert len(theirs) == steps
        _every_change_delivered(device, theirs, mine, bands[device])
        _never_silent_for_over_a_minute(mine)
    full_values = sum(len(r["values"]) for r in full.readings)
    rbe_values = sum(len(r["values"]) for r in rbe.readings)
    assert rbe_values * 3 < full_values, (full_values, rbe_values)


def _every_change_delivered(
    device: str,
    full: list[dict[str, Any]],
    rbe: list[dict[str, Any]],
    bands: dict[str, Deadband],
) -> None:
    """At each full-rate poll, what the RBE side last delivered of each point is within
    the point's deadband of the full-rate value (equal, for bools and text)."""
    held_at = dict(_held(rbe))
    for reading in full:
        ts = reading["ts"]
        held = held_at.get(ts) or _latest_before(held_at, ts)
        for name, value in reading["values"].items():
            band = bands.get(name, Deadband(value=0))
            kept = held[name]
            if isinstance(value, bool | str):
                assert kept == value, (device, name, ts)
                continue
            limit = abs(kept) * band.value / 100 if band.percent else band.value
            assert abs(value - kept) <= limit + 1e-9, (device, name, ts, value, kept)


def _never_silent_for_over_a_minute(rbe: list[dict[str, Any]]) -> None:
    last_sent: dict[str, int] = {}
    for reading in rbe:
        for name in reading["values"]:
            if name in last_sent:
                assert reading["ts"] - last_sent[name] <= 60_000
            last_sent[name] = reading["ts"]


def _latest_before(held_at: dict[int, dict[str, Any]], ts: int) -> dict[str, Any]:
    return held_at[max(t for t in held_at if t <= ts)]


def _bands(site: SiteConfig) -> dict[str, dict[str, Deadband]]:
    out: dict[str, dict[str, Deadband]] = {}
    for device in site.devices:
        if isinstance(device.connection, Dlt645):
            points: list[Any] = list(device.connection.points)
        else:
            assert device.register_map is not None
            points = list(site.register_maps[device.register_map].points)
        out[device.id] = {n: p.deadband for n, p in policies(points, everything=True).items()}
    return out
