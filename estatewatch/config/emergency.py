"""Emergency plans (应急预案): per type of emergency, what starts it, the checklist with the
role that owns each step, who to notify, and the owners' notice template."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from estatewatch.config.base import Identifier, StrictModel
from estatewatch.config.names import LocalizedName
from estatewatch.config.notify import OnCallRole


class EmergencyType(StrEnum):
    FIRE = "fire"
    FLOOD = "flood"
    POWER_OUTAGE = "power_outage"
    WATER_OUTAGE = "water_outage"
    ELEVATOR_ENTRAPMENT = "elevator_entrapment"
    GAS = "gas"


class PlanStep(StrictModel):
    id: Identifier
    text: str = Field(description="what to do, in the site's language")
    text_en: str = ""
    role: OnCallRole


class PlanTrigger(StrictModel):
    """An alarm starts the plan when its category starts with one of `categories` (and, if
    given, its severity is one of `severities`)."""

    categories: list[str] = Field(min_length=1)
    severities: list[str] = Field(default_factory=list)


class EmergencyPlan(StrictModel):
    id: Identifier
    type: EmergencyType
    name: LocalizedName
    triggers: list[PlanTrigger] = Field(default_factory=list)
    steps: list[PlanStep] = Field(min_length=1)
    notify_roles: list[OnCallRole] = Field(default_factory=list)
    notify_people: list[Identifier] = Field(default_factory=list)
    owners_notice: dict[str, str] = Field(
        default_factory=dict,
        description="per language (zh-CN, en): a template with {building}, {start}, {end}, "
        "{site}, {what}",
    )
