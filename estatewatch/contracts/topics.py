"""The MQTT topic tree. Every component builds and parses topics here and nowhere else.

    ew/v1/{site}/gateway/{gateway}/state      GatewayState, retained; the gateway's last will
    ew/v1/{site}/gateway/{gateway}/health     GatewayHealth, periodic
    ew/v1/{site}/telemetry/{gateway}          TelemetryBatch (readings of one or more devices)
    ew/v1/{site}/status/{device}              DeviceStatus, retained (latest state per device)
    ew/v1/{site}/patrol/scan/{gateway}        PatrolScan, validated against the checkpoints
    ew/v1/{site}/patrol/exception/{gateway}   PatrolException (unknown tag, bad scan, ...)
    ew/v1/{site}/handheld/{handheld}/scan     HandheldScan, southbound: what a handheld sends
    ew/v1/{site}/alarm/{alarm_id}             AlarmEvent, from the rules engine
    ew/v1/{site}/alarm-command/{alarm_id}     AlarmCommand, to the rules engine (ack, close)
    ew/v1/{site}/workorder/{order_id}         WorkOrderEvent, from the API
    ew/v1/{site}/notification/{notification}  NotificationEvent, from the API's dispatcher
    ew/v1/{site}/incident/{incident_id}       IncidentEvent, from the API
    ew/v1/{site}/deadletter/{component}       DeadLetter: what a component could not use
    ew/v1/{site}/roster/{publisher}           DutyRoster, retained, from the API (edits)

`{site}`, `{gateway}` and `{device}` are config `Identifier`s, so they never contain ``/``,
``+`` or ``#``. Per-site prefixes let a broker ACL confine a gateway to its own site.

The tree is one table, `TOPICS` (kind, pattern, payload model, retained): the builders, the
subscription filters, `parse` and the kind → model map (`MODEL_BY_KIND`, `models`) are all
derived from it, so a new topic is one row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from estatewatch.contracts.payloads import (
    AlarmCommand,
    AlarmEvent,
    DeadLetter,
    DeviceStatus,
    GatewayHealth,
    GatewayState,
    HandheldScan,
    IncidentEvent,
    NotificationEvent,
    PatrolException,
    PatrolScan,
    Payload,
    TelemetryBatch,
    WorkOrderEvent,
)
from estatewatch.contracts.roster import DutyRoster

ROOT = "ew/v1"
ANY = "+"


@dataclass(frozen=True, slots=True)
class TopicKind:
    """One row of the topic tree: `pattern` is the topic below ``ew/v1/{site}/``, its
    variable parts in braces (the last one is what `TopicParts.key` holds)."""

    kind: str
    pattern: str
    model: type[Payload]
    retained: bool = False

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.pattern.split("/"))

    def topic(self, site: str, key: str) -> str:
        """The topic of `site` with the pattern's variable part set to `key`."""
        return f"{ROOT}/{site}/" + "/".join(key if _is_var(p) else p for p in self.parts)

    def filter(self, site: str = ANY) -> str:
        """The subscription filter for every topic of this kind in `site` (or every site)."""
        return self.topic(site, ANY)

    def match(self, rest: list[str]) -> str | None:
        """The key if `rest` (the levels below the site) is a topic of this kind."""
        if len(rest) != len(self.parts):
            return None
        key = None
        for level, part in zip(rest, self.parts, strict=True):
            if _is_var(part):
                key = level
            elif level != part:
                return None
        return key


def _is_var(part: str) -> bool:
    return part.startswith("{") and part.endswith("}")


TOPICS: Mapping[str, TopicKind] = {
    row.kind: row
    for row in (
        TopicKind("gateway_state", "gateway/{gateway}/state", GatewayState, retained=True),
        TopicKind("gateway_health", "gateway/{gateway}/health", GatewayHealth),
        TopicKind("telemetry", "telemetry/{gateway}", TelemetryBatch),
        TopicKind("device_status", "status/{device}", DeviceStatus, retained=True),
        TopicKind("patrol_scan", "patrol/scan/{gateway}", PatrolScan),
        TopicKind("patrol_exception", "patrol/exception/{gateway}", PatrolException),
        TopicKind("handheld_scan", "handheld/{handheld}/scan", HandheldScan),
        TopicKind("alarm", "alarm/{alarm_id}", AlarmEvent),
        TopicKind("alarm_command", "alarm-command/{alarm_id}", AlarmCommand),
        TopicKind("workorder", "workorder/{order_id}", WorkOrderEvent),
        TopicKind("notification", "notification/{notification_id}", NotificationEvent),
        TopicKind("incident", "incident/{incident_id}", IncidentEvent),
        TopicKind("deadletter", "deadletter/{component}", DeadLetter),
        TopicKind("roster", "roster/{publisher}", DutyRoster, retained=True),
    )
}
"""Kind → its row: the whole topic tree."""

MODEL_BY_KIND: Mapping[str, type[Payload]] = {k: row.model for k, row in TOPICS.items()}


def models(*kinds: str) -> dict[str, type[Payload]]:
    """The kind → model map of the kinds a component consumes (a KeyError for a kind the
    tree does not have, at import time)."""
    return {kind: TOPICS[kind].model for kind in kinds}


# --- builders ------------------------------------------------------------------------------


def gateway_state(site: str, gateway: str) -> str:
    return TOPICS["gateway_state"].topic(site, gateway)


def gateway_health(site: str, gateway: str) -> str:
    return TOPICS["gateway_health"].topic(site, gateway)


def telemetry(site: str, gateway: str) -> str:
    return TOPICS["telemetry"].topic(site, gateway)


def device_status(site: str, device: str) -> str:
    return TOPICS["device_status"].topic(site, device)


def patrol_scan(site: str, gateway: str) -> str:
    return TOPICS["patrol_scan"].topic(site, gateway)


def patrol_exception(site: str, gateway: str) -> str:
    return TOPICS["patrol_exception"].topic(site, gateway)


def handheld_scan(site: str, handheld: str) -> str:
    return TOPICS["handheld_scan"].topic(site, handheld)


def alarm(site: str, alarm_id: str) -> str:
    return TOPICS["alarm"].topic(site, alarm_id)


def alarm_command(site: str, alarm_id: str) -> str:
    return TOPICS["alarm_command"].topic(site, alarm_id)


def workorder(site: str, order_id: str) -> str:
    return TOPICS["workorder"].topic(site, order_id)


def notification(site: str, notification_id: str) -> str:
    return TOPICS["notification"].topic(site, notification_id)


def incident(site: str, incident_id: str) -> str:
    return TOPICS["incident"].topic(site, incident_id)


def deadletter(site: str, component: str) -> str:
    return TOPICS["deadletter"].topic(site, component)


def roster(site: str, publisher: str = "api") -> str:
    return TOPICS["roster"].topic(site, publisher)


# --- subscription filters ------------------------------------------------------------------


def shared(group: str, topic_filter: str) -> str:
    """A shared subscription: the broker hands each message to one member of `group`, so N
    instances split the stream with no code change (MQTT 5, Mosquitto >= 1.6)."""
    return f"$share/{group}/{topic_filter}"


def telemetry_filter(site: str = ANY) -> str:
    return TOPICS["telemetry"].filter(site)


def status_filter(site: str = ANY) -> str:
    return TOPICS["device_status"].filter(site)


def gateway_filter(site: str = ANY) -> str:
    """Both gateway topics (state and health)."""
    return f"{ROOT}/{site}/gateway/+/+"


def patrol_filter(site: str = ANY) -> str:
    """Both patrol topics (scans and exceptions)."""
    return f"{ROOT}/{site}/patrol/#"


def handheld_filter(site: str = ANY) -> str:
    return TOPICS["handheld_scan"].filter(site)


def alarm_filter(site: str = ANY) -> str:
    return TOPICS["alarm"].filter(site)


def alarm_command_filter(site: str = ANY) -> str:
    return TOPICS["alarm_command"].filter(site)


def workorder_filter(site: str = ANY) -> str:
    return TOPICS["workorder"].filter(site)


def deadletter_filter(site: str = ANY) -> str:
    return TOPICS["deadletter"].filter(site)


def roster_filter(site: str = ANY) -> str:
    return TOPICS["roster"].filter(site)


# --- parsing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicParts:
    """A contract topic taken apart: `kind` names the payload it carries."""

    site: str
    kind: str
    key: str
    """The last variable part: gateway, device, handheld, alarm id, component..."""


def parse(topic: str) -> TopicParts | None:
    """Take a contract topic apart; None for a topic outside the contract."""
    parts = topic.split("/")
    if len(parts) < 4 or f"{parts[0]}/{parts[1]}" != ROOT:
        return None
    site, rest = parts[2], parts[3:]
    for row in TOPICS.values():
        key = row.match(rest)
        if key is not None:
            return TopicParts(site, row.kind, key)
    return None
