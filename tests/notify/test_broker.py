"""Through the broker: an alarm published on Mosquitto reaches the duty engineer's robot via
the running API (its MQTT consumer, the feed, the notifier in the background), and the
NotificationEvent of the delivery comes back on the broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from estatewatch.config import SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.codec import decode
from estatewatch.contracts.payloads import NotificationEvent
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import Mosquitto
from tests.api.helpers import SITE, alarm_event, make_api
from tests.notify.conftest import ENV
from tests.notify.helpers import notify_config, site_with
from tests.notify.receivers import VendorReceiver

pytestmark = pytest.mark.integration


async def test_an_alarm_on_the_broker_rings_the_duty_engineer(
    mosquitto: Mosquitto,
    tmp_path: Path,
    example_site: SiteConfig,
    receiver: VendorReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in ENV.items():  # the channels' secrets, as a site passes them
        monkeypatch.setenv(name, value)
    config = notify_config(receiver.base, grouping={"window": "0s"})
    sites = site_with(example_site, config, emergency_plans=[])
    event = alarm_event("broker-1", severity="critical", category="door_fault")
    async with (
        MqttClient(MqttSettings(mosquitto.url, client_id="test-notify-watch")) as watch,
        MqttClient(MqttSettings(mosquitto.url, client_id="test-notify-pub")) as pub,
    ):
        await watch.subscribe(f"{topics.ROOT}/{SITE}/notification/+")
        with make_api(
            tmp_path / "api.db",
            sites,
            mqtt_url=mosquitto.url,
            mqtt_client_id="api-notify-1",
            notify=True,
            notify_poll_interval="1s",
        ) as api:
            assert api.runtime.notifier is not None
            for _ in range(100):  # until the API's subscription is in place
                await pub.publish(topics.alarm(SITE, event.alarm_id), event.to_bytes())
                if await asyncio.to_thread(receiver.wait_for, 1, 0.2):
                    break
            (got,) = receiver.of("dingtalk")
            assert "broker-1" in got.json()["markdown"]["text"]
            async with asyncio.timeout(20):
                async for message in watch.messages():
                    sent = decode(NotificationEvent, message.topic, message.payload)
                    break
    assert (sent.event, sent.recipient, sent.subject_id) == ("sent", "wang-duty", "broker-1")
