"""Gateway benchmark: request coalescing, devices kept on schedule on one core, RSS.

    python bench/gateway.py [--seconds-per-step 5] [--ports 50]

A plain pymodbus server runs in a separate process with many unit ids on several ports (40
holding registers per unit). In this process (one event loop, one core) we measure:
1. requests per poll with coalescing vs one request per point (example maps + a 40-point map);
2. the bare client ceiling: a plain pymodbus read loop over the same connections;
3. the gateway's poll loop (hubs, pollers, decoding, batching into the SQLite outbox) with a
   rising number of devices at 1 s intervals, until p99 lateness exceeds 10 % of the
   interval or ticks are missed. Figures are indicative: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from estatewatch.clock import SystemClock
from estatewatch.config import RegisterMap, RegisterPoint, load_site
from estatewatch.testing.services import free_port
from gateway.batcher import Batcher
from gateway.hub import Hub
from gateway.outbox import Outbox
from gateway.plan import plan_reads
from gateway.poller import DevicePoller
from gateway.stats import PollStats, percentile

ROOT = Path(__file__).resolve().parent.parent
REGISTERS = 40


def bench_map() -> RegisterMap:
    """40 registers: 10 float32, 20 uint16 with scale, 16 bools in 1 register... contiguous."""
    points = [
        RegisterPoint(name=f"f{i}", table="holding", address=2 * i, type="float32")  # type: ignore[arg-type]
        for i in range(10)
    ]
    points += [
        RegisterPoint(name=f"u{i}", table="holding", address=20 + i, type="uint16", scale=0.1)  # type: ignore[arg-type]
        for i in range(19)
    ]
    points += [
        RegisterPoint(name=f"b{i}", table="holding", address=39, type="bool", bit=i)  # type: ignore[arg-type]
        for i in range(11)
    ]
    return RegisterMap(points=points)


# --- the server process ------------------------------------------------------------------


def serve(ports: list[int], units: int) -> None:  # pragma: no cover
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

    async def main() -> None:
        values = [0x3F80, 0x0000] * 10 + list(range(20))
        for port in ports:
            devices = [
                SimDevice(
                    id=unit,
                    simdata=(
                        [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
                        [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
                        [SimData(0, values=values, datatype=DataType.REGISTERS)],
                        [SimData(0, values=values, datatype=DataType.REGISTERS)],
                    ),
                )
                for unit in range(1, units + 1)
            ]
            server = ModbusTcpServer(devices, address=("127.0.0.1", port))
            await server.serve_forever(background=True)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# --- measurements ------------------------------------------------------------------------


def coalescing_figures() -> dict[str, tuple[int, int]]:
    site = load_site(ROOT / "examples" / "estate.yaml")
    maps = dict(site.register_maps)
    maps["bench-40-registers"] = bench_map()
    return {
        name: (len(plan_reads(m.points, site.gateway.max_gap_registers)), len(m.points))
        for name, m in maps.items()
    }


async def bare_client(ports: list[int], seconds: float) -> float:
    """Requests per second of a plain pymodbus loop: one reader per connection."""
    from pymodbus.client import AsyncModbusTcpClient

    clients = [AsyncModbusTcpClient("127.0.0.1", port=p, timeout=2, retries=0) for p in ports]
    for client in clients:
        assert await client.connect()
    count = 0
    stop_at = time.monotonic() + seconds

    async def loop(client: AsyncModbusTcpClient) -> None:
        nonlocal count
        unit = 1
        while time.monotonic() < stop_at:
            rr = await client.read_holding_registers(0, count=REGISTERS, device_id=unit)
            assert not rr.isError()
            count += 1
            unit = unit % 10 + 1

    started = time.monotonic()
    await asyncio.gather(*(loop(c) for c in clients))
    elapsed = time.monotonic() - started
    for client in clients:
        client.close()
    return count / elapsed


async def gateway_step(
    ports: list[int], devices: int, seconds: float, tmp: Path
) -> dict[str, float]:
    """Poll `devices` devices at 1 Hz through the gateway's own machinery for `seconds`."""
    from estatewatch.config import ModbusTcp
    from estatewatch.config.site import PowerRoom

    clock = SystemClock()
    register_map = bench_map()
    stats = PollStats()
    async with Outbox(tmp / f"bench-{devices}.db", clock=clock) as outbox:
        batcher = Batcher(outbox, site="bench", gateway="gw-bench", clock=clock)
        hubs: dict[int, Hub] = {}
        pollers = []
        for i in range(devices):
            port = ports[i % len(ports)]
            unit = i // len(ports) + 1
            conn = ModbusTcp(protocol="modbus_tcp", host="127.0.0.1", port=port, unit_id=unit)
            hub = hubs.setdefault(port, Hub(conn, clock=clock, timeout=2.0))
            device = PowerRoom(
                id=f"d{i}", name=f"d{i}", kind="power_room", building="b", room="r",  # type: ignore[arg-type]
                connection=conn, register_map="bench", poll_interval=timedelta(seconds=1),
            )  # fmt: skip
            pollers.append(
                DevicePoller(
                    device,
                    register_map,
                    hub,
                    clock=clock,
                    max_gap=8,
                    stats=stats,
                    on_reading=batcher.add_reading,
                    on_status=lambda p: None,
                )
            )
        tasks = [asyncio.create_task(p.run()) for p in pollers]
        tasks.append(asyncio.create_task(batcher.run()))
        await asyncio.sleep(1.5)  # connect and settle
        stats.lateness.clear()
        stats.missed = 0
        polls_before, cpu_before = stats.polls, time.process_time()
        started = time.monotonic()
        lateness: list[float] = []
        while time.monotonic() - started < seconds:
            await asyncio.sleep(0.25)
            lateness.extend(stats.lateness)
            stats.lateness.clear()
        elapsed = time.monotonic() - started
        polls = stats.polls - polls_before
        cpu = time.process_time() - cpu_before
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await batcher.flush()
        for hub in hubs.values():
            hub.close()
    return {
        "devices": devices,
        "polls_per_s": polls / elapsed,
        "lateness_p99_ms": percentile(lateness, 99) * 1000,
        "missed": stats.missed,
        "cpu_share": cpu / elapsed,
    }


async def main(args: argparse.Namespace) -> None:
    chosen: set[int] = set()
    while len(chosen) < args.ports:
        chosen.add(free_port())
    ports = sorted(chosen)
    server = subprocess.Popen(  # noqa: ASYNC220  (started once, before the loop does work)
        [sys.executable, __file__, "--serve", str(args.units), *map(str, ports)],
        stdout=subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        if await asyncio.to_thread(server.stdout.readline) != b"ready\n":
            raise SystemExit("the bench server did not start")
        figures = coalescing_figures()
        for name, (coalesced, per_point) in figures.items():
            print(f"# {name}: {coalesced} requests per poll coalesced vs {per_point} one per point")
        bare = await bare_client(ports, args.bare_seconds)
        print(f"# bare pymodbus client, {len(ports)} connections: {bare:.0f} req/s")
        best = 0
        with tempfile.TemporaryDirectory() as tmp:
            for devices in args.steps:
                if devices > len(ports) * args.units:
                    break
                try:
                    step = await asyncio.wait_for(
                        gateway_step(ports, devices, args.seconds_per_step, Path(tmp)),
                        args.seconds_per_step + 15,
                    )
                except TimeoutError:
                    print(f"# {devices} devices: the step did not finish in time -> BEHIND")
                    break
                on_schedule = step["lateness_p99_ms"] < 100 and step["missed"] == 0
                print(
                    f"# {devices} devices: {step['polls_per_s']:.0f} polls/s, p99 lateness"
                    f" {step['lateness_p99_ms']:.1f} ms, missed {step['missed']:.0f},"
                    f" gateway CPU {step['cpu_share'] * 100:.0f} %"
                    f" -> {'on schedule' if on_schedule else 'BEHIND'}"
                )
                if not on_schedule:
                    break
                best = devices
        example = figures["bench-40-registers"]
        print(f"requests_per_poll_coalesced: {example[0]}")
        print(f"requests_per_poll_per_point: {example[1]}")
        print(f"bare_client_req_per_s: {bare:.0f}")
        print(f"devices_on_schedule: {best}")
        print(f"ratio_to_bare_client: {best / bare:.2f}")
        print(f"rss_mb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve([int(p) for p in sys.argv[3:]], int(sys.argv[2]))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=100, help="server ports = gateway connections")
    parser.add_argument("--units", type=int, default=40, help="unit ids per port")
    parser.add_argument("--bare-seconds", type=float, default=4.0)
    parser.add_argument("--seconds-per-step", type=float, default=5.0)
    parser.add_argument(
        "--steps", type=int, nargs="+", default=[250, 500, 1000, 1500, 2000, 3000, 4000]
    )
    asyncio.run(main(parser.parse_args()))
