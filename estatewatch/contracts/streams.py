"""The JetStream side of the contract: where MQTT topics land in NATS, the stream that keeps
them, and the durable consumers the central side reads it with.

NATS's MQTT listener maps a topic to a subject level for level (``/`` → ``.``), so

    ew/v1/{site}/telemetry/{gateway}       →  ew.v1.{site}.telemetry.{gateway}
    ew/v1/{site}/status/{device}           →  ew.v1.{site}.status.{device}
    ew/v1/{site}/gateway/{gateway}/health  →  ew.v1.{site}.gateway.{gateway}.health

and the estate is the third token of every subject: a consumer filtered on
`estate_filter(site)` reads one estate, i.e. the estate is the partition key. Config
`Identifier`s hold no ``.``, ``*`` or ``>``, so the mapping is exact both ways.
"""

from __future__ import annotations

from estatewatch.contracts import topics

TELEMETRY_STREAM = "EW_TELEMETRY"
"""Every gateway's telemetry, device status and health, replicated across the cluster."""

INGEST_CONSUMER = "ingest"
"""The durable pull consumer every ingest instance shares: each message goes to one of
them and stays pending until that instance acknowledges it (after InfluxDB took it)."""

RULES_STATE_BUCKET = "ew_rules_state"
"""The KV bucket holding each estate's rule state and open alarms (`rules_state_key`)."""

RULES_LEASE_BUCKET = "ew_rules_leases"
"""The KV bucket whose keys say which rules instance holds an estate (with a TTL)."""


def subject(topic: str) -> str:
    """The NATS subject an MQTT topic of the contract is published on."""
    return topic.replace("/", ".")


def topic(subject_: str) -> str:
    """The MQTT topic of a NATS subject (the inverse of `subject`)."""
    return subject_.replace(".", "/")


def telemetry_subjects(site: str = "*") -> list[str]:
    """The stream's subjects (every estate), or one estate's (`site`)."""
    return [
        subject(topics.telemetry_filter(site)).replace("+", "*"),
        subject(topics.status_filter(site)).replace("+", "*"),
        subject(topics.gateway_health(site, topics.ANY)).replace("+", "*"),
    ]


def subject_filter(topic_filter: str) -> str:
    """The NATS subject filter of an MQTT topic filter (``+`` → ``*``, ``#`` → ``>``)."""
    return subject(topic_filter).replace("+", "*").replace("#", ">")


def estate_filter(site: str) -> str:
    """Everything of one estate: a partition."""
    return f"ew.v1.{site}.>"


def site_of(subject_: str) -> str | None:
    """The estate a subject belongs to (its partition), None outside the contract."""
    parts = subject_.split(".")
    return parts[2] if len(parts) > 3 and parts[:2] == ["ew", "v1"] else None


def rules_instance_key(name: str) -> str:
    """The key of `RULES_LEASE_BUCKET` a live rules instance keeps fresh (its heartbeat);
    the other keys are estates."""
    return f"instance.{name}"


def rules_filter(site: str) -> str:
    """What an estate's rules consumer reads: its telemetry (nats-server 2.9 takes one
    filter per consumer, a subset of one of the stream's subjects)."""
    return subject(topics.telemetry_filter(site)).replace("+", "*")
