"""Backoff and batch bookkeeping: pure, no servers."""

from __future__ import annotations

import pytest

from ingest.batch import Batcher, BatchLimits, Entry, body, halves
from ingest.retry import Backoff


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(1, 0.2), (2, 0.4), (3, 0.8), (8, 25.6), (9, 30.0), (500, 30.0)]
)
def test_backoff_doubles_up_to_the_cap(attempt: int, ceiling: float) -> None:
    backoff = Backoff(base=0.2, cap=30.0)
    assert backoff.ceiling(attempt) == pytest.approx(ceiling)
    assert backoff.delay(attempt, rand=lambda: 1.0) == pytest.approx(ceiling)
    assert backoff.delay(attempt, rand=lambda: 0.0) == 0.0  # full jitter: anywhere below


def test_backoff_honours_retry_after_but_not_beyond_the_cap() -> None:
    backoff = Backoff(base=0.2, cap=30.0)
    assert backoff.delay(1, retry_after=5, rand=lambda: 0.5) == 5
    assert backoff.delay(1, retry_after=3600, rand=lambda: 0.5) == 30.0


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="base"):
        Backoff(base=0, cap=1)


def _entry(n: int, name: str = "m") -> Entry[str]:
    lines = b"\n".join(f"{name} x={i} {i}".encode() for i in range(n))
    return Entry(name, lines, n)


def test_batch_seals_at_the_line_limit() -> None:
    batcher: Batcher[str] = Batcher(BatchLimits(max_lines=10, max_messages=100))
    assert batcher.add(_entry(4), now=0) is None
    assert batcher.add(_entry(4), now=0) is None
    sealed = batcher.add(_entry(4), now=0)
    assert sealed is not None
    assert (sealed.lines, len(sealed)) == (12, 3)
    assert batcher.open is None


def test_batch_seals_at_the_message_limit_even_when_small() -> None:
    # The broker sends no more unacknowledged messages than its window: a batch that waited
    # for more lines would wait for its own timer.
    batcher: Batcher[str] = Batcher(BatchLimits(max_lines=5000, max_messages=2))
    assert batcher.add(Entry("a", b"", 0, "bad json"), now=0) is None
    sealed = batcher.add(_entry(1), now=0)
    assert sealed is not None
    assert len(sealed) == 2


def test_batch_seals_at_the_byte_limit() -> None:
    batcher: Batcher[str] = Batcher(BatchLimits(max_bytes=100))
    assert batcher.add(Entry("a", b"x" * 60, 1), now=0) is None
    assert batcher.add(Entry("b", b"x" * 60, 1), now=0) is not None


def test_batch_is_due_at_its_age() -> None:
    batcher: Batcher[str] = Batcher(BatchLimits(max_age=1.0, max_idle=0.2))
    assert batcher.deadline() is None
    assert batcher.due(100.0, quiet=True) is None
    for t in (10.0, 10.15, 10.3, 10.45, 10.6, 10.75, 10.9):  # a steady stream
        batcher.add(_entry(1), now=t)
        assert batcher.due(t + 0.05, quiet=True) is None
    assert batcher.deadline() == 11.0
    assert batcher.due(10.99, quiet=False) is None
    sealed = batcher.due(11.0, quiet=False)
    assert sealed is not None
    assert sealed.lines == 7
    assert batcher.deadline() is None


def test_batch_is_due_when_the_stream_pauses_and_nothing_waits() -> None:
    batcher: Batcher[str] = Batcher(BatchLimits(max_age=1.0, max_idle=0.2))
    batcher.add(_entry(1), now=10.0)
    assert batcher.deadline() == pytest.approx(10.2)
    assert batcher.due(10.3, quiet=False) is None  # messages waiting: the consumer is behind
    sealed = batcher.due(10.3, quiet=True)
    assert sealed is not None
    assert sealed.lines == 1


def test_body_skips_messages_without_lines() -> None:
    entries = [_entry(1, "a"), Entry("dead", b"", 0, "bad"), _entry(1, "b")]
    assert body(entries) == b"a x=0 0\nb x=0 0"


@pytest.mark.parametrize(
    ("counts", "left"),
    [([1, 1], 1), ([1, 1, 1, 1], 2), ([10, 1, 1, 1], 1), ([1, 1, 1, 10], 3), ([5, 5, 5], 2)],
)
def test_halves_split_by_lines_and_never_leave_a_side_empty(counts: list[int], left: int) -> None:
    entries = [_entry(n) for n in counts]
    a, b = halves(entries)
    assert len(a) == left
    assert list(a) + list(b) == entries
    assert a
    assert b


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        BatchLimits(max_lines=0)
