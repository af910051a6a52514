"""One settings system: flags > EW_* variables > a settings file > defaults, and a bad value
named by its flag, variable and file key."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from estatewatch.errors import ConfigError
from estatewatch.settings import add_flags, from_args
from rules.settings import RulesSettings


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_flags(parser, RulesSettings)
    return parser.parse_args(list(argv))


def test_defaults_then_file_then_environment_then_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EW_MQTT_URL", raising=False)
    monkeypatch.delenv("EW_STATE", raising=False)
    assert from_args(RulesSettings, parse()).state == Path("estatewatch-rules.db")
    file = tmp_path / "rules.yaml"
    file.write_text("state: from-file.db\nmqtt_url: mqtt://file:1883\nops_port: 9100\n")
    assert from_args(RulesSettings, parse("--settings", str(file))).state == Path("from-file.db")
    monkeypatch.setenv("EW_STATE", "from-env.db")
    settings = from_args(RulesSettings, parse("--settings", str(file)))
    assert (settings.state, settings.mqtt_url) == (Path("from-env.db"), "mqtt://file:1883")
    settings = from_args(RulesSettings, parse("--settings", str(file), "--state", "flag.db"))
    assert (settings.state, settings.ops_port) == (Path("flag.db"), 9100)
    repeated = from_args(RulesSettings, parse("--config", "a.yaml", "--config", "b.yaml"))
    assert repeated.config == [Path("a.yaml"), Path("b.yaml")]


def test_a_bad_value_names_its_flag_variable_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        from_args(RulesSettings, parse("--ops-port", "99999"))
    assert "--ops-port / EW_OPS_PORT / ops_port" in str(caught.value)
    file = tmp_path / "rules.yaml"
    file.write_text("stat: typo.db\n")
    with pytest.raises(ConfigError) as caught:
        from_args(RulesSettings, parse("--settings", str(file)))
    assert f"{file}: stat: unknown setting" in str(caught.value)
    file.write_text("- not a mapping\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        from_args(RulesSettings, parse("--settings", str(file)))
