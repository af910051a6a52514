"""Secrets never reach a log: every component run at DEBUG with a password-protected broker,
an InfluxDB password, the API's signing key, handheld and tag keys, and people signing in
(rightly and wrongly); then every log line is searched for every secret."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from estatewatch.config import SiteConfig
from estatewatch.logs import MASK, RedactingFormatter, redact, secret_values
from estatewatch.testing.services import InfluxDB, Mosquitto, free_port, write_password_file
from tests.gateway.conftest import KEYS
from tests.reliability.harness import ROOT, Part, quick_site, write_site

MQTT_PASSWORD = "mqtt-Pw-7f3a9c"
SECRETS = {
    "EW_SECRET_KEY": "api-signing-key-5b8e1d2c9a-0f4e6b7d8c9a1b2c",
    "EW_INFLUX_PASSWORD": "influx-Pw-c41e77",
    "SMS_GATEWAY_KEY": "sms-key-9d0c3b",
    **KEYS,
}
USER_PASSWORD = "duty engineer pass 2731"
WRONG_PASSWORD = "guessed pass 8812"


def test_url_passwords_and_named_secrets_are_masked() -> None:
    secrets = secret_values({"EW_SECRET_KEY": "s3cr3t-value", "HOME": "/root", "X_TOKEN": "abc"})
    assert secrets == ["s3cr3t-value"]  # short values would mask ordinary words
    line = "MQTT connected to mqtt://ingest:p%40ss@broker:1883 with s3cr3t-value"
    assert (
        redact(line, secrets) == f"MQTT connected to mqtt://ingest:{MASK}@broker:1883 with {MASK}"
    )
    assert redact("http://host:8086/query?db=x") == "http://host:8086/query?db=x"


def test_the_formatter_masks_arguments_and_exceptions() -> None:
    formatter = RedactingFormatter(logging.Formatter("%(message)s"), ["s3cr3t-value"])
    try:
        raise ValueError("key s3cr3t-value refused")
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "to %s", ("mqtt://u:pw@h",), sys.exc_info()
        )
    text = formatter.format(record)
    assert "s3cr3t-value" not in text
    assert "pw@" not in text
    assert f"key {MASK} refused" in text


@pytest.mark.integration
@pytest.mark.slow
async def test_no_component_logs_a_secret(example_site: SiteConfig, tmp_path: Path) -> None:
    passwd = write_password_file(tmp_path / "passwd", {"ew": MQTT_PASSWORD})
    broker = Mosquitto(tmp_path / "mosquitto", password_file=passwd)
    broker.workdir.mkdir()
    influx = InfluxDB(tmp_path / "influxdb")
    influx.workdir.mkdir()
    mqtt = f"mqtt://ew:{MQTT_PASSWORD}@127.0.0.1:{broker.port}"
    site = write_site(quick_site(example_site), tmp_path / "site.yaml")
    api_port, gateway_port = free_port(), free_port()
    api_db = tmp_path / "api.db"
    env = {**SECRETS, "EW_ENVIRONMENT": "production", "EW_PASSWORD_COST": "15"}
    add_user = [sys.executable, "-m", "estatewatch", "api", "add-user", "chen",
                "--role", "duty_engineer", "--database", str(api_db)]  # fmt: skip
    user_env = {**os.environ, **env, "EW_NEW_PASSWORD": USER_PASSWORD}
    made = await asyncio.to_thread(
        subprocess.run, add_user, cwd=ROOT, env=user_env, capture_output=True
    )
    assert made.returncode == 0, made.stderr
    logs = tmp_path / "logs"
    logs.mkdir()
    parts = [
        Part("gateway", ["gateway", "--config", str(site), "--mqtt", mqtt, "--http-port",
             str(gateway_port), "--buffer", str(tmp_path / "q.db")], logs / "gateway.log"),
        Part("ingest", ["ingest", "--mqtt", mqtt, "--influx-url", influx.url, "--influx-user",
             "ew", "--influx-db", "estatewatch"], logs / "ingest.log"),
        Part("rules", ["rules", "--config", str(site), "--mqtt", mqtt], logs / "rules.log"),
        Part("api", ["api", "--site", str(site), "--mqtt", mqtt, "--database", str(api_db),
             "--port", str(api_port)], logs / "api.log"),
    ]  # fmt: skip
    broker.start()
    influx.start()
    try:
        for part in parts:
            part.env.update(env)
            part.log_level = "DEBUG"
            part.start()
        async with httpx.AsyncClient(timeout=5) as http:
            for url in (f"http://127.0.0.1:{api_port}/api/health",
                        f"http://127.0.0.1:{gateway_port}/health"):  # fmt: skip
                for _ in range(300):
                    try:
                        if (await http.get(url)).status_code < 500:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
            token_url = f"http://127.0.0.1:{api_port}/auth/token"
            wrong = await http.post(
                token_url, data={"username": "chen", "password": WRONG_PASSWORD}
            )
            assert wrong.status_code == 401
            right = await http.post(token_url, data={"username": "chen", "password": USER_PASSWORD})
            assert right.status_code == 200
            issued = right.json()
            me = await http.get(
                f"http://127.0.0.1:{api_port}/users/me",
                headers={"Authorization": f"Bearer {issued['access_token']}"},
            )
            assert me.status_code == 200
            await asyncio.sleep(3)  # a few poll rounds, health messages, MQTT traffic at DEBUG
    finally:
        for part in parts:
            part.stop()
        influx.stop()
        broker.stop()
    secrets = {
        "the MQTT password": MQTT_PASSWORD,
        "the access token": issued["access_token"],
        "the refresh token": issued["refresh_token"],
        "a user's password": USER_PASSWORD,
        "a wrong password": WRONG_PASSWORD,
        **{name: value for name, value in SECRETS.items()},
    }
    text = "\n".join(p.log.read_text(errors="replace") for p in parts)
    assert "MQTT connected" in text  # the logs did record the connections (with URLs)
    leaked = [name for name, value in secrets.items() if value in text]
    assert leaked == [], f"secrets in the logs: {leaked}"
