"""The API's settings: one pydantic-settings class, read from `EW_*` environment variables.

Outside development the default signing secret is refused, so a forgotten setting fails at
start-up instead of issuing tokens anyone can forge.
"""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from estatewatch.durations import Duration
from estatewatch.settings import CommonSettings

DEFAULT_SECRET = "estatewatch-development-secret-do-not-use-in-production"  # noqa: S105
"""Local mode only: the settings refuse it in any other environment."""
MIN_SECRET_LENGTH = 32


class Settings(CommonSettings):
    """Everything `estatewatch api` can be told; each field is `EW_<NAME>` in the environment
    (the settings system every component shares: `estatewatch.settings`)."""

    model_config = SettingsConfigDict(env_prefix="EW_", extra="forbid", frozen=True)

    environment: Literal["development", "production"] = "production"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    database_url: str = Field(
        default="var/estatewatch-api.db",
        description="a SQLite file path (or sqlite:///path), or a postgresql:// URL",
    )
    sites: list[Path] = Field(
        default_factory=list, description="site config files (YAML), one per estate"
    )
    dispatch_policy: Path | None = Field(
        default=None, description="YAML file of per-site alarm → work order policies"
    )
    photo_dir: Path = Field(
        default=Path("var/photos"), description="where uploaded photos are kept (files)"
    )
    host: str = "127.0.0.1"
    port: int = Field(
        default=8000, ge=0, le=65535, description="0: one the OS picks, announced in $EW_READY_FILE"
    )

    # The API alone may run without a broker (a stand-alone board over its database).
    mqtt_url: str | None = Field(  # type: ignore[assignment]
        default=None, description="None: run without a broker"
    )
    mqtt_client_id: str = "ew-api"
    mqtt_session_expiry: int = Field(default=86400, ge=0)

    notify: bool = Field(
        default=False,
        description="run the notifier: deliver the sites' notifications, walk escalations, "
        "open incidents (channel secrets come from the environment variables they name)",
    )
    notify_poll_interval: Duration = timedelta(seconds=5)

    access_token_ttl: Duration = timedelta(minutes=15)
    refresh_token_ttl: Duration = Field(
        default=timedelta(hours=12), description="a refresh token's life: about a shift"
    )
    login_attempts: int = Field(default=5, ge=1, description="failures allowed per window")
    login_window: Duration = timedelta(minutes=5)
    password_cost: int = Field(
        default=17, ge=10, le=20, description="log2 of scrypt's N (OWASP: at least 17)"
    )
    bootstrap_admin_password: SecretStr | None = Field(
        default=None, description="creates user `admin` at start-up when there are no users"
    )

    readings_url: str | None = Field(
        default=None,
        description="stored readings: sqlite:PATH (the file `ingest --sqlite` writes) or "
        "http(s)://influxdb:8086 (InfluxQL); None: device values answer 503",
    )
    readings_database: str = "estatewatch"
    readings_username: str | None = None
    readings_password: SecretStr | None = None
    readings_token: SecretStr | None = Field(default=None, description="InfluxDB 2.x/3.x")
    readings_raw_policy: str | None = Field(
        default="raw", description="InfluxDB 1.x raw retention policy; empty: the default one"
    )
    readings_rollup_policy: str | None = Field(
        default="rollup_1m", description="InfluxDB 1.x 1-minute rollups; empty: none"
    )
    operation_log_times: list[time] = Field(
        default_factory=lambda: [time(8), time(14), time(20)],
        description="times of day (site time) the equipment operation log records",
    )

    sla_check_interval: Duration = timedelta(seconds=30)
    outbox_poll_interval: Duration = timedelta(seconds=2)
    stream_poll_interval: Duration = Field(
        default=timedelta(seconds=5),
        description="how often a live stream looks for changes made by other instances",
    )
    feed_retention: Duration = timedelta(days=7)

    @field_validator("readings_raw_policy", "readings_rollup_policy", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("readings_url")
    @classmethod
    def _known_store(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite:", "http://", "https://")):
            raise ValueError("give sqlite:PATH or an http(s):// InfluxDB URL")
        if value is not None and value.startswith("sqlite:") and not value[7:].strip("/"):
            raise ValueError("sqlite: needs a file path, e.g. sqlite:var/readings.db")
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Self:
        if self.environment == "development":
            return self
        secret = self.secret_key.get_secret_value()
        if secret == DEFAULT_SECRET:
            raise ValueError(
                "EW_SECRET_KEY is the development default; set a random secret of at least "
                f"{MIN_SECRET_LENGTH} characters (or EW_ENVIRONMENT=development)"
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"EW_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
        if self.password_cost < 15:
            raise ValueError("EW_PASSWORD_COST below 15 is for development only")
        return self
