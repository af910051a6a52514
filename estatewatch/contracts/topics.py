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

`{site}`, `{gateway}` and `{device}` are config `Identifier`s, so they never contain ``/``,
``+`` or ``#``. Per-site prefixes let a broker ACL confine a gateway to its own site.
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT = "ew/v1"


def gateway_state(site: str, gateway: str) -> str:
    return f"{ROOT}/{site}/gateway/{gateway}/state"


def gateway_health(site: str, gateway: str) -> str:
    return f"{ROOT}/{site}/gateway/{gateway}/health"


def telemetry(site: str, gateway: str) -> str:
    return f"{ROOT}/{site}/telemetry/{gateway}"


def device_status(site: str, device: str) -> str:
    return f"{ROOT}/{site}/status/{device}"


def patrol_scan(site: str, gateway: str) -> str:
    return f"{ROOT}/{site}/patrol/scan/{gateway}"


def patrol_exception(site: str, gateway: str) -> str:
    return f"{ROOT}/{site}/patrol/exception/{gateway}"


def handheld_scan(site: str, handheld: str) -> str:
    return f"{ROOT}/{site}/handheld/{handheld}/scan"


def alarm(site: str, alarm_id: str) -> str:
    return f"{ROOT}/{site}/alarm/{alarm_id}"


def alarm_command(site: str, alarm_id: str) -> str:
    return f"{ROOT}/{site}/alarm-command/{alarm_id}"


def workorder(site: str, order_id: str) -> str:
    return f"{ROOT}/{site}/workorder/{order_id}"


def notification(site: str, notification_id: str) -> str:
    return f"{ROOT}/{site}/notification/{notification_id}"


def incident(site: str, incident_id: str) -> str:
    return f"{ROOT}/{site}/incident/{incident_id}"


def deadletter(site: str, component: str) -> str:
    return f"{ROOT}/{site}/deadletter/{component}"


# --- subscription filters ------------------------------------------------------------------

ANY = "+"


def telemetry_filter(site: str = ANY) -> str:
    return f"{ROOT}/{site}/telemetry/+"


def shared(group: str, topic_filter: str) -> str:
    """A shared subscription: the broker hands each message to one member of `group`, so N
    instances split the stream with no code change (MQTT 5, Mosquitto >= 1.6)."""
    return f"$share/{group}/{topic_filter}"


def status_filter(site: str = ANY) -> str:
    return f"{ROOT}/{site}/status/+"


def gateway_filter(site: str = ANY) -> str:
    return f"{ROOT}/{site}/gateway/+/+"


def patrol_filter(site: str = ANY) -> str:
    return f"{ROOT}/{site}/patrol/#"


def handheld_filter(site: str = ANY) -> str:
    return f"{ROOT}/{site}/handheld/+/scan"


def alarm_filter(site: str = ANY) -> str:
    return f"{ROOT}/{site}/alarm/+"


def alarm_command_filter(site: str = ANY) -> str:
    return f"{ROOT}/{site}/alarm-command/+"


def workorder_filter(site: str = ANY) -> str:
    return f"{ROOT}/{site}/workorder/+"


def deadletter_filter(site: str = ANY) -> str:
    return f"{ROOT}/{site}/deadletter/+"


# --- parsing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicParts:
    """A contract topic taken apart: `kind` names the payload it carries."""

    site: str
    kind: str
    key: str
    """The last variable part: gateway, device, handheld, alarm id, component..."""


_KINDS = {
    ("gateway", 4, "state"): "gateway_state",
    ("gateway", 4, "health"): "gateway_health",
    ("telemetry", 3, None): "telemetry",
    ("status", 3, None): "device_status",
    ("handheld", 4, "scan"): "handheld_scan",
    ("alarm", 3, None): "alarm",
    ("alarm-command", 3, None): "alarm_command",
    ("workorder", 3, None): "workorder",
    ("notification", 3, None): "notification",
    ("incident", 3, None): "incident",
    ("deadletter", 3, None): "deadletter",
}


def parse(topic: str) -> TopicParts | None:
    """Take a contract topic apart; None for a topic outside the contract."""
    parts = topic.split("/")
    if len(parts) < 4 or f"{parts[0]}/{parts[1]}" != ROOT:
        return None
    site, section, rest = parts[2], parts[3], parts[4:]
    if section == "patrol" and len(rest) == 2 and rest[0] in ("scan", "exception"):
        return TopicParts(site, f"patrol_{rest[0]}", rest[1])
    for (name, length, suffix), kind in _KINDS.items():
        if section != name or len(parts) != length + 2:
            continue
        if suffix is None:
            return TopicParts(site, kind, parts[4])
        if parts[5] == suffix:
            return TopicParts(site, kind, parts[4])
    return None
