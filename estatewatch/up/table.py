"""The parts of `estatewatch up`, as a table: what each runs, the settings it is given (the
field names of that component's settings class: `SimulatorSettings`, `IngestOptions`,
`GatewaySettings`, `RulesSettings`, the API's `Settings`), what it announces, how its health
is checked, and the line the banner gives it. Started top to bottom; stopped bottom up.

Every server is given port 0 and announces the port it got (`estatewatch.ready`), except the
API's, which is the user's `--port`; later rows read earlier rows' ports from `Plan.started`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from estatewatch.config import SiteConfig
from estatewatch.up.demo import device_ports
from estatewatch.up.runner import Child

ANY_PORT = 0


@dataclass
class Plan:
    """What the table is filled from: the user's choices and what is already running."""

    site: SiteConfig
    site_file: Path
    api_site_file: Path  # the site with its notification channels led to the receiver
    data_dir: Path
    mqtt_url: str
    api_port: int
    seed: int = 1
    influx_url: str | None = None
    simulate: bool = True
    receiver_url: str | None = None  # the local notification receiver; None: not notifying
    handheld_env: dict[str, str] = field(default_factory=dict)
    channel_env: dict[str, str] = field(default_factory=dict)
    started: dict[str, Child] = field(default_factory=dict)

    @property
    def notify(self) -> bool:
        return self.receiver_url is not None

    @property
    def readings(self) -> Path:
        return self.data_dir / "readings.db"

    @property
    def api_url(self) -> str:
        return self.started["api"].url("api")

    def url(self, child: str, name: str) -> str:
        return self.started[child].url(name)


Settings = Callable[[Plan], Mapping[str, object]]


@dataclass(frozen=True)
class Row:
    name: str
    command: tuple[str, ...]
    settings: Settings
    announces: tuple[str, ...] = ()
    health: str | None = None
    detail: Callable[[Plan], str] = lambda plan: ""
    wanted: Callable[[Plan], bool] = lambda plan: True
    secrets: Callable[[Plan], dict[str, str]] = lambda plan: {}


def _walkers(site: SiteConfig) -> int:
    return len({g.id for g in site.guards if g.handheld is not None})


TABLE: tuple[Row, ...] = (
    Row(
        "simulators",
        ("simulate",),
        lambda p: {
            "config": p.site_file,
            "seed": p.seed,
            "control_port": ANY_PORT,
            "mqtt_url": p.mqtt_url,
        },
        announces=("control",),
        health="/devices",
        detail=lambda p: (
            f"control on {p.url('simulators', 'control')}; devices on {device_ports(p.site)}"
        ),
        wanted=lambda p: p.simulate,
    ),
    Row(
        "ingest",
        ("ingest",),
        lambda p: {
            "mqtt_url": p.mqtt_url,
            "client_id": "ew-ingest-up",
            "ops_port": ANY_PORT,
            **({"influx_url": p.influx_url} if p.influx_url else {"sqlite": p.readings}),
        },
        announces=("ops",),
        health="/health",
        detail=lambda p: p.influx_url or f"embedded store {p.readings}",
    ),
    Row(
        "gateway",
        ("gateway",),
        lambda p: {
            "config": p.site_file,
            "mqtt_url": p.mqtt_url,
            "http_port": ANY_PORT,
            "buffer": p.data_dir / "gateway-buffer.db",
        },
        announces=("http",),
        health="/health",
        detail=lambda p: (
            f"{len(p.site.devices)} devices, scans on {p.url('gateway', 'http')}/scans"
        ),
        secrets=lambda p: p.handheld_env,
    ),
    Row(
        "rules",
        ("rules",),
        lambda p: {
            "config": [p.site_file],
            "mqtt_url": p.mqtt_url,
            "state": p.data_dir / "rules.db",
            "ops_port": ANY_PORT,
        },
        announces=("ops",),
        health="/health",
        detail=lambda p: f"built-in rule pack, /metrics on {p.url('rules', 'ops')}",
    ),
    Row(
        "api",
        ("api",),
        lambda p: {
            **api_settings(p),
            "sites": [p.api_site_file],
            "mqtt_url": p.mqtt_url,
            "readings_url": p.influx_url or f"sqlite:{p.readings}",
            "port": p.api_port,
            "notify": p.notify,
        },
        announces=("api",),
        health="/api/health",
        detail=lambda p: (
            p.api_url + ("; notifying (EW_NOTIFY)" if p.notify else "; notifications off")
        ),
        secrets=lambda p: p.channel_env,
    ),
    Row(
        # Last: a scan is sent only once the gateway takes it and rules and API hear of it.
        "guards",
        ("simulate",),
        lambda p: {
            "config": p.site_file,
            "seed": p.seed,
            "guards_only": True,
            "gateway_url": p.url("gateway", "http"),
        },
        detail=lambda p: (
            f"{_walkers(p.site)} simulated guards walking the"
            f" {len(p.site.routes)} routes' rounds, scanning through the gateway"
        ),
        wanted=lambda p: p.simulate and _walkers(p.site) > 0 and bool(p.site.routes),
        secrets=lambda p: p.handheld_env,
    ),
)


def api_settings(plan: Plan) -> dict[str, object]:
    """What the API and `api add-user` share: the demo's database and local mode."""
    return {
        "database_url": plan.data_dir / "api.db",
        "photo_dir": plan.data_dir / "photos",
        "environment": "development",
        "password_cost": 12,  # demo logins: fast to check, never for production
    }


def as_env(settings: Mapping[str, object]) -> dict[str, str]:
    """Settings as the `EW_*` variables the settings system reads (lists as JSON)."""
    env: dict[str, str] = {}
    for name, value in settings.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list | tuple):
            text = json.dumps([str(v) for v in value])
        else:
            text = str(value)
        env[f"EW_{name.upper()}"] = text
    return env


def child_of(row: Row, plan: Plan) -> Child:
    return Child(
        row.name,
        list(row.command),
        env={**row.secrets(plan), **as_env(row.settings(plan))},
        waits_for=row.announces,
        health=row.health,
    )
