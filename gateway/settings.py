"""What `estatewatch gateway` is told: flags, `EW_*` variables or a settings file
(`estatewatch.settings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from estatewatch.settings import CommonSettings


class GatewaySettings(CommonSettings):
    config: Path | None = Field(default=None, description="the site file")
    site_mqtt_url: str | None = Field(
        default=None,
        description="the site broker of sensors and handhelds (default: the central broker)",
        json_schema_extra={"flag": "--site-mqtt"},
    )
    http_port: int = Field(
        default=8090,
        ge=0,
        le=65535,
        description="POST /scans, /health and /metrics on this port (0: one the OS picks,"
        " announced in $EW_READY_FILE)",
    )
    http_host: str = Field(
        default="127.0.0.1",
        description="address to serve HTTP on; 0.0.0.0 lets handhelds on the site network sync",
    )
    buffer: Path | None = Field(
        default=None, description="the SQLite queue (default: the site's gateway.buffer_path)"
    )
    sync: Literal["full", "normal"] = Field(
        default="full",
        description="SQLite synchronous mode: full survives power loss, normal only a crash"
        " of the gateway",
    )
    drain_rate: float = Field(
        default=200.0, gt=0, description="messages per second a backlog drains at, beside live"
    )
    window: int = Field(
        default=100, ge=1, description="messages published and not yet acknowledged, at most"
    )
    central_nats: str | None = Field(
        default=None,
        description="a central side on NATS JetStream: every node's URL, comma-separated;"
        " telemetry then goes into the replicated stream by JetStream and leaves the queue"
        " only once stored (the rest stays on MQTT)",
        json_schema_extra={"flag": "--central-nats"},
    )
