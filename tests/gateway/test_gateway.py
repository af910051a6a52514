"""The gateway against the simulated estate and a real Mosquitto: every point arrives with
its decoded value; faults show up as changed values, exception codes, an offline device;
the other devices keep their poll rate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from estatewatch.clock import FakeClock
from estatewatch.config import (
    Bacnet,
    Dlt645,
    ModbusRtu,
    ModbusTcp,
    MqttSensor,
    RegisterMap,
    SiteConfig,
)
from estatewatch.contracts.payloads import (
    DeviceErrorKind,
    DeviceState,
    GatewayHealth,
    GatewayState,
    TelemetryBatch,
)
from estatewatch.testing.services import Mosquitto
from simulators.harness import run_estate
from tests.gateway.conftest import fast, running_gateway
from tests.gateway.helpers import Listener, listening

pytestmark = pytest.mark.integration


def frozen() -> FakeClock:
    """A clock that never moves (served values stay exactly as they are), set to now."""
    return FakeClock(datetime.now(UTC))


SENSOR_FAULTS = {
    "leak-pump-room": "leak",
    "leak-power-room-1": "leak",
    "smoke-power-room-1": "smoke",
    "smoke-power-room-2": "smoke",
    "temp-power-room-2": "high_temperature",
    "temp-fire-control": "high_temperature",
}


async def test_every_point_arrives_with_its_decoded_value(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    site_id = example_site.site.id
    async with (
        listening(mosquitto.url, site_id) as central,
        run_estate(example_site, seed=3, mqtt_url=mosquitto.url, clock=frozen()) as estate,
        running_gateway(fast(estate.site), mosquitto.url, tmp_path) as gateway,
    ):
        modbus = [d for d in estate.site.devices if isinstance(d.connection, ModbusTcp)]
        await central.wait_for(
            lambda: all(central.readings(d.id) for d in modbus), what="a reading of every device"
        )
        for sensor, fault in SENSOR_FAULTS.items():  # each sensor reports what changed
            estate.inject(sensor, fault)
        estate.step_once(300.0)
        stepped = int(datetime.now(UTC).timestamp() * 1000)

        def fresh() -> bool:
            return all(
                central.readings(d.id) and central.readings(d.id)[-1][0] > stepped + 300
                for d in modbus
            )

        await central.wait_for(
            lambda: all(central.readings(s) for s in SENSOR_FAULTS), what="every sensor"
        )
        await central.wait_for(fresh, what="readings after the step")
        for device in estate.site.devices:
            if isinstance(device.connection, Dlt645 | Bacnet):
                continue  # reported by exception: tests/gateway/test_dlt645.py, test_bacnet.py
            *_, (_ts, values, quality) = central.readings(device.id)
            expected = estate.values(device.id)
            assert values == expected, device.id
            assert quality == {}
            if isinstance(device.connection, MqttSensor):
                assert set(values) == {p.name for p in device.connection.points}
            else:
                points = estate.site.register_map_of(device.id).points
                assert set(values) == {p.name for p in points}
        assert values_of(central, "leak-pump-room")["leak"] is True
        temperature = values_of(central, "temp-power-room-2")["temperature"]
        assert isinstance(temperature, float)
        assert temperature > 40
        for device in modbus:
            (status, *_) = central.statuses(device.id)
            assert status.state is DeviceState.ONLINE
        states = [p for p in central.of(GatewayState) if isinstance(p, GatewayState)]
        assert states
        assert states[0].state == "online"
        # The DL/T 645 meters are polled on their own (slower) schedule: wait for them too.
        await central.wait_for(
            lambda: gateway.figures().devices_online == len(estate.site.devices),
            what="every device online",
        )
        for batch in central.batches():
            assert batch.site == site_id
            assert batch.gateway == estate.site.gateway.id
        seqs = central.seqs(TelemetryBatch)
        assert sorted(seqs) == list(range(len(seqs)))


def values_of(central: Listener, device: str) -> dict[str, object]:
    return central.readings(device)[-1][1]


async def test_faults_show_as_values_codes_and_offline_devices(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    async with (
        listening(mosquitto.url, example_site.site.id) as central,
        run_estate(example_site, seed=4, clock=frozen()) as estate,
        running_gateway(fast(estate.site), mosquitto.url, tmp_path) as gateway,
    ):
        await central.wait_for(lambda: central.readings("elevator-3"), what="elevator-3")
        estate.inject("elevator-3", "entrapment")
        estate.step_once(5.0)
        estate.inject("pump-fire", "modbus_exception", exception_code=2)
        estate.inject("power-room-2", "offline")
        estate.inject("power-room-1", "garbage")
        started = asyncio.get_running_loop().time()
        steady_before = len(central.readings("pump-domestic-low"))

        def settled() -> bool:
            return (
                _state(central, "pump-fire") is DeviceState.DEGRADED
                and _state(central, "power-room-2") is DeviceState.OFFLINE
                and _state(central, "power-room-1") is DeviceState.DEGRADED
                and values_of(central, "elevator-3")["fault_code"] == 31
            )

        await central.wait_for(settled, what="every fault to show")
        # entrapment: stopped between floors, doors closed, the fault code of the map
        car = values_of(central, "elevator-3")
        assert car == estate.values("elevator-3")
        assert car["fault_code"] == 31
        assert car["leveled"] is False
        assert car["running"] is False
        # an exception response: the device answers, its code is reported
        refused = central.statuses("pump-fire")[-1]
        assert refused.last_error is not None
        assert refused.last_error.code == 2
        assert refused.last_error.kind is DeviceErrorKind.MODBUS_EXCEPTION
        # no answer: offline after offline_after polls, with the timeout as the reason
        silent = central.statuses("power-room-2")[-1]
        assert silent.consecutive_failures == 3
        assert silent.last_error is not None
        assert silent.last_error.kind is DeviceErrorKind.TIMEOUT
        # garbage: NaN floats are errors without a value; the rest are values
        garbled = central.statuses("power-room-1")[-1]
        assert garbled.last_error is not None
        assert garbled.last_error.kind is DeviceErrorKind.DECODE
        assert any("error" in q.values() for _, _, q in central.readings("power-room-1"))

        # meanwhile the other devices kept their rate (0.2 s interval)
        elapsed = asyncio.get_running_loop().time() - started
        polled = len(central.readings("pump-domestic-low")) - steady_before
        assert polled >= 0.7 * elapsed / 0.2, (polled, elapsed)

        estate.clear("power-room-2")
        estate.clear("pump-fire")
        await central.wait_for(
            lambda: (
                _state(central, "power-room-2") is DeviceState.ONLINE
                and _state(central, "pump-fire") is DeviceState.ONLINE
            ),
            what="recovery",
        )
        assert gateway.figures().devices_online == len(estate.site.devices) - 6  # sensors: silent


async def test_a_dead_unit_behind_a_shared_address_slows_its_neighbours_little(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The eight elevators share one TCP address: one of them dead costs the others one
    timeout per poll until it is offline, then one per backed-off probe."""
    async with (
        listening(mosquitto.url, example_site.site.id) as central,
        run_estate(example_site, seed=5, clock=frozen()) as estate,
        running_gateway(fast(estate.site, interval=0.5, timeout=0.2), mosquitto.url, tmp_path),
    ):
        await central.wait_for(lambda: central.readings("elevator-1"), what="elevator-1")
        estate.inject("elevator-3", "offline")
        before = len(central.readings("elevator-1"))
        await asyncio.sleep(4.0)
        polled = len(central.readings("elevator-1")) - before
        assert polled >= 6, polled  # of 8 ticks in 4 s
        assert _state(central, "elevator-3") is DeviceState.OFFLINE


async def test_health_is_published(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    site = example_site.model_copy(
        update={
            "gateway": example_site.gateway.model_copy(
                update={"health_interval": timedelta(seconds=0.5)}
            )
        }
    )
    async with (
        listening(mosquitto.url, site.site.id) as central,
        run_estate(site, seed=6, clock=frozen()) as estate,
        running_gateway(fast(estate.site), mosquitto.url, tmp_path),
    ):
        await central.wait_for(lambda: len(central.of(GatewayHealth)) >= 2, what="health")
        health = central.of(GatewayHealth)[-1]
        assert isinstance(health, GatewayHealth)
        assert health.devices_total == 27  # 21 + four DL/T 645 meters + ahu-1, chiller-1
        assert health.devices_online == 21  # 15 + the four meters + the BACnet plant
        assert health.published_total > 0
        assert health.dropped_total == 0
        assert health.poll_latency_p50_ms > 0
        assert central.seqs(GatewayHealth)[:2] == [0, 1]


def _state(central: Listener, device: str) -> DeviceState | None:
    statuses = central.statuses(device)
    return statuses[-1].state if statuses else None


async def test_it_buffers_from_the_start_when_the_uplink_is_down(
    example_site: SiteConfig, own_mosquitto: Mosquitto, tmp_path: Path
) -> None:
    own_mosquitto.stop()
    async with (
        run_estate(example_site, seed=7, clock=frozen()) as estate,
        running_gateway(fast(estate.site), own_mosquitto.url, tmp_path) as gateway,
    ):
        await asyncio.sleep(1.0)
        queued = gateway.store.stats.depth
        assert queued > 5  # polling went on into the queue
        assert not gateway.figures().broker_connected
        own_mosquitto.start()
        async with listening(own_mosquitto.url, example_site.site.id) as central:
            await central.wait_for(
                lambda: gateway.store.stats.depth < 5 and central.batches(), within=20,
                what="the backlog to drain",
            )  # fmt: skip
            first = min(central.seqs(TelemetryBatch))
            assert first == 0  # the oldest first, with its original seq


async def test_a_serial_device_without_its_bus_is_offline_with_the_reason(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    pump = example_site.device("pump-fire")
    rtu = ModbusRtu(protocol="modbus_rtu", serial_port=str(tmp_path / "ttyUSB9"), unit_id=3)
    serial = pump.model_copy(
        update={"connection": rtu, "offline_after": 1, "poll_interval": timedelta(seconds=0.2)}
    )
    site = example_site.model_copy(update={"devices": [serial]})
    async with (
        listening(mosquitto.url, site.site.id) as central,
        running_gateway(site, mosquitto.url, tmp_path),
    ):
        await central.wait_for(lambda: central.statuses("pump-fire"), what="a status")
        (status, *_) = central.statuses("pump-fire")
        assert status.state is DeviceState.OFFLINE
        assert status.last_error is not None
        assert status.last_error.kind is DeviceErrorKind.CONNECTION
        assert "ttyUSB9" in status.last_error.message


async def test_a_device_refusing_a_bridged_gap_gets_gap_free_reads(
    example_site: SiteConfig,
    mosquitto: Mosquitto,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The simulators answer "illegal data address" for registers no point covers, as many
    devices do; a read bridging such a gap is split for good."""
    sparse = RegisterMap.model_validate(
        {"points": [
            {"name": "voltage_l1", "table": "input", "address": 0, "type": "float32"},
            {"name": "frequency", "table": "input", "address": 10, "scale": 0.01},
        ]}
    )  # fmt: skip
    meter = example_site.device("power-room-1").model_copy(update={"register_map": "sparse"})
    site = example_site.model_copy(update={"register_maps": {"sparse": sparse}, "devices": [meter]})
    async with (
        listening(mosquitto.url, site.site.id) as central,
        run_estate(site, seed=9, clock=frozen()) as estate,
        running_gateway(fast(estate.site), mosquitto.url, tmp_path) as gateway,
    ):
        await central.wait_for(lambda: len(central.readings("power-room-1")) >= 3, what="readings")
        assert central.readings("power-room-1")[-1][1] == estate.values("power-room-1")
        assert [s.state for s in central.statuses("power-room-1")] == [DeviceState.ONLINE]
        assert gateway.pollers[0].requests_per_poll == 2  # was 1 read of 11 registers
        assert any("refuses the coalesced read" in r.getMessage() for r in caplog.records)
