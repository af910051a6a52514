"""The rule file, as pydantic models (unknown keys are errors).

A rule file holds templates per device kind (`device_rules`), rules across devices
(`group_rules`), per-device `overrides`, and the `patrol` rule settings. See docs/rules.md
for the format and rules/builtin.yaml for the shipped pack.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from estatewatch.config.base import PointName
from estatewatch.config.devices import DeviceKind, SensorType
from estatewatch.config.names import Bilingual
from estatewatch.contracts.payloads import DeviceState, Scalar, Severity
from estatewatch.durations import Duration
from rules import levels

MAX_TITLE = 200
MAX_MESSAGE = 1000

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$")]
"""``pump.dry_run``: dotted, lower case."""


def _check_level(value: float | str) -> float | str:
    levels.parse(value)
    return value


Level = Annotated[float | str, AfterValidator(_check_level)]
"""A number or an expression over device attributes and ``$params``."""


class RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- conditions ------------------------------------------------------------------------------


class Threshold(RuleModel):
    """Active when the value goes above `above` (or below `below`); it stays active until
    the value is back by `deadband` (hysteresis): above: on at v > above, off at
    v <= above - deadband; below: on at v < below, off at v >= below + deadband."""

    point: PointName
    above: Level | None = None
    below: Level | None = None
    deadband: Level = 0.0

    @model_validator(mode="after")
    def _one_side(self) -> Self:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        return self


class Rate(RuleModel):
    """Active when the value rose (or fell) by at least `rise` (`fall`) within `within`."""

    point: PointName
    within: Duration
    rise: Level | None = None
    fall: Level | None = None

    @model_validator(mode="after")
    def _one_side(self) -> Self:
        if (self.rise is None) == (self.fall is None):
            raise ValueError("give exactly one of rise or fall")
        if self.within <= timedelta(0):
            raise ValueError("within must be positive")
        return self


class State(RuleModel):
    """Active when the point's value is (or is not) one of the given values. For coded
    points (fault codes) the register map's `enum` text goes into the alarm message."""

    point: PointName
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    not_in: list[Scalar] | None = Field(default=None, min_length=1)
    explicit: bool = Field(
        default=False,
        description="the device's own fault report (a fault code): when the rule holds through"
        " this test it raises at once; `for` holds only inferred conditions",
    )

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        given = [x for x in (self.equals, self.in_, self.not_in) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, in or not_in")
        return self


class Stale(RuleModel):
    """Deadman: active when the device sent no good reading for `after`."""

    after: Duration


class Status(RuleModel):
    """Active when the gateway reports the device in one of these states."""

    in_: list[DeviceState] = Field(alias="in", min_length=1)


class Condition(RuleModel):
    """Exactly one of: a leaf (threshold, rate, state, stale, status) or a combination
    (all, any, not) of conditions on the points of one device."""

    threshold: Threshold | None = None
    rate: Rate | None = None
    state: State | None = None
    stale: Stale | None = None
    status: Status | None = None
    all_: list[Condition] | None = Field(default=None, alias="all", min_length=1)
    any_: list[Condition] | None = Field(default=None, alias="any", min_length=1)
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "a condition is exactly one of threshold, rate, state, stale, status, all,"
                f" any, not (got {len(given)})"
            )
        return self


# --- timing and schedules --------------------------------------------------------------------


class Count(RuleModel):
    """Fire when the condition became true `times` times within `within`."""

    times: int = Field(ge=2)
    within: Duration


class ActiveWindow(RuleModel):
    """The rule is evaluated only inside these local times (site timezone). `end` earlier
    than `start` crosses midnight; `days` are ISO weekdays from 0 = Monday of the start."""

    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(default=[0, 1, 2, 3, 4, 5, 6])
    start: time
    end: time


class Timing(RuleModel):
    for_: Duration = Field(default=timedelta(0), alias="for")
    count: Count | None = None
    clear_for: Duration = timedelta(0)
    schedule: list[ActiveWindow] | None = None

    @model_validator(mode="after")
    def _for_or_count(self) -> Self:
        if self.count is not None and self.for_ > timedelta(0):
            raise ValueError("give for or count, not both")
        return self


# --- rules ---------------------------------------------------------------------------------


class RuleBase(Timing):
    id: RuleId
    kinds: list[DeviceKind] = Field(min_length=1)
    sensor_types: list[SensorType] | None = None
    category: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    severity: Severity
    title: Bilingual = Field(description="a plain string, or {zh: ..., en: ...}")
    message: Bilingual = Bilingual(zh="", en="")
    when: Condition
    params: dict[Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$")], float] = {}
    value_point: PointName | None = Field(
        default=None, description="the point whose value the alarm carries (default: first)"
    )
    figures: dict[Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$")], Level] = Field(
        default={},
        description="named figures for {name} in the title and message, worked out when "
        "the alarm is raised: arithmetic over the device's points, attributes and $params",
    )
    enabled: bool = True

    @model_validator(mode="after")
    def _text_lengths(self) -> Self:
        for text in (self.title.zh, self.title.en):
            if not 1 <= len(text) <= MAX_TITLE:
                raise ValueError(f"a title has 1 to {MAX_TITLE} characters in each language")
        for text in (self.message.zh, self.message.en):
            if len(text) > MAX_MESSAGE:
                raise ValueError(f"a message has at most {MAX_MESSAGE} characters")
        return self


class DeviceRule(RuleBase):
    """A template: applies to every device of `kinds` (and `sensor_types`, for sensors)."""

    suppressed_by: list[RuleId] = Field(
        default=[], description="not raised while one of these is true on the same device"
    )


class GroupRule(RuleBase):
    """Across devices: `when` is tested on each member; the group is in alarm when `require`
    members are (all, any, or a number)."""

    group_by: Literal["site", "building", "room"] = "building"
    require: Literal["all", "any"] | Annotated[int, Field(ge=1)] = "all"
    min_members: int = Field(default=2, ge=1)


class Override(RuleModel):
    """Changes one rule for one device (or a group target such as ``t1:elevator``)."""

    device: Annotated[str, StringConstraints(min_length=1, max_length=140)]
    rule: RuleId
    enabled: bool | None = None
    severity: Severity | None = None
    for_: Duration | None = Field(default=None, alias="for")
    clear_for: Duration | None = None
    params: dict[str, float] = {}
    schedule: list[ActiveWindow] | None = None


class PatrolRule(RuleModel):
    enabled: bool = True
    severity: Severity
    hold: Duration | None = Field(
        default=None, description="momentary alarms: active this long without recurrence"
    )


def _patrol(severity: Severity) -> PatrolRule:
    return PatrolRule(severity=severity)


class PatrolRules(RuleModel):
    """The patrol rules; silent_guard uses the site's SlaPolicy.guard_report_interval."""

    missed_checkpoint: PatrolRule = _patrol(Severity.MAJOR)
    late_scan: PatrolRule = _patrol(Severity.MINOR)
    out_of_order: PatrolRule = _patrol(Severity.MINOR)
    silent_guard: PatrolRule = _patrol(Severity.MAJOR)
    impossible_transit: PatrolRule = _patrol(Severity.MAJOR)
    unknown_tag: PatrolRule = _patrol(Severity.MAJOR)
    bad_signature: PatrolRule = _patrol(Severity.CRITICAL)
    replay: PatrolRule = _patrol(Severity.CRITICAL)
    cloned_tag: PatrolRule = _patrol(Severity.CRITICAL)
    bad_scan: PatrolRule = _patrol(Severity.WARNING)
    missed_grace: Duration = Field(
        default=timedelta(0), description="wait this long after a window ends before 'missed'"
    )
    late_grace: Duration = Field(
        default=timedelta(minutes=60), description="a scan this long after its window is late"
    )
    hold: Duration = Field(
        default=timedelta(minutes=15), description="default hold of momentary alarms"
    )


class Defaults(RuleModel):
    flap_count: int = Field(default=4, ge=2, description="re-raises within flap_window")
    flap_window: Duration = timedelta(minutes=10)
    flap_quiet: Duration = Field(
        default=timedelta(minutes=5), description="a flapping alarm clears after this quiet"
    )


class RuleFile(RuleModel):
    """A rule file. With `builtin: true` it extends the shipped pack: its rules replace
    built-in rules of the same id, `disable` turns built-in rules off."""

    version: Literal[1] = 1
    builtin: bool = True
    defaults: Defaults = Defaults()
    device_rules: list[DeviceRule] = []
    group_rules: list[GroupRule] = []
    overrides: list[Override] = []
    disable: list[RuleId] = []
    patrol: PatrolRules = PatrolRules()
