"""Notification configuration of a site: channels, people, on-call rota, routing rules,
escalation chains, grouping and maintenance windows.

Secrets are never in the file: a channel names the environment variable that holds its
secret (`secret_ref`, `password_ref`, `key_ref`), read when the API starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from estatewatch.config.base import Identifier, StrictModel
from estatewatch.durations import Duration

EnvRef = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,127}$")]
"""The name of an environment variable holding a secret."""


class Language(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


class OnCallRole(StrEnum):
    DUTY_ENGINEER = "duty_engineer"  # 工程值班员
    ELEVATOR_MAINTAINER = "elevator_maintainer"  # 电梯维保
    ELECTRICIAN = "electrician"  # 电工
    SECURITY_LEAD = "security_lead"  # 保安队长
    SUPERVISOR = "supervisor"  # 主管
    QUALITY = "quality"  # 品质部


# --- channels ------------------------------------------------------------------------------


class WebhookChannel(StrictModel):
    """JSON POST; with `secret_ref`, header `X-EstateWatch-Signature: sha256=<hex>` is the
    HMAC-SHA256 of the exact body bytes under the secret."""

    type: Literal["webhook"]
    id: Identifier
    url: str
    secret_ref: EnvRef | None = None


class DingTalkChannel(StrictModel):
    """DingTalk group robot (钉钉自定义机器人), markdown, signed (加签) when `secret_ref`."""

    type: Literal["dingtalk"]
    id: Identifier
    url: str = Field(description="the robot's webhook URL with its access_token")
    secret_ref: EnvRef | None = None


class WeComChannel(StrictModel):
    """WeCom group robot (企业微信群机器人), markdown; the key in the URL is the secret."""

    type: Literal["wecom"]
    id: Identifier
    url: str = Field(description="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...")


class FeishuChannel(StrictModel):
    """Feishu/Lark custom bot (飞书自定义机器人), card with markdown, signed when `secret_ref`."""

    type: Literal["feishu"]
    id: Identifier
    url: str
    secret_ref: EnvRef | None = None


class SmtpChannel(StrictModel):
    """E-mail to each recipient's address."""

    type: Literal["smtp"]
    id: Identifier
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_ref: EnvRef | None = None
    sender: str
    timeout: Duration = timedelta(seconds=15)


class SmsChannel(StrictModel):
    """SMS through the site's provider's HTTP gateway. `body` is a JSON template whose string
    values may use {phone}, {text} and {key}; `headers` likewise."""

    type: Literal["sms"]
    id: Identifier
    url: str
    method: Literal["POST", "GET"] = "POST"
    body: dict[str, str] = Field(default_factory=lambda: {"to": "{phone}", "text": "{text}"})
    headers: dict[str, str] = Field(default_factory=dict)
    key_ref: EnvRef | None = None
    max_chars: int = Field(default=300, ge=70)


Channel = Annotated[
    WebhookChannel | DingTalkChannel | WeComChannel | FeishuChannel | SmtpChannel | SmsChannel,
    Field(discriminator="type"),
]

GROUP_CHANNELS = ("webhook", "dingtalk", "wecom", "feishu")
"""Channels that post to a group or endpoint: one delivery, whoever the recipients."""


# --- people and rota -----------------------------------------------------------------------


class Person(StrictModel):
    id: Identifier
    name: str
    role: OnCallRole
    language: Language = Language.ZH_CN
    phone: str | None = None
    email: str | None = None
    channels: list[Identifier] = Field(
        min_length=1, description="channels that reach this person, in order of preference"
    )


class OnCallEntry(StrictModel):
    """`person` holds `role` during `shift` (a site shift id) on `weekdays` (0 = Monday)."""

    role: OnCallRole
    person: Identifier
    shift: Identifier
    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4, 5, 6])


# --- routing and escalation ----------------------------------------------------------------


class EventKind(StrEnum):
    ALARM = "alarm"
    WORKORDER_CREATED = "workorder.created"
    WORKORDER_DISPATCHED = "workorder.dispatched"
    WORKORDER_SLA_WARNING = "workorder.sla_warning"
    WORKORDER_SLA_BREACHED = "workorder.sla_breached"
    WORKORDER_REOPENED = "workorder.reopened"
    WORKORDER_ESCALATED = "workorder.escalated"
    WORKORDER_NOTE = "workorder.note"
    WORKORDER_REJECTED = "workorder.rejected"
    WORKORDER_HANDED_BACK = "workorder.handed_back"


class Match(StrictModel):
    """Empty lists match anything."""

    events: list[EventKind] = Field(default=[EventKind.ALARM])
    severities: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list, description="alarm category prefixes")
    device_kinds: list[str] = Field(default_factory=list)
    buildings: list[Identifier] = Field(default_factory=list)


class RoutingRule(StrictModel):
    id: Identifier
    match: Match = Match()
    roles: list[OnCallRole] = Field(default_factory=list, description="whoever is on call")
    people: list[Identifier] = Field(default_factory=list)
    escalation: Identifier | None = Field(default=None, description="an escalation chain id")


class EscalationStep(StrictModel):
    """Notify `roles`/`people` when the alarm is still unacknowledged `after` its raise.
    Without `after`, the step comes one SLA urgent-response time (15 min) after the last."""

    after: Duration | None = None
    roles: list[OnCallRole] = Field(default_factory=list)
    people: list[Identifier] = Field(default_factory=list)


class EscalationChain(StrictModel):
    id: Identifier
    steps: list[EscalationStep] = Field(min_length=1)
    repeat: Duration | None = Field(
        default=None, description="after the last step, notify it again this often"
    )
    max_repeats: int = Field(default=3, ge=0, le=100)


class Grouping(StrictModel):
    """Notifications for one recipient and channel collected for `window` go as one message
    (an outage that trips forty alarms sends one message with forty lines); at most
    `max_messages_per_hour` per recipient and channel, the rest wait for the next slot."""

    window: Duration = timedelta(seconds=30)
    max_lines: int = Field(default=50, ge=1, le=500)
    max_messages_per_hour: int = Field(default=30, ge=1)


class MaintenanceWindow(StrictModel):
    """Alarms of `device` (or of a whole `building`) notify nobody from `start` to `end`."""

    device: Identifier | None = None
    building: Identifier | None = None
    start: datetime
    end: datetime
    reason: str = ""

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.device is None and self.building is None:
            raise ValueError("a maintenance window names a device or a building")
        if self.end <= self.start:
            raise ValueError("a maintenance window ends after it starts")
        return self


class NotifyConfig(StrictModel):
    dashboard_url: str = Field(default="http://localhost:8000", description="links in messages")
    channels: list[Channel] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    oncall: list[OnCallEntry] = Field(default_factory=list)
    routes: list[RoutingRule] = Field(default_factory=list)
    escalations: list[EscalationChain] = Field(default_factory=list)
    grouping: Grouping = Grouping()
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    retry_backoff: Duration = timedelta(seconds=5)
    max_attempts: int = Field(default=8, ge=1, le=50)

    @model_validator(mode="after")
    def _references(self) -> Self:
        channels = {c.id for c in self.channels}
        people = {p.id for p in self.people}
        chains = {c.id for c in self.escalations}
        problems: list[str] = []
        for person in self.people:
            for c in person.channels:
                if c not in channels:
                    problems.append(f"people {person.id}: unknown channel {c!r}")
        for entry in self.oncall:
            if entry.person not in people:
                problems.append(f"oncall: unknown person {entry.person!r}")
        for rule in self.routes:
            unknown = [p for p in rule.people if p not in people]
            problems += [f"routes {rule.id}: unknown person {p!r}" for p in unknown]
            if rule.escalation and rule.escalation not in chains:
                problems.append(f"routes {rule.id}: unknown escalation {rule.escalation!r}")
        for chain in self.escalations:
            for step in chain.steps:
                unknown = [p for p in step.people if p not in people]
                problems += [f"escalations {chain.id}: unknown person {p!r}" for p in unknown]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def person(self, person_id: str) -> Person:
        for person in self.people:
            if person.id == person_id:
                return person
        raise KeyError(person_id)

    def channel(self, channel_id: str) -> Channel:
        for channel in self.channels:
            if channel.id == channel_id:
                return channel
        raise KeyError(channel_id)

    def chain(self, chain_id: str) -> EscalationChain:
        for chain in self.escalations:
            if chain.id == chain_id:
                return chain
        raise KeyError(chain_id)
