"""The generated Mosquitto ACL, enforced by a real Mosquitto: each role can do its job and
nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from estatewatch.config import SiteConfig
from estatewatch.config.acl import render_acl
from estatewatch.contracts import topics
from estatewatch.mqtt import MqttClient, MqttCodeError, MqttSettings
from estatewatch.testing.services import Mosquitto, write_password_file

ROOT = Path(__file__).resolve().parents[2]
USERS = ["ingest", "rules", "api", "monitor", "gw-harbour-1", "gw-other-1", "hh-01"]


@pytest.fixture(scope="module")
def secured_broker(
    tmp_path_factory: pytest.TempPathFactory, example_site: SiteConfig
) -> Iterator[Mosquitto]:
    workdir = tmp_path_factory.mktemp("secured-mosquitto")
    other = example_site.model_copy(
        update={
            "site": example_site.site.model_copy(update={"id": "other-estate"}),
            "gateway": example_site.gateway.model_copy(update={"id": "gw-other-1"}),
            "handhelds": [],
        }
    )
    acl = workdir / "acl"
    acl.write_text(render_acl([example_site, other]))
    passwd = write_password_file(workdir / "passwd", {u: f"pw-{u}" for u in USERS})
    broker = Mosquitto(workdir, password_file=passwd, acl_file=acl)
    broker.start()
    yield broker
    broker.stop()


def _settings(broker: Mosquitto, user: str, password: str | None = None) -> MqttSettings:
    return MqttSettings(
        broker.url,
        client_id=f"acl-{user}",
        username=user,
        password=password if password is not None else f"pw-{user}",
        connect_timeout=5,
    )


async def _delivered(broker: Mosquitto, publisher: str, topic: str) -> bool:
    """Does a message `publisher` sends on `topic` reach a subscriber allowed to read all?"""
    async with MqttClient(_settings(broker, "monitor")) as watch:
        await watch.subscribe("#")
        async with MqttClient(_settings(broker, publisher)) as pub:
            try:
                await pub.publish(topic, b"{}")
            except MqttCodeError as exc:
                # Mosquitto refuses an MQTT 5 publish outright in its PUBACK.
                if "Not authorized" not in str(exc):
                    raise
                return False
        try:
            async with asyncio.timeout(0.5):
                async for message in watch.messages():
                    if message.topic == topic:
                        return True
        except TimeoutError:
            return False
    return False


SITE, GW = "harbour-view", "gw-harbour-1"


@pytest.mark.parametrize(
    ("user", "topic", "allowed"),
    [
        ("gw-harbour-1", topics.telemetry(SITE, GW), True),
        ("gw-harbour-1", topics.device_status(SITE, "elevator-3"), True),
        ("gw-harbour-1", topics.telemetry("other-estate", GW), False),
        ("gw-harbour-1", topics.telemetry(SITE, "gw-someone-else"), False),
        ("gw-harbour-1", topics.alarm(SITE, "forged"), False),
        ("gw-other-1", topics.telemetry(SITE, GW), False),
        ("hh-01", topics.handheld_scan(SITE, "hh-01"), True),
        ("hh-01", topics.handheld_scan(SITE, "hh-02"), False),
        ("hh-01", topics.patrol_scan(SITE, GW), False),
        ("rules", topics.alarm(SITE, "a1"), True),
        ("rules", topics.workorder(SITE, "wo1"), False),
        ("api", topics.alarm_command(SITE, "a1"), True),
        ("api", topics.alarm(SITE, "a1"), False),
        ("ingest", topics.telemetry(SITE, GW), False),
    ],
)
async def test_publish_rights(
    secured_broker: Mosquitto, user: str, topic: str, allowed: bool
) -> None:
    assert await _delivered(secured_broker, user, topic) is allowed


@pytest.mark.parametrize(
    ("user", "topic_filter", "publisher", "topic", "allowed"),
    [
        ("gw-harbour-1", topics.alarm_filter(SITE), "rules", topics.alarm(SITE, "a1"), False),
        ("gw-harbour-1", "#", "rules", topics.alarm(SITE, "a1"), False),
        (
            "gw-harbour-1",
            topics.handheld_filter(SITE),
            "hh-01",
            topics.handheld_scan(SITE, "hh-01"),
            True,
        ),
        (
            "ingest",
            topics.shared("ingest", topics.telemetry_filter()),
            "gw-harbour-1",
            topics.telemetry(SITE, GW),
            True,
        ),
        ("ingest", topics.alarm_filter(), "rules", topics.alarm(SITE, "a1"), False),
        ("api", topics.alarm_filter(), "rules", topics.alarm(SITE, "a1"), True),
        ("hh-01", topics.alarm_filter(SITE), "rules", topics.alarm(SITE, "a1"), False),
    ],
)
async def test_read_rights(
    secured_broker: Mosquitto,
    user: str,
    topic_filter: str,
    publisher: str,
    topic: str,
    allowed: bool,
) -> None:
    """Mosquitto grants any SUBSCRIBE and checks read rights on delivery."""
    async with MqttClient(_settings(secured_broker, user)) as reader:
        await reader.subscribe(topic_filter)
        async with MqttClient(_settings(secured_broker, publisher)) as pub:
            await pub.publish(topic, b"{}")
        received = False
        try:
            async with asyncio.timeout(0.5):
                async for message in reader.messages():
                    received = message.topic == topic
                    break
        except TimeoutError:
            pass
    assert received is allowed


async def test_wrong_password_and_anonymous_are_refused(secured_broker: Mosquitto) -> None:
    from estatewatch.mqtt import MqttConnectError

    with pytest.raises(MqttConnectError):
        async with MqttClient(_settings(secured_broker, "gw-harbour-1", "wrong")):
            pass
    anonymous = MqttSettings(secured_broker.url, client_id="acl-anon", connect_timeout=2)
    with pytest.raises(MqttConnectError):
        async with MqttClient(anonymous):
            pass


def test_committed_acl_is_generated_from_the_example(example_site: SiteConfig) -> None:
    assert (ROOT / "deploy" / "mosquitto" / "acl").read_text() == render_acl([example_site])


async def test_credentials_in_the_url(secured_broker: Mosquitto) -> None:
    url = f"mqtt://gw-harbour-1:pw-gw-harbour-1@127.0.0.1:{secured_broker.port}"
    async with MqttClient(MqttSettings(url, client_id="acl-url", connect_timeout=5)) as client:
        await client.publish(topics.telemetry(SITE, GW), b"{}")
