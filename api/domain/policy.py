"""Which work order an alarm or a patrol finding becomes: trade, department, urgency.

A site's `DispatchPolicy` is an ordered list of rules; the first that matches an alarm's
category, severity and device kind decides. Without a policy file the built-in one applies:
entrapment → elevator, urgent; burst pipe, outage, fire, smoke → urgent (domain.md); other
critical alarms urgent; warnings make no order.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from estatewatch.config.base import Identifier, StrictModel
from estatewatch.config.devices import DeviceKind
from estatewatch.contracts.payloads import AlarmEvent, FindingPriority, Severity, Trade, Urgency

TRADE_OF_DEVICE: dict[DeviceKind, Trade] = {
    DeviceKind.ELEVATOR: Trade.ELEVATOR,
    DeviceKind.FIRE_PUMP: Trade.FIRE,
    DeviceKind.WATER_PUMP_SET: Trade.WATER_ELECTRIC,
    DeviceKind.POWER_ROOM: Trade.WATER_ELECTRIC,
    DeviceKind.GENERATOR: Trade.WATER_ELECTRIC,
    DeviceKind.FIRE_PANEL: Trade.FIRE,
    DeviceKind.SENSOR: Trade.INTELLIGENT,
    DeviceKind.ENERGY_METER: Trade.WATER_ELECTRIC,
    DeviceKind.AIR_HANDLER: Trade.WATER_ELECTRIC,  # HVAC is the 水电 (M&E) team's
    DeviceKind.CHILLER: Trade.WATER_ELECTRIC,
}

TRADE_OF_CHECKPOINT: dict[str, Trade] = {
    "public_area": Trade.CIVIL,
    "equipment_room": Trade.WATER_ELECTRIC,
    "fire_facility": Trade.FIRE,
    "elevator": Trade.ELEVATOR,
    "power_room": Trade.WATER_ELECTRIC,
    "perimeter": Trade.SECURITY,
}

DEPARTMENT_OF_TRADE: dict[Trade, str] = {
    Trade.SECURITY: "security",
    Trade.CLEANING: "cleaning",
}


def department_of(trade: Trade) -> str:
    return DEPARTMENT_OF_TRADE.get(trade, "engineering")


class DispatchRule(StrictModel):
    """Matches alarms whose fields are in every non-empty list; decides their order."""

    categories: list[str] = Field(default_factory=list)
    severities: list[Severity] = Field(default_factory=list)
    device_kinds: list[DeviceKind] = Field(default_factory=list)
    create: bool = Field(default=True, description="false: matching alarms make no order")
    trade: Trade | None = Field(default=None, description="None: from the device kind")
    department: str | None = Field(default=None, description="None: from the trade")
    urgency: Urgency = Urgency.GENERAL

    def matches(self, event: AlarmEvent) -> bool:
        return (
            (not self.categories or event.category in self.categories)
            and (not self.severities or event.severity in self.severities)
            and (not self.device_kinds or event.device_kind in self.device_kinds)
        )


FIRE_CATEGORIES = ["fire", "fire_alarm", "smoke"]
URGENT_CATEGORIES = ["pipe_burst", "outage", "power_outage", "water_outage"]

DEFAULT_RULES = [
    DispatchRule(categories=["entrapment"], trade=Trade.ELEVATOR, urgency=Urgency.URGENT),
    DispatchRule(categories=FIRE_CATEGORIES, trade=Trade.FIRE, urgency=Urgency.URGENT),
    DispatchRule(categories=URGENT_CATEGORIES, urgency=Urgency.URGENT),
    DispatchRule(severities=[Severity.WARNING], create=False),
    DispatchRule(severities=[Severity.CRITICAL], urgency=Urgency.URGENT),
    DispatchRule(),
]


class DispatchPolicy(StrictModel):
    rules: list[DispatchRule] = Field(default_factory=lambda: list(DEFAULT_RULES))


class DispatchPolicies(StrictModel):
    """The policy file: a default and per-site overrides."""

    default: DispatchPolicy = DispatchPolicy()
    sites: dict[Identifier, DispatchPolicy] = Field(default_factory=dict)

    def for_site(self, site: str) -> DispatchPolicy:
        return self.sites.get(site, self.default)


@dataclass(frozen=True, slots=True)
class Classification:
    trade: Trade
    department: str
    urgency: Urgency


def report_categories(policy: DispatchPolicy) -> list[str]:
    """The categories an order opened by hand may carry: every category a rule names."""
    return sorted({c for rule in policy.rules for c in rule.categories})


def classify_report(policy: DispatchPolicy, category: str) -> DispatchRule | None:
    """The rule that decides an alarm of `category` whatever its severity or device (the
    first rule naming the category), so a phoned-in entrapment gets an alarm-born
    entrapment's trade and urgency; None for a category no rule names."""
    return next((r for r in policy.rules if category in r.categories), None)


URGENCY_RANK = {Urgency.GENERAL: 0, Urgency.URGENT: 1}


def is_lowering(before: Urgency, after: Urgency) -> bool:
    return URGENCY_RANK[after] < URGENCY_RANK[before]


def classify_alarm(policy: DispatchPolicy, event: AlarmEvent) -> Classification | None:
    """The order an alarm becomes, or None when the policy says it makes none."""
    rule = next((r for r in policy.rules if r.matches(event)), None)
    if rule is None or not rule.create:
        return None
    trade = rule.trade or _trade_of(event)
    return Classification(trade, rule.department or department_of(trade), rule.urgency)


def _trade_of(event: AlarmEvent) -> Trade:
    if event.device_kind is not None:
        return TRADE_OF_DEVICE[event.device_kind]
    if event.target_kind in ("checkpoint", "route", "guard", "handheld"):
        return Trade.SECURITY
    return Trade.INTELLIGENT


def classify_finding(
    checkpoint_category: str, priority: FindingPriority, *, coordination: str = "management"
) -> Classification:
    """A finding's trade follows where it was found; an immediate one is urgent (1 h fix);
    one that needs coordination (需协调) goes to the named `coordination` department."""
    trade = TRADE_OF_CHECKPOINT.get(checkpoint_category, Trade.CIVIL)
    urgency = Urgency.URGENT if priority is FindingPriority.IMMEDIATE else Urgency.GENERAL
    department = department_of(trade)
    if priority is FindingPriority.NEEDS_COORDINATION:
        department = coordination
    return Classification(trade, department, urgency)
