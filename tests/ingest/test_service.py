"""Ingest end to end against the real Mosquitto and InfluxDB."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from estatewatch.config.devices import DeviceKind
from estatewatch.contracts import topics
from estatewatch.contracts.examples import EXAMPLES
from estatewatch.contracts.payloads import (
    MAX_PAYLOAD_BYTES,
    DeadLetter,
    DeviceStatus,
    GatewayHealth,
    Quality,
    TelemetryBatch,
)
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.readings import InfluxConnection, InfluxQLStore
from estatewatch.testing.services import InfluxDB, Mosquitto
from tests.ingest.helpers import (
    GATEWAY,
    SITE,
    count,
    count_reaches,
    eventually,
    now_ms,
    producer,
    running,
    settings_for,
)


def _fresh(model: Any, t: int) -> Any:
    """The contract example, moved to `t` so it is inside the raw retention."""
    if isinstance(model, TelemetryBatch):
        readings = [
            r.model_copy(update={"ts": t + r.ts - model.readings[0].ts}) for r in model.readings
        ]
        return model.model_copy(update={"readings": readings})
    return model.model_copy(update={"ts": t})


async def test_contract_payloads_land_with_their_tags_fields_and_times(
    mosquitto: Mosquitto, influxdb: InfluxDB, influx_db: str
) -> None:
    t = now_ms() - 60_000
    telemetry: TelemetryBatch = _fresh(EXAMPLES["telemetry"], t)
    status: DeviceStatus = _fresh(EXAMPLES["device_status"], t)
    health: GatewayHealth = _fresh(EXAMPLES["gateway_health"], t)
    async with running(settings_for(mosquitto.url, influxdb, influx_db)) as ingest:
        async with MqttClient(MqttSettings(mosquitto.url, client_id="contract-pub")) as pub:
            await pub.publish(topics.telemetry(SITE, GATEWAY), telemetry.to_bytes())
            await pub.publish(topics.device_status(SITE, status.device), status.to_bytes())
            await pub.publish(topics.gateway_health(SITE, GATEWAY), health.to_bytes())
        await eventually(lambda: ingest.stats.acked_total == 3, what="3 messages acknowledged")
    assert ingest.stats.lines_written_total == 4
    rows: Any = influxdb.query('SELECT * FROM "elevator"', influx_db)
    (series,) = rows["results"][0]["series"]
    row = dict(zip(series["columns"], series["values"][0], strict=True))
    assert row == {
        "time": t + 12,
        "building": "t2",
        "device": "elevator-3",
        "room": "machine-room",
        "site": SITE,
        "floor": 7,
        "door_state": 0,
        "load": 240,
        "running": True,
        "car_temperature.quality": "error",
        "trips.quality": "stale",
    }
    keys: Any = influxdb.query('SHOW FIELD KEYS FROM "water_pump_set"', influx_db)
    types = dict(keys["results"][0]["series"][0]["values"])
    assert types == {"fault_code": "float", "outlet_pressure": "float",
                     "pump1_running": "boolean", "vfd_frequency": "float"}  # fmt: skip
    tags: Any = influxdb.query('SHOW TAG KEYS FROM "water_pump_set"', influx_db)
    assert [v[0] for v in tags["results"][0]["series"][0]["values"]] == [
        "building", "device", "room", "site",
    ]  # fmt: skip
    rows = influxdb.query('SELECT "state", "error_kind" FROM "device_status"', influx_db)
    assert rows["results"][0]["series"][0]["values"] == [[t, "offline", "timeout"]]
    rows = influxdb.query('SELECT "devices_online" FROM "gateway_health"', influx_db)
    assert rows["results"][0]["series"][0]["values"] == [[t, 18]]

    async with InfluxQLStore(InfluxConnection(influxdb.url, influx_db)) as store:
        latest = await store.latest(site=SITE, kind=DeviceKind.ELEVATOR, device="elevator-3")
        series_ = await store.range(site=SITE, kind=DeviceKind.WATER_PUMP_SET,
                                    device="pump-domestic-low", point="outlet_pressure",
                                    start=t - 1, end=t + 1)  # fmt: skip
    assert {p: (v.ts, v.value) for p, v in latest.items()} == {
        "door_state": (t + 12, 0), "floor": (t + 12, 7), "load": (t + 12, 240),
        "running": (t + 12, True),
    }  # fmt: skip
    assert [(s.ts, s.value, s.quality) for s in series_.samples] == [(t, 0.452, Quality.GOOD)]


async def test_bad_input_is_dead_lettered_with_its_reason_and_the_good_is_written(
    mosquitto: Mosquitto, influxdb: InfluxDB, influx_db: str
) -> None:
    letters: list[DeadLetter] = []
    topic = topics.telemetry(SITE, GATEWAY)
    good: dict[str, Any] = {
        "site": SITE,
        "gateway": GATEWAY,
        "seq": 1,
        "readings": [{"device": "pump-1", "kind": "water_pump_set", "building": "podium",
                      "room": "pump-room", "ts": now_ms() - 1000, "values": {"seq": 1.0}}],
    }  # fmt: skip

    def variant(ts_offset: int, **reading: Any) -> bytes:
        doc = orjson.loads(orjson.dumps(good))
        doc["readings"][0]["ts"] += ts_offset
        doc["readings"][0].update(reading)
        return orjson.dumps(doc)

    bad = {
        b"{malformed": "Invalid JSON",
        variant(1, values={"seq": [1]}): "readings.0.values.seq",
        variant(2, ts="noon"): "readings.0.ts",
        variant(3, kind="boiler"): "readings.0.kind: Input should be",
        variant(4, values={"seq": 1.0, "note": "x" * MAX_PAYLOAD_BYTES}): "exceeds 262144",
    }
    async with MqttClient(MqttSettings(mosquitto.url, client_id="dl-watch")) as watch:
        await watch.subscribe(topics.deadletter_filter(SITE))

        async def collect() -> None:
            async for m in watch.messages():
                letters.append(DeadLetter.model_validate_json(m.payload))

        collector = asyncio.create_task(collect())
        async with running(settings_for(mosquitto.url, influxdb, influx_db)) as ingest:
            async with MqttClient(MqttSettings(mosquitto.url, client_id="dl-pub")) as pub:
                await pub.publish(topic, variant(-1))
                for payload in bad:
                    await pub.publish(topic, payload)
                await pub.publish(topic, variant(-2))
            await eventually(lambda: len(letters) == len(bad), what="every dead letter")
            await eventually(lambda: ingest.stats.acked_total == len(bad) + 2)
        collector.cancel()
    assert count(influxdb, influx_db) == 2
    assert ingest.stats.dead_letters["payload"] == len(bad)
    by_size = {letter.payload_bytes: letter for letter in letters}
    for payload, reason in bad.items():
        letter = by_size[len(payload)]
        assert reason in letter.reason
        assert letter.component == "ingest"
        assert letter.source_topic == topic
        assert letter.payload == payload[:4096].decode()


async def test_a_type_conflict_dead_letters_only_the_message_at_fault(
    mosquitto: Mosquitto, influxdb: InfluxDB, influx_db: str
) -> None:
    async with MqttClient(MqttSettings(mosquitto.url, client_id="conflict-watch")) as watch:
        await watch.subscribe(topics.deadletter_filter(SITE))
        settings = settings_for(mosquitto.url, influxdb, influx_db)
        async with running(settings) as ingest, producer(mosquitto.url) as prod:
            await prod.publish(3)  # `seq` is a float field from now on
            await count_reaches(influxdb, influx_db, 30)
            for i in range(12):
                batch = prod.batch(10)
                if i == 5:  # one reading says its `seq` is text: InfluxDB refuses that point
                    r = batch.readings[3].model_copy(update={"values": {"seq": "five"}})
                    readings = [*batch.readings[:3], r, *batch.readings[4:]]
                    batch = batch.model_copy(update={"readings": readings})
                await prod.client.publish(topics.telemetry(SITE, GATEWAY), batch.to_bytes())
            await eventually(lambda: ingest.stats.acked_total == 15)
            letter = await asyncio.wait_for(anext(watch.messages()), 10)
    dead = DeadLetter.model_validate_json(letter.payload)
    assert "field type conflict" in dead.reason
    assert '"five"' in dead.payload
    assert ingest.stats.dead_letters["rejected"] == 1
    # 150 readings, one refused; InfluxDB's partial write kept the other 9 of that message
    assert count(influxdb, influx_db) == 149


async def test_readings_older_than_the_retention_are_counted_dead_lettered_and_acked(
    mosquitto: Mosquitto, influxdb: InfluxDB, influx_db: str
) -> None:
    """A gateway back from a long outage forwards a message mixing readings older than the
    raw retention (30 days, as ingest sets it up) with fresh ones: the fresh are stored, the
    old counted and dead-lettered with the reason, the message acknowledged, nothing retried."""
    t = now_ms()
    reading = {"device": "pump-1", "kind": "water_pump_set", "building": "podium",
               "room": "pump-room", "values": {"seq": 1.0}}  # fmt: skip
    doc = {
        "site": SITE,
        "gateway": GATEWAY,
        "seq": 1,
        "readings": [
            {**reading, "ts": t - 40 * 86_400_000},
            {**reading, "ts": t - 1000},
            {**reading, "device": "pump-2", "ts": t - 900},
        ],
    }
    settings = settings_for(mosquitto.url, influxdb, influx_db)
    async with MqttClient(MqttSettings(mosquitto.url, client_id="retention-watch")) as watch:
        await watch.subscribe(topics.deadletter_filter(SITE))
        async with running(settings) as ingest, producer(mosquitto.url) as prod:
            await prod.client.publish(topics.telemetry(SITE, GATEWAY), orjson.dumps(doc))
            await eventually(lambda: ingest.stats.acked_total == 1)
            letter = await asyncio.wait_for(anext(watch.messages()), 10)
    dead = DeadLetter.model_validate_json(letter.payload)
    assert "older than the store's retention policy" in dead.reason
    assert count(influxdb, influx_db) == 2
    stats = ingest.stats
    assert stats.points_beyond_retention_total == 1
    assert stats.dead_letters["beyond_retention"] == 1
    assert (stats.write_retries_total, stats.write_rejections_total) == (0, 0)


async def test_two_instances_split_one_stream_without_loss_or_double_counting(
    mosquitto: Mosquitto, influxdb: InfluxDB, influx_db: str
) -> None:
    a = settings_for(mosquitto.url, influxdb, influx_db, group="split-test")
    b = settings_for(mosquitto.url, influxdb, influx_db, group="split-test")
    async with running(a) as first, running(b) as second, producer(mosquitto.url) as prod:
        await prod.publish(200, size=10)
        await count_reaches(influxdb, influx_db, 2000)
        await eventually(lambda: first.stats.acked_total + second.stats.acked_total == 200)
    assert first.stats.lines_written_total > 0
    assert second.stats.lines_written_total > 0
    assert first.stats.lines_written_total + second.stats.lines_written_total == 2000
    assert count(influxdb, influx_db) == 2000


async def test_on_the_embedded_mqtt_3_broker_it_subscribes_plainly(
    influxdb: InfluxDB, influx_db: str
) -> None:
    # `estatewatch up` runs amqtt, which speaks MQTT 3.1.1: no shared subscriptions there.
    from estatewatch.broker import EmbeddedBroker
    from estatewatch.testing.services import free_port

    async with EmbeddedBroker(port=free_port()) as broker:
        settings = settings_for(broker.url, influxdb, influx_db)
        assert settings.subscriptions()[0] == "ew/v1/+/telemetry/+"
        async with running(settings), producer(broker.url) as prod:
            await prod.publish(20, size=5)
            await count_reaches(influxdb, influx_db, 100)
    assert count(influxdb, influx_db) == 100
