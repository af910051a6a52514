"""The engine on a real Mosquitto: alarms out, acknowledgements in, restart without
re-raising or losing, reload without losing state, bad input, two instances side by side."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from estatewatch.clock import FakeClock, to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.payloads import AlarmCommand
from estatewatch.errors import ConfigError
from estatewatch.mqtt import MqttSettings
from estatewatch.testing.services import Mosquitto
from rules.engine import RulesEngine
from tests.rules.mqtt_helpers import client_id, listening, other_site, publishing, wait_for

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "estate.yaml"
PUMP = "pump-domestic-low"
RULES = """\
builtin: false
device_rules:
  - id: t.tank_low
    kinds: [water_pump_set]
    category: tank_low
    severity: major
    title: "Tank low at {device}"
    when: {threshold: {point: tank_level, below: 20, deadband: 5}}
"""


@contextlib.asynccontextmanager
async def engine(
    broker: Mosquitto, sites: list[SiteConfig], tmp_path: Path, clock: FakeClock,
    rules: Path | None, name: str = "rules",
) -> AsyncIterator[RulesEngine]:  # fmt: skip
    settings = MqttSettings(url=broker.url, client_id=client_id(name))
    async with RulesEngine(
        sites, mqtt=settings, rules_path=rules, state_path=tmp_path / f"{name}.db", clock=clock
    ) as running:
        yield running


async def write(path: Path, text: str) -> None:
    await asyncio.to_thread(path.write_text, text)


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


async def test_alarm_out_ack_in_restart_and_clear(
    mosquitto: Mosquitto, example_site: SiteConfig, tmp_path: Path, rules_file: Path
) -> None:
    clock = FakeClock()
    now = to_epoch_ms(clock.now())
    async with listening(mosquitto.url) as heard, publishing(mosquitto.url, example_site) as gw:
        async with engine(mosquitto, [example_site], tmp_path, clock, rules_file):
            await gw.readings(now, {PUMP: {"tank_level": 10.0}})
            await wait_for(lambda: heard.rules("raised") == ["t.tank_low"])
            raised = heard.events[0]
            command = AlarmCommand(
                command_id="c-1", alarm_id=raised.alarm_id, site="harbour-view",
                action="acknowledge", by="duty-li", at=now,
            )  # fmt: skip
            await gw.send(topics.alarm_command("harbour-view", raised.alarm_id), command)
            await wait_for(lambda: len(heard.events) == 2)
            assert heard.events[1].acknowledged_by == "duty-li"
        # a restart: still low, nothing new; then the level recovers
        async with engine(mosquitto, [example_site], tmp_path, clock, rules_file):
            await gw.readings(now + 1000, {PUMP: {"tank_level": 12.0}})
            await gw.readings(now + 2000, {PUMP: {"tank_level": 60.0}})
            await wait_for(lambda: len(heard.events) == 4)
    assert [(e.event.value, e.revision) for e in heard.events] == [
        ("raised", 1), ("acknowledged", 2), ("cleared", 3), ("closed", 4),
    ]  # fmt: skip
    assert {e.alarm_id for e in heard.events} == {raised.alarm_id}


async def test_a_critical_alarm_leaves_in_the_life_safety_lane(
    mosquitto: Mosquitto, example_site: SiteConfig, tmp_path: Path, rules_file: Path
) -> None:
    # The API's consumer takes a critical alarm ahead of a storm of lesser ones
    # (estatewatch/mqtt.py); a major one waits its turn.
    await write(
        rules_file,
        RULES
        + RULES.replace("builtin: false\ndevice_rules:\n", "")
        .replace("t.tank_low", "t.tank_empty")
        .replace("major", "critical")
        .replace("below: 20", "below: 5"),
    )
    clock = FakeClock()
    now = to_epoch_ms(clock.now())
    async with (
        listening(mosquitto.url) as heard,
        publishing(mosquitto.url, example_site) as gw,
        engine(mosquitto, [example_site], tmp_path, clock, rules_file),
    ):
        await gw.readings(now, {PUMP: {"tank_level": 2.0}})
        await wait_for(lambda: len(heard.rules("raised")) == 2)
    lane = dict(zip(heard.rules(), heard.urgent, strict=True))
    assert lane == {"t.tank_low": False, "t.tank_empty": True}


async def test_bad_payload_goes_to_dead_letters(
    mosquitto: Mosquitto, example_site: SiteConfig, tmp_path: Path, rules_file: Path
) -> None:
    clock = FakeClock()
    async with (
        listening(mosquitto.url) as heard,
        publishing(mosquitto.url, example_site) as gw,
        engine(mosquitto, [example_site], tmp_path, clock, rules_file) as running,
    ):
        await gw.send(topics.telemetry("harbour-view", "gw-harbour-1"), b'{"site": 1}')
        await wait_for(lambda: len(heard.dead) == 1)
        await gw.readings(to_epoch_ms(clock.now()), {PUMP: {"tank_level": 10.0}})
        await wait_for(lambda: heard.rules("raised") == ["t.tank_low"])
    assert heard.dead[0].component == "rules"
    assert "site: Input should be a valid string" in heard.dead[0].reason
    assert running.stats.dead_letters == 1


async def test_reload_keeps_state_and_refuses_a_bad_file(
    mosquitto: Mosquitto, example_site: SiteConfig, tmp_path: Path, rules_file: Path
) -> None:
    clock = FakeClock()
    now = to_epoch_ms(clock.now())
    async with (
        listening(mosquitto.url) as heard,
        publishing(mosquitto.url, example_site) as gw,
        engine(mosquitto, [example_site], tmp_path, clock, rules_file) as running,
    ):
        await gw.readings(now, {PUMP: {"tank_level": 10.0}})
        await wait_for(lambda: len(heard.events) == 1)
        # a broken file: refused with file, line and field; the old rules keep running
        await write(rules_file, RULES.replace("below: 20", "below: twenty"))
        error = await running.reload()
        assert isinstance(error, ConfigError)
        assert f"{rules_file}:8:" in str(error)
        assert "when.threshold.below" in str(error)
        # a good change: a new rule, and the open alarm is neither lost nor re-raised
        second = RULES.replace("t.tank_low", "t.second").split("device_rules:\n", 1)[1]
        await write(rules_file, RULES + second)
        assert await running.reload() is None
        await gw.readings(now + 1000, {PUMP: {"tank_level": 11.0}})
        await wait_for(lambda: len(heard.events) == 2)
        await gw.readings(now + 2000, {PUMP: {"tank_level": 60.0}})
        await wait_for(lambda: len(heard.events) == 4)
    assert [(e.rule, e.event.value) for e in heard.events] == [
        ("t.tank_low", "raised"), ("t.second", "raised"),
        ("t.tank_low", "cleared"), ("t.second", "cleared"),
    ]  # fmt: skip


async def test_reload_by_watching_the_file(
    mosquitto: Mosquitto, example_site: SiteConfig, tmp_path: Path, rules_file: Path
) -> None:
    import os

    clock = FakeClock()
    async with engine(mosquitto, [example_site], tmp_path, clock, rules_file) as running:
        await write(rules_file, RULES.replace("below: 20", "below: 25"))
        await asyncio.to_thread(
            os.utime, rules_file, (1, 1)
        )  # a different mtime, whatever the file system's resolution
        for _ in range(5):
            await clock.advance(1)
        await wait_for(lambda: running.stats.reloads == 1)
        rule = running.state.sites["harbour-view"].plan.devices[PUMP].rules[0]
        assert rule.threshold == 25


async def test_two_instances_with_disjoint_sites(
    mosquitto: Mosquitto, example_site: SiteConfig, tmp_path: Path, rules_file: Path
) -> None:
    clock = FakeClock()
    now = to_epoch_ms(clock.now())
    second = other_site("seaside")
    async with (
        listening(mosquitto.url) as heard,
        publishing(mosquitto.url, example_site) as gw1,
        publishing(mosquitto.url, second) as gw2,
        engine(mosquitto, [example_site], tmp_path, clock, rules_file, "rules-a") as a,
        engine(mosquitto, [second], tmp_path, clock, rules_file, "rules-b") as b,
    ):
        await gw1.readings(now, {PUMP: {"tank_level": 10.0}})
        await gw2.readings(now, {PUMP: {"tank_level": 10.0}, "pump-fire": {"tank_level": 5.0}})
        await wait_for(lambda: len(heard.events) == 2)
        await gw1.readings(now + 1, {PUMP: {"tank_level": 10.0}})
        await wait_for(lambda: a.stats.messages == 2)
    assert sorted((e.site, e.target) for e in heard.events) == [
        ("harbour-view", PUMP), ("seaside", PUMP),
    ]  # fmt: skip
    assert a.stats.messages == 2
    assert b.stats.messages == 1


async def test_the_command_runs_the_engine_and_refuses_a_bad_rule_file(
    mosquitto: Mosquitto, example_site: SiteConfig, tmp_path: Path, rules_file: Path
) -> None:
    import signal
    import sys

    example = EXAMPLE
    root = str(EXAMPLE.parents[1])
    argv = [sys.executable, "-m", "estatewatch", "rules", "--config", str(example),
            "--mqtt", mosquitto.url, "--state", str(tmp_path / "cli.db")]  # fmt: skip
    bad = tmp_path / "bad.yaml"
    await write(bad, RULES.replace("severity: major", "severity: huge"))
    refused = await asyncio.create_subprocess_exec(
        *argv, "--rules", str(bad), cwd=root, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(refused.communicate(), 30)
    assert refused.returncode == 1
    assert f"{bad}:6:" in err.decode()
    assert "device_rules.0.severity" in err.decode()

    async with listening(mosquitto.url) as heard, publishing(mosquitto.url, example_site) as gw:
        running = await asyncio.create_subprocess_exec(*argv, "--rules", str(rules_file), cwd=root)
        try:
            for _ in range(100):  # until it has subscribed
                await gw.readings(to_epoch_ms(FakeClock().now()), {PUMP: {"tank_level": 10.0}})
                with contextlib.suppress(AssertionError):
                    await wait_for(lambda: heard.rules("raised") == ["t.tank_low"], 0.2)
                    break
            assert heard.rules("raised") == ["t.tank_low"]
        finally:
            running.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(running.wait(), 30) == 0
