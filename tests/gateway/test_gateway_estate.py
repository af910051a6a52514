"""The gateway against the simulated estate and a real Mosquitto: values, faults, status."""

from __future__ import annotations

from pathlib import Path

import pytest

from estatewatch.codec import decode, encode
from estatewatch.config import ModbusTcp, MqttSensor, SiteConfig
from estatewatch.contracts.payloads import (
    DeviceErrorKind,
    DeviceReading,
    DeviceState,
    DeviceStatus,
    TelemetryBatch,
)
from estatewatch.testing.services import Mosquitto
from gateway.service import GatewayOptions, GatewayService
from simulators.harness import run_estate
from tests.gateway.helpers import Central, prime_site_session, quick, unique_gateway

pytestmark = pytest.mark.integration


def readings(central: Central, device: str) -> list[DeviceReading]:
    return [r for b in central.of(TelemetryBatch) for r in b.readings if r.device == device]


def statuses(central: Central, device: str) -> list[DeviceStatus]:
    return [s for s in central.of(DeviceStatus) if s.device == device]


async def test_every_point_arrives_decoded(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    site = unique_gateway(example_site)
    await prime_site_session(mosquitto.url, site)
    async with (
        Central(mosquitto.url, site.site.id) as central,
        run_estate(site, seed=3, mqtt_url=mosquitto.url) as estate,
    ):
        estate.freeze()
        relocated = quick(estate.site)
        options = GatewayOptions(mqtt_url=mosquitto.url, buffer_path=str(tmp_path / "gw.db"))
        async with GatewayService(relocated, options):
            devices = [d.id for d in relocated.devices]
            await central.wait_for(lambda: all(readings(central, d) for d in devices))
        for device in relocated.devices:
            got = readings(central, device.id)[-1]
            truth = estate.values(device.id)
            if isinstance(device.connection, ModbusTcp):
                register_map = relocated.register_map_of(device.id)
                assert got.quality == {}, device.id
                assert set(got.values) == {p.name for p in register_map.points}
                for point in register_map.points:
                    expected = decode(encode(truth[point.name], point), point)
                    assert got.values[point.name] == pytest.approx(expected), (device.id, point)
            else:
                assert isinstance(device.connection, MqttSensor)
                for mqtt_point in device.connection.points:
                    assert got.values[mqtt_point.name] == pytest.approx(
                        truth[mqtt_point.name], abs=1e-3
                    ), (device.id, mqtt_point.name)
        online = {s.device for s in central.of(DeviceStatus) if s.state is DeviceState.ONLINE}
        assert online == {d.id for d in relocated.devices if isinstance(d.connection, ModbusTcp)}


async def test_faults_show_up_and_other_devices_keep_their_rate(
    example_site: SiteConfig, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    site = unique_gateway(example_site)
    async with (
        Central(mosquitto.url, site.site.id) as central,
        run_estate(site, seed=5) as estate,
    ):
        relocated = quick(estate.site, interval=0.2, timeout=0.15)
        options = GatewayOptions(mqtt_url=mosquitto.url, buffer_path=str(tmp_path / "gw.db"))
        async with GatewayService(relocated, options) as gateway:
            await central.wait_for(lambda: readings(central, "elevator-4"))
            estate.inject("elevator-3", "entrapment")
            estate.inject("power-room-1", "modbus_exception")
            before = len(readings(central, "elevator-4"))
            estate.inject("elevator-5", "offline")  # on the elevators' shared connection
            await central.wait_for(
                lambda: any(
                    r.values.get("fault_code") == 31 for r in readings(central, "elevator-3")
                )
            )
            degraded = await central.wait_for(
                lambda: [
                    s for s in statuses(central, "power-room-1") if s.state is DeviceState.DEGRADED
                ]
            )
            offline = await central.wait_for(
                lambda: [
                    s for s in statuses(central, "elevator-5") if s.state is DeviceState.OFFLINE
                ]
            )
            during = len(readings(central, "elevator-4")) - before
            assert gateway.devices_online == len(gateway.pollers) - 1
            # With elevator-5 offline, elevator-4 (same connection) keeps pace with a pump set
            # on a connection of its own: counts of readings, not wall-clock speed.
            shared, alone = (
                len(readings(central, "elevator-4")),
                len(readings(central, "pump-domestic-low")),
            )
            await central.wait_for(
                lambda: len(readings(central, "pump-domestic-low")) >= alone + 10
            )
            assert len(readings(central, "elevator-4")) - shared >= 8
            estate.clear("elevator-5")
            await central.wait_for(
                lambda: statuses(central, "elevator-5")[-1].state is DeviceState.ONLINE
            )
        error = degraded[0].last_error
        assert error is not None
        assert (error.kind, error.code) == (DeviceErrorKind.MODBUS_EXCEPTION, 4)
        assert offline[0].consecutive_failures == relocated.device("elevator-5").offline_after
        assert offline[0].last_error is not None
        assert offline[0].last_error.kind is DeviceErrorKind.TIMEOUT
        # elevator-4 shares elevator-5's connection; it kept polling meanwhile: at 5 polls/s
        # for the ~0.6 s elevator-5 took to go offline, several readings.
        assert during >= 2
        # Readings during the exception fault carry the last good values as stale.
        stale = [r for r in readings(central, "power-room-1") if r.quality]
        assert stale
        assert all(q.value in ("stale", "error") for r in stale for q in r.quality.values())
