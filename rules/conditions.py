"""Conditions compiled into small closures, and the timing step (duration, count, clear
deadband) that turns a condition's truth into fire / clear.

A compiled condition is ``cond(values, state, device, now) -> bool``: it reads the device's
latest values, keeps its hysteresis latches and rate samples in `state`, and has no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from estatewatch.contracts.payloads import Scalar
from rules import levels
from rules.model import Condition

FIRE = 1
CLEAR = -1


@dataclass(slots=True)
class RuleState:
    """The state of one rule for one target. Persisted across restarts."""

    latch: list[bool] = field(default_factory=list)
    raw: bool = False
    """The condition's truth at the last evaluation (before duration/count)."""
    since: int | None = None
    false_since: int | None = None
    firing: bool = False
    """The rule is in alarm (its alarm may have been closed by a person meanwhile)."""
    edges: list[int] = field(default_factory=list)
    hold_until: int | None = None
    hist: dict[int, deque[tuple[int, float]]] | None = None
    members: dict[str, RuleState] | None = None
    count: int = 0
    """Group rules: how many members are in alarm (kept as members change)."""

    def to_json(self) -> list[object]:
        members = {k: v.to_json() for k, v in self.members.items()} if self.members else None
        return [self.latch, self.raw, self.since, self.false_since, self.firing, self.edges,
                self.hold_until, members]  # fmt: skip

    @classmethod
    def from_json(cls, data: list[object]) -> RuleState:
        latch, raw, since, false_since, firing, edges, hold_until, members = data
        state = cls(list(latch), bool(raw), since, false_since, bool(firing), list(edges),  # type: ignore[call-overload, arg-type]
                    hold_until)  # type: ignore[arg-type]  # fmt: skip
        if isinstance(members, dict):
            state.members = {k: cls.from_json(v) for k, v in members.items()}
            state.count = sum(1 for m in state.members.values() if m.raw)
        return state


@dataclass(slots=True)
class DeviceRuntime:
    """What the engine knows of one device now."""

    values: dict[str, Scalar] = field(default_factory=dict)
    last_seen: int | None = None
    """Time of the last good reading."""
    watch_from: int = 0
    """Deadman timers count from here when the device was never seen (engine start)."""
    status: str = "online"
    status_error: str = ""
    distrust_until: int = 0
    """The gateway said the device sends undecodable data (a `degraded` status with a decode
    error): until this time, rules that read its values hold their state."""
    states: dict[str, RuleState] = field(default_factory=dict)
    slots: list[tuple[Any, RuleState]] = field(default_factory=list)
    """(compiled rule, its state) in evaluation order, bound to `bound_to` (a device plan):
    the hot path walks this list instead of looking each state up by rule id."""
    bound_to: object = None


Cond = Callable[[Mapping[str, Scalar], RuleState, DeviceRuntime, int], bool]


@dataclass(frozen=True, slots=True)
class Compiled:
    cond: Cond
    leaves: int
    timed: bool
    """Depends on time as well as values (deadman, rate): evaluate on every tick."""
    threshold: float | None
    point: str | None
    explicit: tuple[int, ...] = ()
    """Latch indices of `explicit` state leaves (the device's own fault report)."""


def compile_condition(cond: Condition, env: Mapping[str, float]) -> Compiled:
    """Compile `cond` with levels worked out from `env` (attributes and $params)."""
    counter = [0]
    info: dict[str, object] = {"timed": False, "threshold": None, "point": None}
    explicit: list[int] = []
    info["explicit"] = explicit
    fn = _compile(cond, env, counter, info)
    threshold = info["threshold"]
    point = info["point"]
    return Compiled(
        fn,
        counter[0],
        bool(info["timed"]),
        threshold if isinstance(threshold, float) else None,
        point if isinstance(point, str) else None,
        tuple(explicit),
    )


def _level(value: float | str, env: Mapping[str, float]) -> float:
    return levels.parse(value).value(env)


def _compile(
    cond: Condition, env: Mapping[str, float], counter: list[int], info: dict[str, object]
) -> Cond:
    if cond.all_ is not None or cond.any_ is not None:
        parts = [_compile(c, env, counter, info) for c in (cond.all_ or cond.any_ or [])]
        return _combine(parts, cond.all_ is not None)
    if cond.not_ is not None:
        inner = _compile(cond.not_, env, counter, info)

        def negated(v: Mapping[str, Scalar], s: RuleState, d: DeviceRuntime, now: int) -> bool:
            return not inner(v, s, d, now)

        return negated
    index = counter[0]
    counter[0] += 1
    if cond.threshold is not None:
        return _threshold(cond, env, index, info)
    if cond.state is not None:
        if cond.state.explicit:
            explicit = info["explicit"]
            assert isinstance(explicit, list)
            explicit.append(index)
        return _state(cond, index, info)
    if cond.rate is not None:
        return _rate(cond, env, index, info)
    if cond.stale is not None:
        info["timed"] = True
        after = int(cond.stale.after.total_seconds() * 1000)

        def stale(v: Mapping[str, Scalar], s: RuleState, d: DeviceRuntime, now: int) -> bool:
            seen = d.last_seen if d.last_seen is not None else d.watch_from
            return now - max(seen, d.watch_from) > after

        return stale
    assert cond.status is not None
    states = frozenset(x.value for x in cond.status.in_)

    def status(v: Mapping[str, Scalar], s: RuleState, d: DeviceRuntime, now: int) -> bool:
        if now < d.distrust_until and d.status == "online":
            return "degraded" in states  # sent garbage a moment ago: still degraded
        return d.status in states

    return status


def _combine(parts: list[Cond], conjunction: bool) -> Cond:
    """Every part runs each time (`&`, `|` on bools, no short-circuit), so latches and rate
    samples stay current; two and three parts, the common cases, without a loop."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        if conjunction:
            return lambda v, s, d, now: a(v, s, d, now) & b(v, s, d, now)
        return lambda v, s, d, now: a(v, s, d, now) | b(v, s, d, now)
    if len(parts) == 3:
        a, b, c = parts
        if conjunction:
            return lambda v, s, d, now: a(v, s, d, now) & b(v, s, d, now) & c(v, s, d, now)
        return lambda v, s, d, now: a(v, s, d, now) | b(v, s, d, now) | c(v, s, d, now)

    def many(v: Mapping[str, Scalar], s: RuleState, d: DeviceRuntime, now: int) -> bool:
        result = conjunction
        for part in parts:
            x = part(v, s, d, now)
            result = (result and x) if conjunction else (result or x)
        return result

    return many


def _threshold(cond: Condition, env: Mapping[str, float], i: int, info: dict[str, object]) -> Cond:
    t = cond.threshold
    assert t is not None
    point, deadband = t.point, _level(t.deadband, env)
    info["point"] = info["point"] or point
    if t.above is not None:
        on = _level(t.above, env)
        off = on - deadband
        info["threshold"] = info["threshold"] or on

        def above(v: Mapping[str, Scalar], s: RuleState, d: DeviceRuntime, now: int) -> bool:
            x = v.get(point)
            if x is None or isinstance(x, str):
                return s.latch[i]
            result = x > off if s.latch[i] else x > on
            s.latch[i] = result
            return result

        return above
    on = _level(t.below or 0.0, env)
    off = on + deadband
    info["threshold"] = info["threshold"] or on

    def below(v: Mapping[str, Scalar], s: RuleState, d: DeviceRuntime, now: int) -> bool:
        x = v.get(point)
        if x is None or isinstance(x, str):
            return s.latch[i]
        result = x < off if s.latch[i] else x < on
        s.latch[i] = result
        return result

    return below


def _state(cond: Condition, i: int, info: dict[str, object]) -> Cond:
    st = cond.state
    assert st is not None
    point = st.point
    info["point"] = info["point"] or point
    if st.not_in is not None:
        values, wanted = frozenset(st.not_in), False
    else:
        chosen: list[Scalar] = st.in_ or ([st.equals] if st.equals is not None else [])
        values, wanted = frozenset(chosen), True

    def state(v: Mapping[str, Scalar], s: RuleState, d: DeviceRuntime, now: int) -> bool:
        x = v.get(point)
        if x is None:
            return s.latch[i]
        result = (x in values) is wanted
        s.latch[i] = result
        return result

    return state


def _rate(cond: Condition, env: Mapping[str, float], i: int, info: dict[str, object]) -> Cond:
    r = cond.rate
    assert r is not None
    info["timed"] = True
    point, within = r.point, int(r.within.total_seconds() * 1000)
    info["point"] = info["point"] or point
    rising = r.rise is not None
    change = _level(r.rise if r.rise is not None else (r.fall or 0.0), env)

    def rate(v: Mapping[str, Scalar], s: RuleState, d: DeviceRuntime, now: int) -> bool:
        if s.hist is None:
            s.hist = {}
        samples = s.hist.setdefault(i, deque())
        x = v.get(point)
        seen = d.last_seen
        fresh = seen is not None and (not samples or samples[-1][0] < seen)
        if fresh and x is not None and not isinstance(x, str):
            samples.append((seen, float(x)))  # type: ignore[arg-type]
        while samples and samples[0][0] < now - within:
            samples.popleft()
        if len(samples) < 2:
            result = False
        elif rising:
            result = samples[-1][1] - min(y for _, y in samples) >= change
        else:
            result = max(y for _, y in samples) - samples[-1][1] >= change
        s.latch[i] = result
        return result

    return rate


@dataclass(frozen=True, slots=True)
class Timing:
    for_ms: int = 0
    clear_for_ms: int = 0
    count: int = 0
    """0: no count condition; else fire on `count` rising edges within `count_ms`."""
    count_ms: int = 0


def at_once(s: RuleState, explicit: tuple[int, ...]) -> bool:
    """Whether a rule that holds holds through the device's own fault report (an explicit
    leaf is true): it raises without waiting for `for`."""
    return any(s.latch[i] for i in explicit)


def step(s: RuleState, raw: bool, now: int, t: Timing) -> int:
    """Advance the timing of one rule: FIRE, CLEAR or 0. Fires when the condition has held
    for `for_ms` (or rose `count` times within `count_ms`); clears when it has been false
    for `clear_for_ms`."""
    if raw:
        if not s.raw:
            s.since = now
            if t.count:
                s.edges.append(now)
        s.false_since = None
    else:
        if s.raw or s.false_since is None:
            s.false_since = now
        s.since = None
    s.raw = raw
    counted = True
    if t.count:
        horizon = now - t.count_ms
        while s.edges and s.edges[0] <= horizon:
            s.edges.pop(0)
        counted = len(s.edges) >= t.count
    if not s.firing:
        if raw and s.since is not None and counted and now - s.since >= t.for_ms:
            s.firing = True
            return FIRE
        return 0
    false_since = s.false_since
    quiet = false_since is not None and now - false_since >= t.clear_for_ms
    if not raw and quiet and (not t.count or not counted):
        s.firing = False
        return CLEAR
    return 0


def pending(s: RuleState, t: Timing) -> bool:
    """Whether time alone may change this rule's outcome (a duration or deadband running)."""
    return s.raw != s.firing or (t.count > 0 and bool(s.edges))
