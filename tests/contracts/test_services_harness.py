"""The harness itself talks to the real servers: publish through Mosquitto, write to InfluxDB."""

from __future__ import annotations

import threading
import urllib.request

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from estatewatch.contracts import TelemetryBatch, decode, topics
from estatewatch.testing.services import InfluxDB, Mosquitto, free_port
from tests.ingest.helpers import now_ms


def test_publish_through_real_mosquitto(mosquitto: Mosquitto) -> None:
    received: list[bytes] = []
    got = threading.Event()
    subscribed = threading.Event()
    topic = topics.telemetry("harbour-view", "gw-test")
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="harness-sub")
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = lambda c, u, m: (received.append(m.payload), got.set())
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
    sub.connect(mosquitto.host, mosquitto.port)
    sub.loop_start()
    assert subscribed.wait(5)
    batch = TelemetryBatch.model_validate(
        {
            "site": "harbour-view",
            "gateway": "gw-test",
            "seq": 7,
            "readings": [
                {
                    "device": "pump-domestic-low",
                    "kind": "water_pump_set",
                    "building": "podium",
                    "room": "pump-room",
                    "ts": now_ms(),
                    "values": {"outlet_pressure": 0.45},
                }
            ],
        }
    )
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="harness-pub")
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    pub.publish(topic, batch.to_bytes(), qos=1).wait_for_publish(5)
    assert got.wait(5)
    pub.loop_stop()
    sub.loop_stop()
    assert decode(TelemetryBatch, topic, received[0]) == batch


def test_write_and_query_real_influxdb(influxdb: InfluxDB, influx_db: str) -> None:
    t = now_ms()
    line = b"water_pump_set,site=harbour-view,device=pump-1 outlet_pressure=0.45 %d" % t
    req = urllib.request.Request(
        f"{influxdb.url}/write?db={influx_db}&precision=ms", data=line, method="POST"
    )
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 204
    result = influxdb.query("SELECT outlet_pressure FROM water_pump_set", db=influx_db)
    series = result["results"][0]["series"][0]  # type: ignore[index]
    assert series["values"] == [[t, 0.45]]


def test_free_port_never_hands_out_one_port_twice() -> None:
    # the OS may offer a just-released port again at once; two servers then collide
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
