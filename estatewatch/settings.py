"""One settings system for every component: a pydantic-settings class per component on
`CommonSettings`, filled from (highest first) command-line flags, `EW_*` environment
variables, a YAML settings file (`--settings FILE` or `EW_SETTINGS_FILE`), then defaults.

The command line is generated from the class: every field is a flag (``--field-name``, or
the name its `flag` extra gives), its help is the field's description, booleans are
switches, and a flag that is not given does not hide the environment's value. A bad value
fails with the flag, the variable and the file key it came from:

    class RulesSettings(CommonSettings):
        state: Path = Field(Path("estatewatch-rules.db"), description="rule state file")

    add_flags(parser, RulesSettings)
    settings = from_args(RulesSettings, args)      # flags > EW_* > settings file > defaults
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from estatewatch.errors import ConfigError, ConfigIssue

S = TypeVar("S", bound="CommonSettings")

SETTINGS_FILE_ENV = "EW_SETTINGS_FILE"


class CommonSettings(BaseSettings):
    """What every long-running component is told. Each field is `EW_<NAME>` in the
    environment and ``--<name>`` on the command line."""

    model_config = SettingsConfigDict(env_prefix="EW_", extra="forbid", frozen=True)

    mqtt_url: str = Field(
        default="mqtt://127.0.0.1:1883",
        description="the central broker, mqtt://[user:password@]host:port",
        json_schema_extra={"flag": "--mqtt"},
    )
    ops_host: str = Field(
        default="127.0.0.1",
        description="address of the /health and /metrics endpoint (0.0.0.0 for a remote scraper)",
    )
    ops_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="serve /health and Prometheus /metrics here (0: a port the OS picks,"
        " announced in $EW_READY_FILE)",
    )


def flag_of(name: str, info: FieldInfo) -> str:
    extra = info.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("flag"), str):
        return str(extra["flag"])
    return "--" + name.replace("_", "-")


def _is_bool(info: FieldInfo) -> bool:
    return info.annotation is bool


def _is_list(info: FieldInfo) -> bool:
    annotation = info.annotation
    if get_origin(annotation) is list:
        return True
    return any(get_origin(a) is list for a in get_args(annotation))


def add_flags(
    parser: argparse.ArgumentParser,
    model: type[CommonSettings],
    *,
    skip: Iterable[str] = (),
    settings_file: bool = True,
) -> None:
    """One flag per field of `model` (not those in `skip`); defaults stay with the model."""
    if settings_file:
        parser.add_argument(
            "--settings",
            metavar="FILE",
            default=argparse.SUPPRESS,
            help=f"a YAML file of settings (or ${SETTINGS_FILE_ENV}); flags and EW_* win",
        )
    skipped = set(skip)
    for name, info in model.model_fields.items():
        if name in skipped:
            continue
        flag = flag_of(name, info)
        env = f"EW_{name.upper()}"
        text = info.description or name.replace("_", " ")
        if _is_bool(info):
            parser.add_argument(
                flag,
                dest=name,
                action="store_const",
                const=True,
                default=argparse.SUPPRESS,
                help=f"{text} (${env})",
            )
        else:
            default = info.get_default(call_default_factory=True)
            shown = f"; default {_shown(default)}" if default not in (None, [], "") else ""
            parser.add_argument(
                flag,
                dest=name,
                action="append" if _is_list(info) else "store",
                default=argparse.SUPPRESS,
                metavar=name.upper(),
                help=f"{text} (${env}{shown})",
            )


def _shown(value: Any) -> str:
    from datetime import timedelta

    from estatewatch.durations import format_duration

    if isinstance(value, timedelta):
        return format_duration(value)
    return str(value)


def from_args(model: type[S], args: argparse.Namespace, **fixed: Any) -> S:
    """`model` from the flags given in `args`, the environment and the settings file;
    `fixed` values (set by the program, not the user) win over all."""
    given = {k: v for k, v in vars(args).items() if k in model.model_fields}
    path = getattr(args, "settings", None) or os.environ.get(SETTINGS_FILE_ENV)
    return load(model, flags={**given, **fixed}, settings_file=Path(path) if path else None)


def load(
    model: type[S], *, flags: Mapping[str, Any] | None = None, settings_file: Path | None = None
) -> S:
    """`model` from flags > environment > settings file > defaults, or a `ConfigError`
    naming each bad value's flag, variable and file key."""
    from_file = _read(settings_file, model) if settings_file else {}
    from_env = {
        name for name in model.model_fields if f"EW_{name.upper()}" in os.environ
    }  # pydantic-settings reads these itself; the file must not hide them
    values = {k: v for k, v in from_file.items() if k not in from_env}
    values.update(flags or {})
    try:
        return model(**values)
    except ValidationError as exc:
        raise ConfigError(
            [
                ConfigIssue(
                    str(settings_file) if settings_file else "settings",
                    None,
                    None,
                    _where(model, err["loc"]),
                    err["msg"],
                )
                for err in exc.errors(include_url=False)
            ]
        ) from None


def _where(model: type[CommonSettings], loc: tuple[int | str, ...]) -> str:
    name = str(loc[0]) if loc else ""
    info = model.model_fields.get(name)
    if info is None:
        return ".".join(map(str, loc)) or "(settings)"
    rest = "." + ".".join(map(str, loc[1:])) if len(loc) > 1 else ""
    return f"{flag_of(name, info)} / EW_{name.upper()} / {name}{rest}"


def _read(path: Path, model: type[CommonSettings]) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(path), None, None, "(file)", str(exc))]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([ConfigIssue(str(path), line, None, "(yaml)", str(exc))]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(str(path), 1, None, "(file)", "must be a mapping")])
    unknown = [k for k in data if k not in model.model_fields]
    if unknown:
        raise ConfigError(
            [ConfigIssue(str(path), None, None, str(k), "unknown setting") for k in unknown]
        )
    return {str(k): v for k, v in data.items()}
