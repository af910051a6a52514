"""Everything an ingest instance is told, in one frozen object built by the CLI (or a test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr

from estatewatch.contracts import topics
from estatewatch.durations import Duration
from estatewatch.jetstream import JetStreamSettings
from estatewatch.mqtt import MqttSettings
from estatewatch.readings.schema import Retention
from estatewatch.settings import CommonSettings
from ingest.batch import BatchLimits
from ingest.retry import Backoff
from ingest.sinks import SinkSettings

DEFAULT_GROUP: str | None = None
"""One instance subscribes plainly by default: Mosquitto 2.0 does not restore a shared
subscription from its persistence file, so after a broker restart the messages published
before the instance reconnects would reach nobody (tests/reliability found it). A plain
persistent subscription is restored and queues them."""


@dataclass(frozen=True)
class IngestSettings:
    mqtt: MqttSettings
    """Must have `manual_ack=True`, `clean_start=False` and a session expiry: see `mqtt_for`."""
    sink: str = "v1"
    source: str = "mqtt"
    """``mqtt`` (the broker's topics) or ``jetstream`` (the cluster's telemetry stream
    through the shared durable consumer; `jetstream` says where)."""
    jetstream: JetStreamSettings | None = None
    influx: SinkSettings = field(default_factory=SinkSettings)
    group: str | None = DEFAULT_GROUP
    """Shared-subscription group: instances in one group split the stream. None (the
    default) subscribes plainly: one instance, and nothing lost across a broker restart."""
    limits: BatchLimits = field(default_factory=BatchLimits)
    queued_batches: int = 1
    """Sealed batches waiting while one is written: the next batch is built during a POST."""
    backoff: Backoff = field(default_factory=Backoff)
    retention: Retention = field(default_factory=Retention)
    setup: bool = True
    """Create the database, retention policies and rollups at start (v1 flavour only)."""
    setup_timeout: float = 60.0
    drain_timeout: float = 10.0
    """At shutdown, how long to go on writing what was received (the rest is redelivered)."""

    def __post_init__(self) -> None:
        m = self.mqtt
        if not m.manual_ack or m.clean_start:
            raise ValueError("ingest needs manual_ack=True and clean_start=False (at-least-once)")
        in_memory = self.limits.max_messages * (self.queued_batches + 2)
        if in_memory > m.max_inflight:
            raise ValueError(
                f"batches of {self.limits.max_messages} messages x {self.queued_batches + 2}"
                f" (open, queued, writing) exceed the {m.max_inflight} unacknowledged messages"
                " the broker will send: lower max_messages or raise max_inflight"
            )

    def subscriptions(self) -> list[str]:
        filters = [
            topics.telemetry_filter(),
            topics.status_filter(),
            topics.gateway_health(topics.ANY, topics.ANY),
        ]
        if self.group is None or self.mqtt.version != 5:
            return filters
        return [topics.shared(self.group, f) for f in filters]


def mqtt_for(
    url: str,
    client_id: str,
    *,
    session_expiry: int = 86_400,
    max_inflight: int = 1000,
) -> MqttSettings:
    """MQTT settings for at-least-once ingest: QoS 1 acknowledged only after InfluxDB took
    the batch, and a persistent session, so what a crashed instance had not acknowledged is
    delivered again when it returns (with the same client id)."""
    return MqttSettings(
        url=url,
        client_id=client_id,
        clean_start=False,
        session_expiry=session_expiry,
        manual_ack=True,
        max_inflight=max_inflight,
        receive_queue=max(max_inflight * 2, 1000),
    )


def limits_for(
    mqtt: MqttSettings,
    *,
    queued_batches: int = 1,
    max_lines: int = 5000,
    max_bytes: int = 8 * 1024 * 1024,
    max_age: float = 1.0,
) -> BatchLimits:
    """Batch limits whose message count fits the broker's window of unacknowledged messages
    (the open batch, the queued ones and the one being written)."""
    return BatchLimits(
        max_lines=max_lines,
        max_bytes=max_bytes,
        max_messages=max(1, mqtt.max_inflight // (queued_batches + 2)),
        max_age=max_age,
    )


class IngestOptions(CommonSettings):
    """What `estatewatch ingest` is told (flags, `EW_*`, a settings file); `ingest.cli`
    turns it into the `IngestSettings` the service runs on."""

    client_id: str | None = Field(
        default=None, description="stable per instance (default: ew-ingest-HOST)"
    )
    group: str | None = Field(
        default=None,
        description="shared-subscription group, to split the load across instances (default:"
        " none, one instance: see docs/ingest.md on broker restarts)",
    )
    session_expiry: Duration = Field(
        default=timedelta(days=1),
        description="how long the broker keeps queueing for a stopped instance",
    )
    max_inflight: int = Field(
        default=1000,
        ge=1,
        description="unacknowledged messages the broker may send (bounds memory)",
    )
    source: Literal["mqtt", "jetstream"] = Field(
        default="mqtt",
        description="read the broker's topics (mqtt) or a NATS JetStream cluster's telemetry"
        " stream through the durable consumer all instances share (jetstream)",
    )
    nats: str = Field(
        default="nats://127.0.0.1:4222",
        description="the JetStream cluster's nodes, comma-separated (--source jetstream)",
    )
    ack_wait: Duration = Field(
        default=timedelta(seconds=30),
        description="how long a message read by an instance that died waits before another"
        " instance gets it (--source jetstream)",
    )
    replicas: int = Field(
        default=3, ge=1, le=5, description="copies of the stream kept (--source jetstream)"
    )
    influx_url: str = Field(default="http://127.0.0.1:8086", description="InfluxDB")
    influx_db: str = Field(default="estatewatch", description="v1 API database")
    influx_rp: str | None = Field(default=None, description="raw retention policy (default raw)")
    influx_user: str | None = Field(
        default=None, description="v1 user (password: EW_INFLUX_PASSWORD)"
    )
    influx_password: SecretStr | None = Field(default=None, description="v1 password")
    influx_org: str | None = Field(default=None, description="v2 API (token: EW_INFLUX_TOKEN)")
    influx_bucket: str | None = Field(default=None, description="v2 API bucket")
    influx_token: SecretStr | None = Field(default=None, description="v2 (or 2.x/3.x v1) token")
    sqlite: str | None = Field(
        default=None,
        description="write into this SQLite file instead of InfluxDB (embedded store, no server)",
    )
    batch_lines: int = Field(default=5000, ge=1, description="points per write")
    flush_interval: Duration = Field(
        default=timedelta(seconds=1), description="longest a point waits for its batch"
    )
    gzip_level: int = Field(
        default=0,
        ge=0,
        le=9,
        description="compress writes (0: off, the faster choice on one host or a LAN)",
    )
    raw_retention: Duration = Field(
        default=timedelta(days=30), description="raw points kept (InfluxDB 1.x and --sqlite)"
    )
    rollup_retention: Duration = Field(
        default=timedelta(days=730), description="1-minute rollups kept (InfluxDB 1.x)"
    )
    no_rollups: bool = Field(default=False, description="no 1-minute rollup policy")
    no_setup: bool = Field(
        default=False,
        description="do not create the database, policies and rollups (non-admin user)",
    )


SECRETS = ("influx_password", "influx_token")
"""Settings never given as flags: a command line is visible to every user of the host."""
