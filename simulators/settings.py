"""What `estatewatch simulate` can be told: flags, `EW_*` variables or a settings file
(`estatewatch.settings`, the system every component shares)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from estatewatch.settings import CommonSettings

DEFAULT_CONTROL_PORT = 8790


class SimulatorSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="EW_", extra="forbid", frozen=True)

    config: Path | None = Field(default=None, description="the site config to bring to life")
    seed: int = Field(default=1, description="fixes every random choice")
    speed: float = Field(default=1.0, gt=0, description="estate time per real second")
    step: float | None = Field(
        default=None, gt=0, description="physics step, seconds of estate time"
    )
    control_port: int = Field(
        default=DEFAULT_CONTROL_PORT,
        ge=0,
        le=65535,
        description="the control API (0: a port the OS picks, announced in $EW_READY_FILE)",
    )
    # Optional here: devices served over Modbus need no broker, only the MQTT sensors do.
    mqtt_url: str | None = Field(  # type: ignore[assignment]
        default=None,
        description="site broker for the MQTT sensors (and the guards' scans)",
        json_schema_extra={"flag": "--mqtt"},
    )
    bind_host: str = Field(default="127.0.0.1", description="address the Modbus servers listen on")
    patrols: bool = Field(default=False, description="walk the routes at their scheduled windows")
    guards_only: bool = Field(
        default=False,
        description="walk the routes and nothing else: no devices, sensors or control API"
        " (`estatewatch up` starts the guards once the gateway takes scans)",
    )
    gateway_url: str | None = Field(
        default=None, description="send patrol scans by POST {URL}/scans"
    )
