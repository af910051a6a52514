"""Compile a rule set for one site: each device gets the templates of its kind, with its
overrides applied and its levels worked out from its attributes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from estatewatch.config.devices import Device, DeviceKind
from estatewatch.config.names import Bilingual, LocalizedName
from estatewatch.config.site import SiteConfig
from estatewatch.contracts.payloads import Severity, TargetKind
from rules import levels
from rules.alarms import FlapPolicy, Target
from rules.check import leaves, point_of
from rules.conditions import Cond, Timing, compile_condition
from rules.loader import RuleSet
from rules.model import ActiveWindow, GroupRule, PatrolRules, RuleBase
from rules.schedule import LocalTime, Schedule

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    category: str
    severity: Severity
    title: Bilingual
    message: Bilingual
    cond: Cond
    leaves: int
    timing: Timing
    timed: bool
    schedule: Schedule | None
    suppressed_by: tuple[str, ...]
    value_point: str | None
    threshold: float | None
    reads_points: bool = True
    """Reads device values (not only status and deadman): held while data is untrusted."""
    figures: tuple[tuple[str, levels.Expr], ...] = ()
    """Named figures for the texts, over `env` and the device's values at raise time."""
    env: tuple[tuple[str, float], ...] = ()
    """The device's attributes and the rule's $params, for the figures."""
    explicit: tuple[int, ...] = ()
    """Latches of the device's own fault report: while one holds, `at_once_timing` applies."""
    at_once_timing: Timing = field(default_factory=Timing)


@dataclass(frozen=True, slots=True)
class GroupPlan:
    rule: CompiledRule
    """Texts and timing; `rule.cond` is unused, each member has its own."""
    target: Target
    members: tuple[tuple[str, Cond], ...]
    need: int
    by_member: dict[str, Cond] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DevicePlan:
    target: Target
    name: LocalizedName
    rules: tuple[CompiledRule, ...]
    enums: dict[str, dict[int, LocalizedName]]
    groups: tuple[GroupPlan, ...] = ()
    building_name: LocalizedName | None = None


@dataclass
class SitePlan:
    config: SiteConfig
    local: LocalTime
    devices: dict[str, DevicePlan]
    groups: tuple[GroupPlan, ...]
    patrol: PatrolRules
    flap: FlapPolicy
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    fed_by: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Target id → the power rooms that feed it (`rules.plan.topology`)."""

    @property
    def site(self) -> str:
        return self.config.site.id


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _device_points(site: SiteConfig, device: Device) -> set[str]:
    if device.register_map is not None:
        return {p.name for p in site.register_maps[device.register_map].points}
    if device.connection.protocol in ("mqtt", "dlt645", "bacnet"):
        return {p.name for p in device.connection.points}
    return set()


def _applies(rule: RuleBase, device: Device) -> bool:
    if device.kind not in rule.kinds:
        return False
    if rule.sensor_types is not None and device.kind is DeviceKind.SENSOR:
        return getattr(device, "sensor_type", None) in rule.sensor_types
    return rule.sensor_types is None or device.kind is not DeviceKind.SENSOR


def _compile_rule(
    rules: RuleSet, rule: RuleBase, target: str, attributes: dict[str, float], local: LocalTime
) -> tuple[CompiledRule, dict[str, float]] | None:
    severity, for_, clear_for = rule.severity, rule.for_, rule.clear_for
    params = dict(rule.params)
    schedule: list[ActiveWindow] | None = rule.schedule
    enabled = rule.enabled
    for item in rules.override(target, rule.id):
        enabled = item.enabled if item.enabled is not None else enabled
        severity = item.severity or severity
        for_ = item.for_ if item.for_ is not None else for_
        clear_for = item.clear_for if item.clear_for is not None else clear_for
        params.update(item.params)
        schedule = item.schedule if item.schedule is not None else schedule
    if not enabled:
        return None
    env = {**attributes, **{f"${k}": v for k, v in params.items()}}
    compiled = compile_condition(rule.when, env)
    count = rule.count
    timing = Timing(
        for_ms=_ms(for_.total_seconds()),
        clear_for_ms=_ms(clear_for.total_seconds()),
        count=count.times if count else 0,
        count_ms=_ms(count.within.total_seconds()) if count else 0,
    )
    return (
        CompiledRule(
            id=rule.id,
            category=rule.category,
            severity=severity,
            title=rule.title,
            message=rule.message,
            cond=compiled.cond,
            leaves=compiled.leaves,
            timing=timing,
            timed=compiled.timed or schedule is not None or count is not None,
            schedule=Schedule(schedule, local) if schedule else None,
            suppressed_by=tuple(getattr(rule, "suppressed_by", ())),
            value_point=rule.value_point or compiled.point,
            threshold=compiled.threshold,
            reads_points=any(point_of(leaf) for _, leaf in leaves(rule.when)),
            figures=tuple((name, levels.parse(text)) for name, text in rule.figures.items()),
            env=tuple(env.items()) if rule.figures else (),
            explicit=compiled.explicit,
            at_once_timing=replace(timing, for_ms=0),
        ),
        env,
    )


def _missing_points(rule: RuleBase, points: set[str]) -> list[str]:
    wanted = {p for _, leaf in leaves(rule.when) if (p := point_of(leaf)) is not None}
    if rule.value_point:
        wanted.add(rule.value_point)
    return sorted(wanted - points)


def _in_suppression_order(rules: list[CompiledRule]) -> tuple[CompiledRule, ...]:
    """Suppressors before the rules they suppress (the checker refused cycles)."""
    by_id = {r.id: r for r in rules}
    done: dict[str, CompiledRule] = {}

    def visit(rule: CompiledRule) -> None:
        if rule.id in done:
            return
        for other in rule.suppressed_by:
            if other in by_id:
                visit(by_id[other])
        done[rule.id] = rule

    for rule in rules:
        visit(rule)
    return tuple(done.values())


def compile_site(site: SiteConfig, rules: RuleSet) -> SitePlan:
    """The compiled rules of every device and group of `site`."""
    local = LocalTime(site.site.timezone)
    plan = SitePlan(
        site,
        local,
        {},
        (),
        rules.patrol,
        FlapPolicy(
            count=rules.defaults.flap_count,
            window_ms=_ms(rules.defaults.flap_window.total_seconds()),
            quiet_ms=_ms(rules.defaults.flap_quiet.total_seconds()),
        ),
    )
    buildings = {b.id: b.name for b in site.buildings}
    for device in site.devices:
        points = _device_points(site, device)
        attributes = levels.device_attributes(device)
        compiled: list[CompiledRule] = []
        for rule in rules.device_rules:
            if not _applies(rule, device):
                continue
            missing = _missing_points(rule, points)
            if missing:
                plan.skipped.append((device.id, rule.id, f"no point {', '.join(missing)}"))
                continue
            made = _compile_rule(rules, rule, device.id, attributes, local)
            if made is not None:
                compiled.append(made[0])
        enums: dict[str, dict[int, LocalizedName]] = {}
        if device.register_map is not None:
            for point in site.register_maps[device.register_map].points:
                if point.enum:
                    enums[point.name] = dict(point.enum)
        target = Target(TargetKind.DEVICE, device.id, device.kind, device.building, device.room)
        plan.devices[device.id] = DevicePlan(
            target,
            device.name,
            _in_suppression_order(compiled),
            enums,
            building_name=buildings.get(device.building),
        )
    groups = [g for rule in rules.group_rules for g in _groups(site, rule, rules, local)]
    plan.groups = tuple(groups)
    for group in groups:
        for member, _ in group.members:
            dev = plan.devices[member]
            plan.devices[member] = replace(dev, groups=(*dev.groups, group))
    plan.fed_by = topology(plan)
    for device_id, rule_id, reason in plan.skipped:
        log.info(
            "site %s: rule %s does not apply to %s: %s", site.site.id, rule_id, device_id, reason
        )
    return plan


def _groups(site: SiteConfig, rule: GroupRule, rules: RuleSet, local: LocalTime) -> list[GroupPlan]:
    buckets: dict[str, list[Device]] = {}
    for device in site.devices:
        if not _applies(rule, device):
            continue
        if _missing_points(rule, _device_points(site, device)):
            continue
        key = {
            "site": site.site.id,
            "building": device.building,
            "room": f"{device.building}/{device.room}",
        }[rule.group_by]
        buckets.setdefault(key, []).append(device)
    found = []
    for key, devices in buckets.items():
        if len(devices) < rule.min_members:
            continue
        base: CompiledRule | None = None
        members: list[tuple[str, Cond]] = []
        for device in devices:
            made = _compile_rule(rules, rule, key, levels.device_attributes(device), local)
            if made is None:  # disabled for this group
                break
            base = base or made[0]
            members.append((device.id, made[0].cond))
        if base is None or len(members) != len(devices):
            continue
        if rule.require == "all":
            need = len(devices)
        elif rule.require == "any":
            need = 1
        else:
            need = min(int(rule.require), len(devices))
        building = devices[0].building if rule.group_by != "site" else None
        room = devices[0].room if rule.group_by == "room" else None
        target = Target(TargetKind.DEVICE_GROUP, key, devices[0].kind, building, room)
        found.append(GroupPlan(base, target, tuple(members), need, dict(members)))
    return found


def topology(plan: SitePlan) -> dict[str, tuple[str, ...]]:
    """Target id → the power rooms that feed it (`rules.inhibit`): a device by the site
    file's `feeds`, a group of devices by the rooms that feed every member."""
    site = plan.config
    fed = {device.id: tuple(site.fed_by(device.id)) for device in site.devices}
    for group in plan.groups:
        rooms = [set(fed.get(member, ())) for member, _ in group.members]
        common = set.intersection(*rooms) if rooms else set()
        if common:
            fed[group.target.id] = tuple(sorted(common))
    return {target: rooms for target, rooms in fed.items() if rooms}
