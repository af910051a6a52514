"""The gateway's state on a real broker: the last will is fixed at the run's start, so every
state of a run carries `since` and the will says `last_will` — a consumer that orders by
(`since`, offline after online) keeps the truth, one that orders by `ts` would not."""

from __future__ import annotations

import threading
from datetime import timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from estatewatch.clock import FakeClock
from estatewatch.contracts.payloads import GatewayState
from estatewatch.testing.services import Mosquitto
from gateway.presence import Presence


def newest(states: list[GatewayState]) -> GatewayState:
    """What a consumer keeps, by the contract's order."""
    return max(states, key=lambda s: (s.since or 0, s.state == "offline"))


def test_a_vanished_gateways_will_supersedes_its_later_online(mosquitto: Mosquitto) -> None:
    clock = FakeClock()
    presence = Presence(site="hv", gateway="gw-1", clock=clock)
    got: list[GatewayState] = []
    arrived = threading.Event()

    def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        got.append(GatewayState.model_validate_json(message.payload))
        if len(got) == 2:
            arrived.set()

    watch = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="presence-watch")
    watch.on_message = on_message
    watch.connect(mosquitto.host, mosquitto.port)
    watch.subscribe(presence.topic, qos=1)
    watch.loop_start()

    gateway = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="presence-gw")
    will = presence.will()
    gateway.will_set(will.topic, will.payload, qos=1, retain=True)
    gateway.connect(mosquitto.host, mosquitto.port, keepalive=5)
    gateway.loop_start()
    clock.set(clock.now() + timedelta(minutes=5))  # a reconnect, minutes into the run
    gateway.publish(presence.topic, presence.state(True).to_bytes(), qos=1).wait_for_publish(5)
    gateway.loop_stop()
    gateway.socket().close()  # vanish: no DISCONNECT, the broker fires the will
    try:
        assert arrived.wait(15), got
    finally:
        watch.loop_stop()
        watch.disconnect()
    online, offline = got
    assert (online.state, online.last_will) == ("online", False)
    assert (offline.state, offline.last_will) == ("offline", True)
    assert offline.ts < online.ts  # the will's time is the run's start: never order by ts
    assert offline.since == online.since == presence.since
    assert newest(got) is offline
