"""Store-and-forward against a real Mosquitto: acknowledged before deleted, a bounded window,
the backlog drained in order beside live data, nothing lost when the broker goes away."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from estatewatch.clock import SystemClock
from estatewatch.mqtt import MqttClient, MqttSettings
from estatewatch.testing.services import Mosquitto
from gateway.forwarder import Forwarder
from gateway.store import PRIORITY, TELEMETRY, NewRow, Store
from tests.gateway.helpers import Listener

TOPIC = "ew/v1/s/telemetry/g"
_ids = itertools.count()


def rows(first: int, n: int, lane: int = TELEMETRY) -> list[NewRow]:
    stream = "telemetry" if lane == TELEMETRY else "device_status"
    return [
        NewRow(lane, stream, seq, TOPIC, False, orjson.dumps({"seq": seq}))
        for seq in range(first, first + n)
    ]


class Raw(Listener):
    """Payloads of TOPIC in arrival order."""

    def __init__(self) -> None:
        super().__init__()
        self.seqs_in_order: list[int] = []


@contextlib.asynccontextmanager
async def raw_listener(url: str, topic: str = "ew/v1/s/#") -> AsyncIterator[Raw]:
    raw = Raw()
    settings = MqttSettings(
        url=url, client_id=f"fw-listener-{next(_ids)}", clean_start=False, session_expiry=600,
        reconnect_max_delay=1,
    )  # fmt: skip
    async with MqttClient(settings) as client:
        await client.subscribe(topic)

        async def collect() -> None:
            async for message in client.messages():
                raw.seqs_in_order.append(orjson.loads(message.payload)["seq"])

        task = asyncio.create_task(collect())
        try:
            yield raw
        finally:
            task.cancel()


@contextlib.asynccontextmanager
async def forwarding(
    store: Store, url: str, **kw: float
) -> AsyncIterator[tuple[Forwarder, MqttClient]]:
    settings = MqttSettings(
        url=url, client_id=f"fw-gateway-{next(_ids)}", connect_timeout=None, reconnect_max_delay=1
    )
    holder: list[Forwarder] = []
    client = MqttClient(settings, on_connect=lambda c, s: holder[0].link_up() if holder else None)
    forwarder = Forwarder(store, client, SystemClock(), **kw)  # type: ignore[arg-type]
    holder.append(forwarder)
    async with client:
        task = asyncio.create_task(forwarder.run())
        try:
            yield forwarder, client
        finally:
            await forwarder.drain(grace=2)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def until(check: object, within: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.integration
async def test_published_in_order_and_deleted_once_acknowledged(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    async with (
        raw_listener(mosquitto.url) as raw,
        Store(tmp_path / "q.db") as store,
    ):
        await store.append(rows(0, 500), now_ms=1)
        peak = 0
        async with forwarding(store, mosquitto.url, window=20) as (forwarder, _):
            while store.stats.depth:
                peak = max(peak, len(forwarder.inflight))
                await asyncio.sleep(0.001)
            await until(lambda: len(raw.seqs_in_order) == 500)
        assert raw.seqs_in_order == list(range(500))
        assert 0 < peak <= 20  # the window holds
        assert store.stats.published_total == 500


@pytest.mark.integration
async def test_nothing_is_lost_while_the_broker_is_away(
    tmp_path: Path, own_mosquitto: Mosquitto
) -> None:
    async with (
        raw_listener(own_mosquitto.url) as raw,
        Store(tmp_path / "q.db") as store,
        forwarding(store, own_mosquitto.url, window=10) as (forwarder, client),
    ):
        await store.append(rows(0, 50), now_ms=1)
        forwarder.wake()
        await until(lambda: len(raw.seqs_in_order) == 50)
        own_mosquitto.stop()
        await until(lambda: not client.connected.is_set())
        for first in range(50, 250, 10):  # the gateway keeps committing while cut off
            await store.append(rows(first, 10), now_ms=1)
            forwarder.wake()
            await asyncio.sleep(0.01)
        assert store.stats.depth >= 190  # held in the queue, at most the window in flight
        own_mosquitto.start()
        await until(lambda: store.stats.depth == 0, within=20)
        await until(lambda: set(raw.seqs_in_order) >= set(range(250)), within=10)
    assert sorted(set(raw.seqs_in_order)) == list(range(250))


@pytest.mark.integration
async def test_live_data_overtakes_a_throttled_backlog(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    async with (
        raw_listener(mosquitto.url) as raw,
        Store(tmp_path / "q.db") as store,
    ):
        await store.append(rows(0, 300), now_ms=1)  # a backlog from before a restart
        async with forwarding(store, mosquitto.url, window=20, drain_rate=100) as (fw, _):
            await until(lambda: len(raw.seqs_in_order) >= 20)
            await store.append(rows(300, 5), now_ms=2)  # live data
            await store.append(rows(999, 1, lane=PRIORITY), now_ms=2)  # a status
            fw.wake()
            await until(lambda: 300 in raw.seqs_in_order)
            position = raw.seqs_in_order.index(300)
            assert position < 150, "live data waited behind the backlog"
            await until(lambda: store.stats.depth == 0, within=20)
        assert raw.seqs_in_order.index(999) < 150  # statuses are never throttled
        backlog = [s for s in raw.seqs_in_order if s < 300]
        assert backlog == sorted(backlog)  # the backlog itself drains in order
        assert set(raw.seqs_in_order) == {*range(305), 999}


@pytest.mark.integration
async def test_a_superseded_retained_message_is_not_retained(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    status_topic = "ew/v1/s/status/pump"
    async with Store(tmp_path / "q.db") as store:
        await store.append(
            [NewRow(PRIORITY, "device_status", s, status_topic, True, orjson.dumps({"seq": s}))
             for s in range(3)],
            now_ms=1,
        )  # fmt: skip
        async with forwarding(store, mosquitto.url) as _:
            await until(lambda: store.stats.depth == 0)
    async with raw_listener(mosquitto.url, status_topic) as raw:
        await until(lambda: raw.seqs_in_order)
        await asyncio.sleep(0.2)
        assert raw.seqs_in_order == [2]  # the broker retains the newest, not the last sent


async def test_a_life_safety_batch_leaves_in_the_life_safety_lane(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    # Telemetry in the priority lane is a fire panel's or a smoke sensor's
    # (gateway/pipeline.py): it carries the lane's mark to the next hop; a device status in
    # the same lane, and ordinary telemetry, do not.
    seen: list[tuple[str, bool]] = []
    settings = MqttSettings(url=mosquitto.url, client_id=f"fw-lane-{next(_ids)}")
    async with MqttClient(settings) as client, Store(tmp_path / "q.db") as store:
        await client.subscribe("ew/v1/s/#")

        async def collect() -> None:
            async for message in client.messages():
                if not message.retain:  # not a retained one other tests of the module left
                    seen.append((message.topic.split("/")[3], message.urgent))

        task = asyncio.create_task(collect())
        status = NewRow(PRIORITY, "device_status", 0, "ew/v1/s/status/d1", True, b"{}")
        await store.append([*rows(0, 1, PRIORITY), status, *rows(0, 1)], now_ms=1)
        async with forwarding(store, mosquitto.url):
            await until(lambda: len(seen) == 3)
        task.cancel()
    assert sorted(seen) == [("status", False), ("telemetry", False), ("telemetry", True)]
