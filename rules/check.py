"""Checks a rule file against itself, the built-in pack and the loaded sites, and names the
line of every problem (pydantic checks each field; these are the cross-references)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import yaml

from estatewatch.config.devices import DeviceKind
from estatewatch.config.site import SiteConfig
from estatewatch.errors import ConfigError, ConfigIssue
from rules import levels
from rules.model import Condition, DeviceRule, GroupRule, RuleBase, RuleFile

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def leaves(cond: Condition, loc: Loc = ("when",)) -> Iterator[tuple[Loc, Condition]]:
    """Every leaf condition with its location under the rule."""
    if cond.all_ is not None or cond.any_ is not None:
        key, items = ("all", cond.all_) if cond.all_ is not None else ("any", cond.any_)
        for i, sub in enumerate(items or []):
            yield from leaves(sub, (*loc, key, i))
    elif cond.not_ is not None:
        yield from leaves(cond.not_, (*loc, "not"))
    else:
        yield loc, cond


def level_fields(cond: Condition) -> Iterator[tuple[str, float | str]]:
    if cond.threshold is not None:
        t = cond.threshold
        yield ("above", t.above) if t.above is not None else ("below", t.below or 0.0)
        yield "deadband", t.deadband
    if cond.rate is not None:
        r = cond.rate
        yield ("rise", r.rise) if r.rise is not None else ("fall", r.fall or 0.0)


def point_of(cond: Condition) -> str | None:
    for leaf in (cond.threshold, cond.rate, cond.state):
        if leaf is not None:
            return leaf.point
    return None


def points_by_kind(sites: Sequence[SiteConfig]) -> dict[tuple[DeviceKind, str | None], set[str]]:
    """The point names devices provide, by (kind, sensor type)."""
    found: dict[tuple[DeviceKind, str | None], set[str]] = {}
    for site in sites:
        for device in site.devices:
            key = (device.kind, getattr(device, "sensor_type", None))
            names = found.setdefault(key, set())
            if device.register_map is not None:
                names.update(p.name for p in site.register_maps[device.register_map].points)
            elif device.connection.protocol == "mqtt":
                names.update(p.name for p in device.connection.points)
    return found


def _level_problems(rule: RuleBase, level: float | str, where: Loc) -> list[Problem]:
    """A level expression naming a param the rule lacks or an attribute its kinds lack."""
    problems: list[Problem] = []
    for name in sorted(levels.parse(level).names):
        if name.startswith("$"):
            if name[1:] not in rule.params:
                problems.append((where, f"param {name} is not in this rule's params"))
            continue
        for kind in rule.kinds:
            if name not in levels.ATTRIBUTES[kind]:
                allowed = ", ".join(sorted(levels.ATTRIBUTES[kind]))
                problems.append((where, f"a {kind.value} has no attribute {name!r} ({allowed})"))
    return problems


def _rule_problems(
    rule: RuleBase,
    loc: Loc,
    known: set[str],
    provided: dict[tuple[DeviceKind, str | None], set[str]],
) -> list[Problem]:
    problems: list[Problem] = []
    for leaf_loc, leaf in leaves(rule.when):
        for field, level in level_fields(leaf):
            section = "threshold" if leaf.threshold is not None else "rate"
            problems += _level_problems(rule, level, (*loc, *leaf_loc, section, field))
        point = point_of(leaf)
        if point is not None:
            section = next(k for k in ("threshold", "rate", "state") if getattr(leaf, k))
            where = (*loc, *leaf_loc, section, "point")
            problems += _point_problem(rule, point, where, provided)
    if rule.value_point is not None:
        problems += _point_problem(rule, rule.value_point, (*loc, "value_point"), provided)
    for figure, text in rule.figures.items():
        for name in sorted(levels.parse(text).names):
            where = (*loc, "figures", figure)
            if name.startswith("$"):
                if name[1:] not in rule.params:
                    problems.append((where, f"param {name} is not in this rule's params"))
            elif not all(name in levels.ATTRIBUTES[kind] for kind in rule.kinds):
                problems += _point_problem(rule, name, where, provided)
    if isinstance(rule, DeviceRule):
        for i, other in enumerate(rule.suppressed_by):
            if other not in known:
                problems.append(((*loc, "suppressed_by", i), f"unknown rule {other!r}"))
            elif other == rule.id:
                problems.append(((*loc, "suppressed_by", i), "a rule cannot suppress itself"))
    return problems


def _point_problem(
    rule: RuleBase,
    point: str,
    loc: Loc,
    provided: dict[tuple[DeviceKind, str | None], set[str]],
) -> list[Problem]:
    names: set[str] = set()
    for (kind, sensor_type), points in provided.items():
        if kind in rule.kinds and (
            rule.sensor_types is None or sensor_type in {s.value for s in rule.sensor_types}
        ):
            names |= points
    if names and point not in names:
        kinds = "/".join(k.value for k in rule.kinds)
        return [(loc, f"no {kinds} in the loaded sites has a point {point!r}")]
    return []


def problems(
    file: RuleFile,
    *,
    builtin: RuleFile | None,
    sites: Sequence[SiteConfig],
    check_points: bool = True,
) -> list[Problem]:
    """Every cross-reference in `file` that does not resolve, with its location."""
    found: list[Problem] = []
    base_ids = (
        {r.id for r in builtin.device_rules} | {r.id for r in builtin.group_rules}
        if builtin
        else set()
    )
    seen: dict[str, Loc] = {}
    rules: dict[str, RuleBase] = {}
    sections: list[tuple[str, Sequence[DeviceRule | GroupRule]]] = [
        ("device_rules", file.device_rules),
        ("group_rules", file.group_rules),
    ]
    for section, items in sections:
        for i, rule in enumerate(items):
            if rule.id in seen:
                found.append(((section, i, "id"), f"{rule.id!r} is used twice"))
            seen[rule.id] = (section, i)
            rules[rule.id] = rule
    known = base_ids | set(seen)
    provided = points_by_kind(sites) if check_points else {}
    for section, items in sections:
        for i, rule in enumerate(items):
            found += _rule_problems(rule, (section, i), known, provided)
    found += _cycles(file)
    for i, rule_id in enumerate(file.disable):
        if rule_id not in base_ids and rule_id not in seen:
            found.append((("disable", i), f"unknown rule {rule_id!r}"))
    found += _override_problems(file, rules, builtin, sites)
    return found


def _override_problems(
    file: RuleFile,
    rules: dict[str, RuleBase],
    builtin: RuleFile | None,
    sites: Sequence[SiteConfig],
) -> list[Problem]:
    """Overrides naming a rule, a param or a device that does not exist or does not fit."""
    found: list[Problem] = []
    devices = {d.id: d for s in sites for d in s.devices}
    for i, override in enumerate(file.overrides):
        target: RuleBase | None = rules.get(override.rule)
        if target is None and builtin is not None:
            target = next(
                (r for r in [*builtin.device_rules, *builtin.group_rules] if r.id == override.rule),
                None,
            )
        if target is None:
            found.append((("overrides", i, "rule"), f"unknown rule {override.rule!r}"))
            continue
        for name in override.params:
            if name not in target.params:
                found.append(
                    (("overrides", i, "params", name), f"rule {target.id!r} has no param {name!r}")
                )
        if isinstance(target, DeviceRule) and devices:
            device = devices.get(override.device)
            if device is None:
                found.append(
                    (("overrides", i, "device"), f"no loaded site has a device {override.device!r}")
                )
            elif device.kind not in target.kinds:
                found.append(
                    (
                        ("overrides", i, "device"),
                        f"rule {target.id!r} does not apply to {device.kind.value} devices",
                    )
                )
    return found


def _cycles(file: RuleFile) -> list[Problem]:
    edges = {r.id: set(r.suppressed_by) for r in file.device_rules}
    index = {r.id: i for i, r in enumerate(file.device_rules)}
    found: list[Problem] = []
    for start in edges:
        stack, seen = list(edges[start]), set()
        while stack:
            node = stack.pop()
            if node == start:
                found.append(
                    (
                        ("device_rules", index[start], "suppressed_by"),
                        "suppression goes in a circle",
                    )
                )
                break
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, ()))
    return found


def locate(text: str, file: str, found: list[Problem]) -> ConfigError:
    """A ConfigError naming the file, line and field path of each problem."""
    try:
        root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        root = None
    issues = []
    for loc, message in found:
        node = _node_at(root, loc)
        line = node.start_mark.line + 1 if node is not None else None
        column = node.start_mark.column + 1 if node is not None else None
        issues.append(ConfigIssue(file, line, column, ".".join(map(str, loc)), message))
    return ConfigError(issues)


def _node_at(node: yaml.Node | None, loc: Loc) -> yaml.Node | None:
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == part), node)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if 0 <= part < len(node.value) else node
    return node
