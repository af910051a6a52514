"""What a NATS server's MQTT listener loses when the node leading `EW_TELEMETRY` dies: the
measurement behind docs/scaling.md's table of server versions.

    python bench/mqtt_leader_kill.py [--runs 3]          # Debian's nats-server
    EW_NATS_SERVER=/path/to/nats-server python bench/mqtt_leader_kill.py

Per run: a fresh 3-node cluster; one MQTT 3.1.1 publisher (QoS 1, `ack_timeout` 10 s, as a
gateway) into the listener of a node that survives, 400 batches 10 ms apart; the stream's
leader SIGKILLed once 80 were acknowledged. Prints the server's version and, per run, the
batches acknowledged, the batches `EW_TELEMETRY` holds and `lost` (acknowledged, not held).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import tempfile
import time
from pathlib import Path

import nats
import orjson
from nats.errors import Error as NatsError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from estatewatch.contracts import streams, topics  # noqa: E402
from estatewatch.contracts.payloads import TelemetryBatch  # noqa: E402
from estatewatch.jetstream import JetStreamSettings, ensure_stream  # noqa: E402
from estatewatch.mqtt import MqttClient, MqttSettings  # noqa: E402
from estatewatch.testing.nats import NatsCluster, server_binary, server_version  # noqa: E402

MESSAGES, KILL_AFTER = 400, 80
SITE, GATEWAY = "harbour-view", "gw-harbour-1"


def batch(seq: int) -> bytes:
    ts = int(time.time() * 1000) - 3_600_000 + seq * 10
    readings = [
        {"device": f"pump-{i}", "kind": "water_pump_set", "building": "podium",
         "room": "pump-room", "ts": ts + i, "values": {"seq": float(seq)}}
        for i in range(10)
    ]  # fmt: skip
    return TelemetryBatch.model_validate(
        {"site": SITE, "gateway": GATEWAY, "seq": seq, "readings": readings}
    ).to_bytes()


async def stored_batches(cluster: NatsCluster, within: float = 30) -> set[int]:
    """The gateway `seq` of every batch the stream holds, once its count stops moving."""
    nc = await nats.connect(servers=cluster.urls, max_reconnect_attempts=-1)
    try:
        js = nc.jetstream()
        deadline, last = time.monotonic() + within, -1
        while True:
            try:
                state = (await js.stream_info(streams.TELEMETRY_STREAM)).state
            except NatsError:
                state = None
            if state is not None and state.last_seq == last:
                break
            last = state.last_seq if state is not None else -1
            if time.monotonic() > deadline:
                raise SystemExit("the stream never settled")
            await asyncio.sleep(1)
        seqs: set[int] = set()
        for n in range(1, last + 1):
            msg = await js.get_msg(streams.TELEMETRY_STREAM, n)
            seqs.add(int(orjson.loads(msg.data or b"{}")["seq"]))
        return seqs
    finally:
        await nc.close()


def _note(acked: set[int], seq: int, future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is None:
        acked.add(seq)


async def one_run(workdir: Path) -> tuple[int, int, int]:
    cluster = NatsCluster(workdir)
    cluster.start()
    try:
        nc = await nats.connect(servers=cluster.urls)
        await ensure_stream(nc.jetstream(), JetStreamSettings(servers=tuple(cluster.urls)))
        await nc.close()
        leader = cluster.stream_leader(streams.TELEMETRY_STREAM)
        assert leader is not None
        entry = (leader + 1) % len(cluster.nodes)
        settings = MqttSettings(cluster.mqtt_url(entry), client_id="gw-bench", ack_timeout=10)
        acked: set[int] = set()
        async with MqttClient(settings) as client:
            pending = []
            for seq in range(1, MESSAGES + 1):
                future = client.publish_nowait(topics.telemetry(SITE, GATEWAY), batch(seq))
                future.add_done_callback(functools.partial(_note, acked, seq))
                pending.append(future)
                if len(acked) >= KILL_AFTER and cluster.nodes[leader].running:
                    await asyncio.to_thread(cluster.kill, leader)
                await asyncio.sleep(0.01)
            await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 60)
        stored = await stored_batches(cluster)
        return len(acked), len(stored), len(acked - stored)
    finally:
        cluster.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    binary = server_binary()
    print(f"server: {binary} {'.'.join(map(str, server_version(binary)))}")
    for run in range(1, args.runs + 1):
        acked, stored, lost = await one_run(Path(tempfile.mkdtemp(prefix="ew-mqtt-kill-")))
        print(f"run {run}: acked: {acked} stored: {stored} lost: {lost}")


if __name__ == "__main__":
    asyncio.run(main())
