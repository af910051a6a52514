"""The SQLite store-and-forward queue: seqs, durability across reopen, bounds, counters."""

from __future__ import annotations

import contextlib
from pathlib import Path

from estatewatch.clock import FakeClock
from gateway.outbox import Outbox, Outgoing


def item(model: str = "telemetry", size: int = 10) -> Outgoing:
    return Outgoing(model, f"t/{model}", lambda seq: f"{seq:0{size}d}".encode())


async def test_seqs_count_per_model_and_survive_reopen(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    path = tmp_path / "q.db"
    async with Outbox(path, clock=fake_clock) as box:
        assert await box.enqueue([item(), item(), item("device_status")]) == [0, 1, 0]
        rows = await box.peek(0, 10)
        assert [r.payload for r in rows] == [b"0000000000", b"0000000001", b"0000000000"]
        await box.delete([rows[0].id, rows[1].id])
    async with Outbox(path, clock=fake_clock) as box:
        assert box.depth == 1
        assert await box.enqueue([item(), item("device_status")]) == [2, 1]
        assert await box.counter("published_total") == 2
        rows = await box.peek(0, 10)
        assert [r.topic for r in rows] == ["t/device_status", "t/telemetry", "t/device_status"]
        assert len(await box.peek(rows[0].id, 10, until=rows[1].id)) == 1


async def test_size_bound_drops_oldest_and_counts(tmp_path: Path, fake_clock: FakeClock) -> None:
    async with Outbox(tmp_path / "q.db", clock=fake_clock, max_bytes=100) as box:
        await box.enqueue([item() for _ in range(25)])
        assert box.bytes <= 100
        assert box.depth == 10
        rows = await box.peek(0, 100)
        assert rows[0].payload == b"0000000015"  # the newest kept
        assert await box.counter("dropped_total") == 15


async def test_age_bound(tmp_path: Path, fake_clock: FakeClock) -> None:
    async with Outbox(tmp_path / "q.db", clock=fake_clock, max_age_s=60) as box:
        await box.enqueue([item(), item()])
        await fake_clock.advance(30)
        await box.enqueue([item()])
        await fake_clock.advance(31)
        assert await box.trim_expired() == 2
        assert box.depth == 1
        assert await box.counter("dropped_total") == 2
        assert await box.oldest_ms() is not None


async def test_a_failing_build_rolls_back(tmp_path: Path, fake_clock: FakeClock) -> None:
    def boom(seq: int) -> bytes:
        raise RuntimeError("no")

    async with Outbox(tmp_path / "q.db", clock=fake_clock) as box:
        with contextlib.suppress(RuntimeError):
            await box.enqueue([item(), Outgoing("telemetry", "t", boom)])
        assert box.depth == 0
        assert await box.enqueue([item()]) == [0]  # the seq was not used up
