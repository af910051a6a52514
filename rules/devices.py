"""Device and group rules: what a reading, a status change or the passing of time does."""

from __future__ import annotations

from collections.abc import Callable

from estatewatch.contracts.payloads import (
    AlarmEvent,
    DeviceErrorKind,
    DeviceReading,
    DeviceState,
    DeviceStatus,
    Quality,
    Scalar,
)
from rules import levels
from rules.alarms import Raise
from rules.conditions import CLEAR, FIRE, DeviceRuntime, RuleState, at_once, pending, step
from rules.plan import CompiledRule, DevicePlan, GroupPlan
from rules.state import SiteState

DISTRUST_MS = 60_000
"""How long a device's values raise and clear nothing after the gateway last found them
undecodable: random registers decode cleanly now and then, and must not raise alarms."""


class _Text(dict[str, str]):
    """Leaves an unknown ``{placeholder}`` as it is instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fmt(value: Scalar | float | None) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def render(template: str, context: dict[str, str]) -> str:
    return template.format_map(_Text(context)) if "{" in template else template


def on_reading(site: SiteState, reading: DeviceReading, now: int) -> list[AlarmEvent]:
    plan = site.plan.devices.get(reading.device)
    if plan is None:
        return []
    dev = site.devices[reading.device]
    quality = reading.quality
    if quality:
        fresh = False
        for name, value in reading.values.items():
            if quality.get(name) is not Quality.STALE:
                dev.values[name] = value
                fresh = True
    else:
        dev.values.update(reading.values)
        fresh = bool(reading.values)
    if fresh:
        dev.last_seen = now
    events = evaluate_device(site, plan, dev, now, reading=True)
    for group in plan.groups:
        events += evaluate_group(site, group, now, member=reading.device)
    return events


def on_status(site: SiteState, status: DeviceStatus, now: int) -> list[AlarmEvent]:
    plan = site.plan.devices.get(status.device)
    if plan is None:
        return []
    dev = site.devices[status.device]
    dev.status = status.state.value
    error = status.last_error
    dev.status_error = f"{error.kind.value}: {error.message}" if error else ""
    if status.state is DeviceState.ONLINE:
        dev.last_seen = now  # the gateway just heard from it: a sign of life
    if status.state is DeviceState.DEGRADED and error and error.kind is DeviceErrorKind.DECODE:
        dev.distrust_until = now + DISTRUST_MS
    events = evaluate_device(site, plan, dev, now)
    for group in plan.groups:
        events += evaluate_group(site, group, now, member=status.device)
    return events


def on_tick(site: SiteState, now: int) -> list[AlarmEvent]:
    """Time passed: deadman timers, durations and clear deadbands that were running."""
    events: list[AlarmEvent] = []
    for device_id, plan in site.plan.devices.items():
        events += evaluate_device(site, plan, site.devices[device_id], now, timed_only=True)
    for group in site.plan.groups:
        events += evaluate_group(site, group, now, timed_only=True)  # every member
    return events


def _bind(plan: DevicePlan, dev: DeviceRuntime) -> list[tuple[CompiledRule, RuleState]]:
    """The device's rule states in the plan's order (again after a reload)."""
    slots = []
    for rule in plan.rules:
        s = dev.states.get(rule.id)
        if s is None:
            s = dev.states[rule.id] = RuleState(latch=[False] * rule.leaves)
        elif len(s.latch) != rule.leaves:
            s.latch = [False] * rule.leaves  # the rule changed shape in a reload
        slots.append((rule, s))
    dev.slots, dev.bound_to = slots, plan
    return slots


def evaluate_device(
    site: SiteState,
    plan: DevicePlan,
    dev: DeviceRuntime,
    now: int,
    *,
    timed_only: bool = False,
    reading: bool = False,
) -> list[AlarmEvent]:
    """Evaluate the device's rules: all of them, only those time can change (a tick), or
    those a reading can change (`reading`: a rule on status and deadman alone is skipped
    unless it is in alarm, so that a reading clears it)."""
    events: list[AlarmEvent] = []
    slots = dev.slots if dev.bound_to is plan else _bind(plan, dev)
    values = dev.values
    distrusted = now < dev.distrust_until
    for rule, s in slots:
        if timed_only:
            if not rule.timed and not pending(s, rule.timing):
                continue
        elif reading and not rule.reads_points and not s.raw and not s.firing:
            continue
        if distrusted and rule.reads_points:
            continue  # garbage from the device: neither raise nor clear on it
        schedule = rule.schedule
        if schedule is not None and not schedule.active(now):
            raw = False
        else:
            raw = rule.cond(values, s, dev, now)
            if raw and rule.suppressed_by:
                for other in rule.suppressed_by:
                    o = dev.states.get(other)
                    if o is not None and (o.raw or o.firing):
                        raw = False
                        break
        if raw is s.raw and raw is s.firing and not s.edges:
            continue  # steady: nothing is timing (the common case, kept cheap)
        explicit = raw and rule.explicit and at_once(s, rule.explicit) and _known(rule, plan, dev)
        timing = rule.at_once_timing if explicit else rule.timing
        change = step(s, raw, now, timing)
        if change == FIRE:
            what = _raise(rule, plan, dev)
            events += site.book.fire(
                (rule.id, plan.target.id), plan.target, what, now, onset=s.since
            )
        elif change == CLEAR:
            events += site.book.clear((rule.id, plan.target.id), now)
    return events


def _figure(rule: CompiledRule, expr: levels.Expr, values: dict[str, Scalar]) -> str:
    """A figure for the texts; "—" when a point it needs is missing or it divides by 0."""
    env = dict(rule.env)
    for name, value in values.items():
        if isinstance(value, int | float):
            env[name] = float(value)
    try:
        figure = expr.value(env)
    except (KeyError, ZeroDivisionError):
        return "—"
    return f"{figure:.1f}" if abs(figure) < 100 else f"{figure:.0f}"


def _known(rule: CompiledRule, plan: DevicePlan, dev: DeviceRuntime) -> bool:
    """The device's fault code is one its register map knows: a code read from garbage is
    no report of the device's, and waits for `for` like an inferred condition."""
    point = rule.value_point
    codes = plan.enums.get(point) if point else None
    if codes is None:
        return True
    value = dev.values.get(point) if point else None
    return isinstance(value, int | float) and float(value).is_integer() and int(value) in codes


def _raise(rule: CompiledRule, plan: DevicePlan, dev: DeviceRuntime) -> Raise:
    point = rule.value_point
    value = dev.values.get(point) if point else None
    text = None
    if point in plan.enums and isinstance(value, int | float) and float(value).is_integer():
        text = plan.enums[point].get(int(value))
    target = plan.target
    context = {
        "device": target.id,
        "building": target.building or "",
        "room": target.room or "",
        "point": point or "",
        "value": _fmt(value),
        "threshold": _fmt(rule.threshold),
        "status_error": dev.status_error,
    }
    for name, expr in rule.figures:
        context[name] = _figure(rule, expr, dev.values)
    details: dict[str, Scalar | None] = {}
    if point:
        details["point"] = point
    if rule.threshold is not None:
        details["threshold"] = round(rule.threshold, 6)
    if text is not None:
        details["value_text"] = text.en
    if dev.status_error:
        details["status_error"] = dev.status_error[:256]
    for name, _ in rule.figures:
        details[name] = context[name]

    def words(lang: str) -> dict[str, str]:
        return {
            **context,
            "device_name": plan.name.pick(lang),
            "building_name": plan.building_name.pick(lang) if plan.building_name else "",
            "value_text": text.pick(lang) if text is not None else _fmt(value),
        }

    (title, message), (title_zh, message_zh) = texts(rule, words)
    return Raise(
        rule.id,
        rule.category,
        rule.severity,
        title,
        message,
        value if not isinstance(value, str) else value[:256],
        details,
        title_zh,
        message_zh,
    )


def texts(
    rule: CompiledRule, words: Callable[[str], dict[str, str]]
) -> tuple[tuple[str, str], tuple[str, str]]:
    """((title, message) in English, the same in Chinese), each language's template filled
    with that language's names."""
    done = []
    for lang in ("en", "zh-CN"):
        context = words(lang)
        done.append(
            (
                render(rule.title.pick(lang), context)[:256],
                render(rule.message.pick(lang), context)[:4000],
            )
        )
    return done[0], done[1]


def evaluate_group(
    site: SiteState,
    group: GroupPlan,
    now: int,
    *,
    member: str | None = None,
    timed_only: bool = False,
) -> list[AlarmEvent]:
    """Re-evaluate `member` (or every member: a tick of a timed rule) and the group."""
    rule = group.rule
    key = f"{rule.id}\x1f{group.target.id}"
    s = site.groups.get(key)
    if s is None:
        s = site.groups[key] = RuleState(members={})
    if timed_only and not rule.timed and not pending(s, rule.timing):
        return []
    members = s.members if s.members is not None else {}
    s.members = members
    chosen = ((member, group.by_member[member]),) if member is not None else group.members
    for device_id, cond in chosen:
        m = members.get(device_id)
        if m is None or len(m.latch) != rule.leaves:
            if m is not None and m.raw:
                s.count -= 1
            m = members[device_id] = RuleState(latch=[False] * rule.leaves)
        dev = site.devices[device_id]
        if now >= dev.distrust_until or not rule.reads_points:
            was = m.raw
            m.raw = cond(dev.values, m, dev, now)
            s.count += m.raw - was
    active = rule.schedule is None or rule.schedule.active(now)
    raw = active and s.count >= group.need
    change = step(s, raw, now, rule.timing)
    target = group.target
    if change == FIRE:
        in_alarm = [device_id for device_id, m in members.items() if m.raw]
        context = {
            "group": target.id,
            "building": target.building or "",
            "room": target.room or "",
            "count": str(len(in_alarm)),
            "members": ", ".join(in_alarm),
        }
        plans = site.plan.devices
        building = plans[in_alarm[0]].building_name if in_alarm else None
        sep = {"en": ", ", "zh-CN": "、"}

        def words(lang: str) -> dict[str, str]:
            names = [plans[d].name.pick(lang) for d in in_alarm]
            return {
                **context,
                "building_name": building.pick(lang) if building else context["building"],
                "member_names": sep[lang].join(names),
            }

        (title, message), (title_zh, message_zh) = texts(rule, words)
        what = Raise(
            rule.id,
            rule.category,
            rule.severity,
            title,
            message,
            len(in_alarm),
            {"members": ", ".join(in_alarm)[:256]},
            title_zh,
            message_zh,
        )
        return site.book.fire((rule.id, target.id), target, what, now)
    if change == CLEAR:
        return site.book.clear((rule.id, target.id), now)
    return []
