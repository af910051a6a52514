"""Rule files: the built-in pack loads for the example estate, and every mistake is refused
with its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from estatewatch.config import SiteConfig
from estatewatch.errors import ConfigError
from rules.loader import load_rules, parse_rules
from rules.plan import compile_site

GOOD = """\
version: 1
device_rules:
  - id: site.tank_very_low
    kinds: [water_pump_set]
    category: tank_low
    severity: critical
    title: "Tank very low at {device_name}"
    when:
      threshold: {point: tank_level, below: 10, deadband: 2}
    for: 5s
overrides:
  - {device: pump-fire, rule: pump.pressure_loss, severity: critical}
disable: [sensor.offline]
"""


def test_builtin_pack_covers_every_device_of_the_example(example_site: SiteConfig) -> None:
    plan = compile_site(example_site, parse_rules(None, sites=[example_site]))
    assert plan.skipped == []
    categories = {r.category for p in plan.devices.values() for r in p.rules}
    assert {
        "entrapment", "door_fault", "pressure_loss", "dry_run", "pipe_burst", "pump_trip",
        "tank_low", "phase_loss", "outage", "over_voltage", "under_voltage",
        "transformer_overheat", "leak", "smoke", "device_offline", "fire_alarm",
        "generator_start_failure", "generator_low_fuel",
    } <= categories  # fmt: skip
    assert {g.target.id for g in plan.groups} == {"t1", "t2", "t3", "t4", "harbour-view"}


def test_a_site_file_extends_the_pack(example_site: SiteConfig) -> None:
    rules = parse_rules(GOOD, file="site-rules.yaml", sites=[example_site])
    assert "site.tank_very_low" in rules.ids
    assert "pump.dry_run" in rules.ids
    assert "sensor.offline" not in rules.ids
    plan = compile_site(example_site, rules)
    fire = {r.id: r for r in plan.devices["pump-fire"].rules}
    assert fire["pump.pressure_loss"].severity.value == "critical"
    low = {r.id: r for r in plan.devices["pump-domestic-low"].rules}
    assert low["pump.pressure_loss"].severity.value == "major"


def _error(text: str, example_site: SiteConfig) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_rules(text, file="site-rules.yaml", sites=[example_site])
    return [str(i) for i in info.value.issues]


MISTAKES = [
    # (what is changed, into what, the field named, the message, the line named)
    ("severity: critical\n    title", "severity: urgent\n    title",
     "device_rules.0.severity", "Input should be", 6),
    ("    for: 5s", "    for: soon", "device_rules.0.for", "not a duration", 10),
    ("below: 10, deadband", "below: tank_size * 2, deadband",
     "device_rules.0.when.threshold.below", "no attribute 'tank_size'", 9),
    ("below: 10, deadband", "below: 10 +, deadband",
     "device_rules.0.when.threshold.below", "is missing", 9),
    ("point: tank_level", "point: tank_levle", "device_rules.0.when.threshold.point",
     "no water_pump_set in the loaded sites has a point 'tank_levle'", 9),
    ("    for: 5s", "    for: 5s\n    colour: red",
     "device_rules.0.colour", "unknown field", 11),
    ("rule: pump.pressure_loss", "rule: pump.presure_loss",
     "overrides.0.rule", "unknown rule", 12),
    ("device: pump-fire", "device: pump-nine",
     "overrides.0.device", "no loaded site has a device", 12),
    ("device: pump-fire", "device: elevator-1",
     "overrides.0.device", "does not apply to elevator devices", 12),
    ("disable: [sensor.offline]", "disable: [sensor.ofline]", "disable.0", "unknown rule", 13),
    ("below: 10, deadband: 2}", "below: 10, above: 3}",
     "device_rules.0.when.threshold", "exactly one of above or below", 9),
    ("    for: 5s", "    for: 5s\n    suppressed_by: [pump.nothing]",
     "device_rules.0.suppressed_by.0", "unknown rule", 11),
    ("    for: 5s", "    for: 5s\n    figures: {days: tank_levle / 24}",
     "device_rules.0.figures.days", "has a point 'tank_levle'", 11),
    ("    for: 5s", "    for: 5s\n    figures: {days: tank_level / $rate}",
     "device_rules.0.figures.days", "param $rate is not", 11),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "field", "message", "line"), MISTAKES)
def test_errors_name_file_line_and_field(
    example_site: SiteConfig, old: str, new: str, field: str, message: str, line: int
) -> None:
    assert old in GOOD, old
    issues = _error(GOOD.replace(old, new, 1), example_site)
    assert any(field in i and message in i for i in issues), issues
    issue = next(i for i in issues if field in i)
    assert issue.startswith(f"site-rules.yaml:{line}:"), issue


def test_yaml_syntax_error_has_a_line(example_site: SiteConfig) -> None:
    issues = _error(GOOD.replace("kinds: [water_pump_set]", "kinds: [water_pump_set"), example_site)
    assert issues[0].startswith("site-rules.yaml:")
    assert "not valid YAML" in issues[0]


def test_duplicate_ids_and_suppression_cycles(example_site: SiteConfig) -> None:
    text = """\
builtin: false
device_rules:
  - {id: a, kinds: [elevator], category: x, severity: minor, title: t,
     when: {state: {point: running, equals: false}}, suppressed_by: [b]}
  - {id: b, kinds: [elevator], category: x, severity: minor, title: t,
     when: {state: {point: running, equals: false}}, suppressed_by: [a]}
  - {id: a, kinds: [elevator], category: x, severity: minor, title: t,
     when: {state: {point: running, equals: false}}}
"""
    issues = _error(text, example_site)
    assert any("device_rules.2.id" in i and "used twice" in i and ":7:" in i for i in issues)
    cycle = text.rsplit("  - {id: a", 1)[0]
    issues = _error(cycle, example_site)
    assert any("suppression goes in a circle" in i and ":4:" in i for i in issues), issues


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file"):
        load_rules(tmp_path / "nope.yaml")
