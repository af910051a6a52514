"""The API on a real Mosquitto: alarms in, work-order events and alarm commands out,
exactly one order per alarm across redelivery and a restart, dead letters for garbage."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select

from api.models import Alarm, WorkOrder
from api.sites import Sites
from api.store.workorders import order_id_for_alarm
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import AlarmCommand, DeadLetter, WorkOrderEvent
from estatewatch.mqtt import Message, MqttClient, MqttSettings
from estatewatch.testing.services import Mosquitto
from tests.api.helpers import SITE, Api, alarm_event, make_api

pytestmark = pytest.mark.integration
T = TypeVar("T")


async def eventually(probe: Callable[[], T | None], within: float = 10) -> T:
    for _ in range(int(within / 0.05)):
        value = probe()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


class Collector:
    def __init__(self, client: MqttClient) -> None:
        self.messages: list[Message] = []
        self._task = asyncio.create_task(self._run(client))

    async def _run(self, client: MqttClient) -> None:
        async for message in client.messages():
            self.messages.append(message)

    def on(self, fragment: str) -> list[Message]:
        return [m for m in self.messages if fragment in m.topic]

    def stop(self) -> None:
        self._task.cancel()


async def _subscribed(api: Api, pub: MqttClient) -> None:
    """Wait until the API's subscriptions are in place: a probe alarm gets stored. (A new
    client's first session starts with its subscriptions; earlier messages are not for it.)"""
    await eventually(lambda: api.get("/health").json()["mqtt"] == "connected")
    probe = alarm_event("probe", severity="warning", category="battery_low")

    async def stored() -> bool:
        await pub.publish(topics.alarm(SITE, probe.alarm_id), probe.to_bytes())
        for _ in range(10):
            if api.get("/alarms/probe").status_code == 200:
                return True
            await asyncio.sleep(0.05)
        return False

    for _ in range(20):
        if await stored():
            return
    raise AssertionError("the API never subscribed")


def _stored_alarms(api: Api) -> int:
    with api.runtime.db.read() as session:
        return session.scalar(select(func.count()).select_from(Alarm)) or 0


def _orders(api: Api) -> list[str]:
    return [o["id"] for o in api.get("/workorders").json()]


async def test_alarms_become_one_order_across_redelivery_and_restart(
    mosquitto: Mosquitto, tmp_path: Path, sites: Sites
) -> None:
    database = tmp_path / "bus.db"
    event = alarm_event("bus-1")
    async with (
        MqttClient(MqttSettings(mosquitto.url, client_id="test-bus-watch")) as watch,
        MqttClient(MqttSettings(mosquitto.url, client_id="test-bus-pub")) as pub,
    ):
        await watch.subscribe(topics.workorder_filter(SITE))
        collector = Collector(watch)
        with make_api(database, sites, mqtt_url=mosquitto.url, mqtt_client_id="api-bus-1") as api:
            await _subscribed(api, pub)
            for _ in range(3):
                await pub.publish(topics.alarm(SITE, event.alarm_id), event.to_bytes())
            await eventually(lambda: _orders(api))
            await eventually(lambda: collector.on("/workorder/"))
            assert _orders(api) == [order_id_for_alarm("bus-1")]
        # Restarted: the same event again, then a sentinel that shows the first was consumed.
        with make_api(database, sites, mqtt_url=mosquitto.url, mqtt_client_id="api-bus-1") as api:
            await pub.publish(topics.alarm(SITE, event.alarm_id), event.to_bytes())
            sentinel = alarm_event("bus-2")
            await pub.publish(topics.alarm(SITE, sentinel.alarm_id), sentinel.to_bytes())
            await eventually(lambda: len(collector.on("/workorder/")) == 2)
            assert sorted(_orders(api)) == sorted(
                [order_id_for_alarm("bus-1"), order_id_for_alarm("bus-2")]
            )
            assert len(api.get("/alarms/bus-1").json()["history"]) == 1
        collector.stop()
    created = [WorkOrderEvent.model_validate_json(m.payload) for m in collector.on("/workorder/")]
    assert [(e.alarm_id, e.event, e.revision) for e in created] == [
        ("bus-1", "created", 1),
        ("bus-2", "created", 1),
    ]


async def test_acknowledging_sends_the_rules_engine_a_command(
    mosquitto: Mosquitto, tmp_path: Path, sites: Sites
) -> None:
    async with MqttClient(MqttSettings(mosquitto.url, client_id="test-cmd-watch")) as watch:
        await watch.subscribe(topics.alarm_command_filter(SITE))
        collector = Collector(watch)
        with make_api(
            tmp_path / "cmd.db", sites, mqtt_url=mosquitto.url, mqtt_client_id="api-cmd"
        ) as api:
            api.ingest(alarm_event("cmd-1"))
            assert (
                api.post("/alarms/cmd-1/acknowledge", {"note": "on it"}, user="dina").status_code
                == 202
            )
            await eventually(lambda: collector.on("alarm-command"))
            await eventually(lambda: api.get("/health").json()["outbox_pending"] == 0)
        collector.stop()
    [message] = collector.on("alarm-command")
    command = AlarmCommand.model_validate_json(message.payload)
    assert (message.topic, command.action, command.by, command.note) == (
        topics.alarm_command(SITE, "cmd-1"),
        "acknowledge",
        "dina",
        "on it",
    )


async def test_garbage_goes_to_the_dead_letter_topic(
    mosquitto: Mosquitto, tmp_path: Path, sites: Sites
) -> None:
    async with (
        MqttClient(MqttSettings(mosquitto.url, client_id="test-dl-watch")) as watch,
        MqttClient(MqttSettings(mosquitto.url, client_id="test-dl-pub")) as pub,
    ):
        await watch.subscribe(topics.deadletter_filter(SITE))
        collector = Collector(watch)
        with make_api(
            tmp_path / "dl.db", sites, mqtt_url=mosquitto.url, mqtt_client_id="api-dl"
        ) as api:
            await _subscribed(api, pub)
            await pub.publish(topics.alarm(SITE, "x"), b'{"alarm_id": "x"}')
            good = alarm_event("after-garbage")
            await pub.publish(topics.alarm(SITE, good.alarm_id), good.to_bytes())
            await eventually(lambda: api.get("/alarms/after-garbage").status_code == 200)
            await eventually(lambda: collector.on("deadletter"))
        collector.stop()
    letter = DeadLetter.model_validate_json(collector.on("deadletter")[0].payload)
    assert (letter.component, letter.source_topic) == ("api", topics.alarm(SITE, "x"))
    assert "event_id" in letter.reason


async def test_a_burst_is_stored_in_batches_and_a_poison_message_alone_is_dead_lettered(
    mosquitto: Mosquitto, tmp_path: Path, sites: Sites, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api import inbound

    real_apply = inbound.apply_batch

    def apply_batch(session: object, payloads: list[object], **kw: object) -> list[str]:
        # A message that passes the contract but breaks the store (a bug, a constraint).
        if any(getattr(p, "alarm_id", None) == "poison" for p in payloads):
            raise ValueError("the store cannot take this one")
        return real_apply(session, payloads, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(inbound, "apply_batch", apply_batch)
    database = tmp_path / "burst.db"
    burst = [alarm_event(f"storm-{i}", severity="major", category="phase_loss") for i in range(150)]
    burst.insert(75, alarm_event("poison"))
    async with (
        MqttClient(MqttSettings(mosquitto.url, client_id="test-burst-watch")) as watch,
        MqttClient(MqttSettings(mosquitto.url, client_id="test-burst-pub")) as pub,
    ):
        await watch.subscribe(topics.deadletter_filter(SITE))
        collector = Collector(watch)
        # The API's session exists on the broker, then it stops: the burst waits there and
        # arrives at once when it comes back.
        with make_api(database, sites, mqtt_url=mosquitto.url, mqtt_client_id="api-burst") as api:
            await _subscribed(api, pub)
        for event in burst:
            await pub.publish(topics.alarm(SITE, event.alarm_id), event.to_bytes())
        with make_api(database, sites, mqtt_url=mosquitto.url, mqtt_client_id="api-burst") as api:
            await eventually(lambda: collector.on("deadletter"), within=60)
            await eventually(lambda: _stored_alarms(api) >= 151, within=60)  # and the probe
            with api.runtime.db.read() as session:
                stored = set(session.scalars(select(Alarm.alarm_id)))
                orders = session.scalar(select(func.count()).select_from(WorkOrder))
        collector.stop()
    assert {f"storm-{i}" for i in range(150)} <= stored
    assert "poison" not in stored
    assert orders == 150  # one per major alarm; none for the poison
    [letter] = [DeadLetter.model_validate_json(m.payload) for m in collector.on("deadletter")]
    assert letter.source_topic == topics.alarm(SITE, "poison")
    assert "the store cannot take this one" in letter.reason


async def test_a_roster_edited_here_reaches_a_rules_engine_started_later(
    mosquitto: Mosquitto, tmp_path: Path, sites: Sites
) -> None:
    """PUT /roster publishes the roster retained: an engine that connects afterwards counts
    the rostered guard's hourly report from the start of the running shift (T0 is 16:00 in
    Shanghai, the day shift began at 08:00, so guard-li, silent all along, is overdue)."""
    from rules.engine import RulesEngine

    roster = {"entries": [{"role": "guard", "person": "guard-li", "shift": "day"}]}
    with make_api(
        tmp_path / "roster.db", sites, mqtt_url=mosquitto.url, mqtt_client_id="api-roster"
    ) as api:
        assert api.put("/roster?site=" + SITE, roster, user="sam").status_code == 200
        await eventually(lambda: api.get("/health").json()["outbox_pending"] == 0)
    site = sites.config(SITE)
    assert site is not None
    assert not [e for e in site.roster if e.role == "guard"]  # the file rosters no guard
    settings = MqttSettings(mosquitto.url, client_id="test-roster-rules")
    try:
        async with RulesEngine(
            [site], mqtt=settings, state_path=tmp_path / "rules.db", clock=api.clock, tick_s=3600
        ) as engine:
            await eventually(lambda: engine.state.sites[SITE].roster)
            events = engine.tick()
            async with MqttClient(MqttSettings(mosquitto.url, client_id="test-roster-clear")) as c:
                await c.publish(topics.roster(SITE), b"", retain=True)  # leave the broker clean
            await eventually(lambda: engine.state.sites[SITE].roster is None)
    finally:
        async with MqttClient(MqttSettings(mosquitto.url, client_id="test-roster-clear")) as c:
            await c.publish(topics.roster(SITE), b"", retain=True)
    silent = [(e.rule, e.target, e.event.value) for e in events if e.rule.endswith("silent_guard")]
    assert silent == [("patrol.silent_guard", "guard-li", "raised")]
