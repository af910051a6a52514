"""Escalation chains as a pure function of time: which levels are due for an alarm raised
`elapsed` ago and still unacknowledged.

Level `i < len(steps)` is step `i`, due at its `after` (by default one SLA urgent-response
time, 15 minutes, after the previous step). Levels past the last step repeat the last step
every `repeat`, at most `max_repeats` times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from estatewatch.config.notify import EscalationChain, EscalationStep


@dataclass(frozen=True, slots=True)
class Level:
    number: int
    due: timedelta
    step: EscalationStep


def levels(chain: EscalationChain, urgent_response: timedelta) -> list[Level]:
    out: list[Level] = []
    due = timedelta()
    for number, step in enumerate(chain.steps):
        if step.after is not None:
            due = step.after
        elif number > 0:
            due = due + urgent_response
        out.append(Level(number, due, step))
    if chain.repeat is not None:
        last = out[-1]
        for k in range(1, chain.max_repeats + 1):
            out.append(Level(last.number + k, last.due + chain.repeat * k, last.step))
    return out


def due_levels(
    chain: EscalationChain, urgent_response: timedelta, elapsed: timedelta
) -> list[Level]:
    """Every level due by `elapsed` (the caller sends those not sent yet)."""
    return [level for level in levels(chain, urgent_response) if level.due <= elapsed]


def next_due(
    chain: EscalationChain, urgent_response: timedelta, elapsed: timedelta
) -> timedelta | None:
    """When the next level falls due, or None when the chain is exhausted."""
    later = [lv.due for lv in levels(chain, urgent_response) if lv.due > elapsed]
    return min(later) if later else None
