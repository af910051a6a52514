"""Load the built-in rule pack and a rule file, check them against the sites, and merge
them into the rule set the engine runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from estatewatch.config.loader import parse_model
from estatewatch.config.site import SiteConfig
from estatewatch.errors import ConfigError, ConfigIssue
from rules import check
from rules.model import Defaults, DeviceRule, GroupRule, Override, PatrolRules, RuleFile

BUILTIN_NAME = "builtin.yaml"


def builtin_text() -> str:
    return resources.files("rules").joinpath(BUILTIN_NAME).read_text(encoding="utf-8")


def builtin_path() -> str:
    return str(Path(__file__).with_name(BUILTIN_NAME))


@dataclass(frozen=True)
class RuleSet:
    """The effective rules: the built-in pack as changed by a rule file."""

    device_rules: list[DeviceRule]
    group_rules: list[GroupRule]
    patrol: PatrolRules = field(default_factory=PatrolRules)
    defaults: Defaults = field(default_factory=Defaults)
    overrides: dict[tuple[str, str], list[Override]] = field(default_factory=dict)
    source: str = "builtin"

    def override(self, target: str, rule_id: str) -> list[Override]:
        return self.overrides.get((target, rule_id), [])

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.device_rules] + [r.id for r in self.group_rules]


def parse_rules(
    text: str | None,
    *,
    file: str = "<string>",
    sites: Sequence[SiteConfig] = (),
) -> RuleSet:
    """Parse a rule file's text (None: the built-in pack alone) into a checked RuleSet.
    Raises ConfigError naming the file, line and field of every problem."""
    base_text = builtin_text()
    base = parse_model(base_text, RuleFile, file=builtin_path())
    found = check.problems(base, builtin=None, sites=sites, check_points=False)
    if found:
        raise check.locate(base_text, builtin_path(), found)
    if text is None:
        return merge(base, None, source="builtin")
    user = parse_model(text, RuleFile, file=file)
    found = check.problems(user, builtin=base if user.builtin else None, sites=sites)
    if found:
        raise check.locate(text, file, found)
    return merge(base, user, source=file)


def load_rules(path: str | Path | None, *, sites: Sequence[SiteConfig] = ()) -> RuleSet:
    """Load a rule file from disk (None: the built-in pack)."""
    if path is None:
        return parse_rules(None, sites=sites)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [ConfigIssue(str(path), None, None, "", exc.strerror or str(exc))]
        ) from None
    return parse_rules(text, file=str(path), sites=sites)


def merge(base: RuleFile, user: RuleFile | None, *, source: str) -> RuleSet:
    if user is None:
        return RuleSet(
            base.device_rules, base.group_rules, base.patrol, base.defaults,
            _index(base.overrides), source,
        )  # fmt: skip
    device: dict[str, DeviceRule] = {}
    group: dict[str, GroupRule] = {}
    overrides: list[Override] = []
    if user.builtin:
        device = {r.id: r for r in base.device_rules}
        group = {r.id: r for r in base.group_rules}
        overrides = list(base.overrides)
    for rule_id in user.disable:
        device.pop(rule_id, None)
        group.pop(rule_id, None)
    device.update({r.id: r for r in user.device_rules})
    group.update({r.id: r for r in user.group_rules})
    overrides += user.overrides
    given = user.model_fields_set
    return RuleSet(
        list(device.values()),
        list(group.values()),
        user.patrol if "patrol" in given or not user.builtin else base.patrol,
        user.defaults if "defaults" in given or not user.builtin else base.defaults,
        _index(overrides),
        source,
    )


def _index(overrides: list[Override]) -> dict[tuple[str, str], list[Override]]:
    found: dict[tuple[str, str], list[Override]] = {}
    for item in overrides:
        found.setdefault((item.device, item.rule), []).append(item)
    return found
