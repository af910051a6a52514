"""Guard rounds: the pure planner's variants, signatures, and delivery over MQTT and HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
from datetime import timedelta

import pytest

from estatewatch.clock import FakeClock, to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts import topics
from estatewatch.contracts.codec import decode
from estatewatch.contracts.payloads import HandheldScan
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import Mosquitto
from simulators.errors import SimulatorError
from simulators.guard import plan_round, verify
from simulators.patrol import HttpScans, MqttScans, deliver
from tests.dates import local, utc
from tests.simulators.receiver import http_receiver

START = utc(0, 1)  # 09:00 in Shanghai: a towers-round window
ROUTE = "towers-round"
KEY = b"hh-01 secret"


def tags_of(site: SiteConfig, checkpoints: list[str]) -> list[str]:
    by_id = {cp.id: cp.tag_uid for cp in site.checkpoints}
    return [by_id[c] for c in checkpoints]


def route(site: SiteConfig) -> list[str]:
    return next(r for r in site.routes if r.id == ROUTE).checkpoints


def plan(site: SiteConfig, **kwargs: object) -> list[HandheldScan]:
    return plan_round(site, ROUTE, "guard-zhang", "hh-01", START, seed=5, **kwargs)  # type: ignore[arg-type]


def test_a_plain_round_walks_the_route_in_order_within_its_window(
    example_site: SiteConfig,
) -> None:
    scans = plan(example_site, counter_start=40)
    assert [s.tag_uid for s in scans] == tags_of(example_site, route(example_site))
    times = [s.scanned_at for s in scans]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 30_000  # 1.5 × the route's 20 s min_transit
    assert times[0] > to_epoch_ms(START)
    assert times[-1] < to_epoch_ms(START + timedelta(minutes=90))
    assert [s.counter for s in scans] == list(range(40, 40 + len(scans)))
    assert {(s.handheld, s.guard, s.offline, s.signature) for s in scans} == {
        ("hh-01", "guard-zhang", False, None)
    }
    assert plan(example_site, counter_start=40) == scans  # pure and seeded
    assert [
        s.scanned_at for s in plan_round(example_site, ROUTE, "guard-zhang", "hh-01", START, seed=6)
    ] != times


def test_skipped_and_late_checkpoints(example_site: SiteConfig) -> None:
    scans = plan(example_site, skip=["t2-roof"], late=["t1-fire-stair", "t3-lobby"])
    tags = [s.tag_uid for s in scans]
    skipped, stair, lobby = tags_of(example_site, ["t2-roof", "t1-fire-stair", "t3-lobby"])
    assert skipped not in tags
    assert tags[-2:] == [stair, lobby]  # scanned after everything else
    window_end = to_epoch_ms(START + timedelta(minutes=90))
    assert all(s.scanned_at > window_end for s in scans[-2:])
    assert all(s.scanned_at < window_end for s in scans[:-2])
    assert [s.counter for s in scans] == list(range(len(scans)))


def test_out_of_order_swaps_two_neighbours(example_site: SiteConfig) -> None:
    expected = tags_of(example_site, route(example_site))
    tags = [s.tag_uid for s in plan(example_site, out_of_order=True)]
    differ = [i for i, (a, b) in enumerate(zip(tags, expected, strict=True)) if a != b]
    assert len(differ) == 2
    assert differ[1] == differ[0] + 1
    assert sorted(tags) == sorted(expected)


def test_replay_sends_an_earlier_scan_again(example_site: SiteConfig) -> None:
    scans = plan(example_site, replay=True, key=KEY)
    replayed = scans[-1]
    original = next(s for s in scans[:-1] if s.scan_id == replayed.scan_id)
    assert replayed == original  # byte for byte: same time, counter and signature
    assert replayed.counter is not None
    assert replayed.counter < scans[-2].counter  # type: ignore[operator]


def test_unknown_tag_and_offline_round(example_site: SiteConfig) -> None:
    known = {cp.tag_uid for cp in example_site.checkpoints}
    scans = plan(example_site, unknown_tag=True, offline=True)
    strangers = [s for s in scans if s.tag_uid not in known]
    assert len(strangers) == 1
    assert scans.index(strangers[0]) > 0
    assert len(scans) == len(route(example_site)) + 1
    assert all(s.offline for s in scans)


def test_signatures_verify_and_catch_tampering(example_site: SiteConfig) -> None:
    scans = plan(example_site, key=KEY)
    for scan in scans:
        text = f"hh-01|guard-zhang|{scan.tag_uid}|{scan.scanned_at}|{scan.counter}".encode()
        assert scan.signature == hmac.new(KEY, text, hashlib.sha256).hexdigest()
        assert verify(scan, KEY)
    assert not verify(scans[0], b"another key")
    forged = scans[0].model_copy(update={"scanned_at": scans[0].scanned_at + 1000})
    assert not verify(forged, KEY)


def test_bad_requests_are_refused(example_site: SiteConfig) -> None:
    with pytest.raises(SimulatorError, match="no route 'moon-round'"):
        plan_round(example_site, "moon-round", "guard-zhang", "hh-01", START, seed=1)
    with pytest.raises(SimulatorError, match="not on route"):
        plan(example_site, skip=["pump-room"])
    with pytest.raises(SimulatorError, match="timezone-aware"):
        plan_round(example_site, ROUTE, "guard-zhang", "hh-01", local(0, tz=None), seed=1)


async def test_scans_over_mqtt_reach_the_handheld_topic(
    example_site: SiteConfig, mosquitto: Mosquitto
) -> None:
    site_id = example_site.site.id
    scans = plan(example_site, key=KEY, skip=route(example_site)[3:])
    async with (
        MqttClient(MqttSettings(mosquitto.url, client_id="sim-test-scans-sub")) as sub,
        MqttClient(MqttSettings(mosquitto.url, client_id="sim-test-scans-pub")) as pub,
    ):
        await sub.subscribe(topics.handheld_filter(site_id))
        await deliver(scans, MqttScans(pub, site_id))
        received = []
        async with asyncio.timeout(10):
            async for message in sub.messages():
                assert message.topic == topics.handheld_scan(site_id, "hh-01")
                received.append(decode(HandheldScan, message.topic, message.payload))
                if len(received) == len(scans):
                    break
    assert received == scans


async def test_http_sync_sends_offline_scans_later_with_their_own_times(
    example_site: SiteConfig,
) -> None:
    online = plan(example_site)[:3]
    kept = plan(example_site, offline=True)[3:6]  # a basement stretch without signal
    clock = FakeClock(START)
    async with http_receiver() as (url, posts), HttpScans(url) as transport:
        task = asyncio.create_task(deliver(online + kept, transport, clock=clock, sync_delay=60))
        await clock.advance((online[-1].scanned_at - to_epoch_ms(START)) / 1000 + 1)
        bodies = [await asyncio.wait_for(posts.get(), 5) for _ in range(3)]
        assert [len(b) for b in bodies] == [1, 1, 1]  # each online scan as it is made
        await clock.advance((kept[-1].scanned_at - online[-1].scanned_at) / 1000 + 30)
        await asyncio.sleep(0.2)  # a chance to send what it must not send yet
        assert posts.empty()  # still holding the offline ones
        await clock.advance(60)
        await asyncio.wait_for(task, 5)
        synced = [HandheldScan.model_validate(s) for s in await posts.get()]
    assert synced == kept
    assert all(s.offline for s in synced)
    assert [HandheldScan.model_validate(b[0]) for b in bodies] == online
