"""What makes the demo work without any setup: demo logins, handheld keys, channel secrets,
and the site file the API is given, whose notification channels all lead to the local
receiver. Pure apart from `demo_users` (which runs `estatewatch api add-user`)."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from estatewatch.config import SiteConfig
from estatewatch.config.notify import SmtpChannel
from estatewatch.up.runner import UpError

# The demo's people, one per role that uses the dashboard (user, role, password).
DEMO_USERS = (
    ("admin", "admin", "estate-admin"),
    ("duty", "duty_engineer", "estate-duty"),
    ("tech", "technician", "estate-tech"),
    ("guard", "guard", "estate-guard"),
    ("service", "customer_service", "estate-service"),
    # The example site's rostered duty engineers and technicians (its `roster`), so the
    # on-call people can be dispatched and rostered (issue #24).
    ("wang-duty", "duty_engineer", "estate-duty"),
    ("sun-duty", "duty_engineer", "estate-duty"),
    ("li-elevator", "technician", "estate-tech"),
    ("zhang-electric", "technician", "estate-tech"),
)
DEMO_PROFILES = {
    "wang-duty": ("王工 Wang Lei", None),
    "sun-duty": ("孙工 Sun Tao", None),
    "li-elevator": ("李师傅 Li Qiang", "elevator"),
    "zhang-electric": ("张师傅 Zhang Wei", "water_electric"),
}
"""Full name and trade of the demo's rostered people (user -> (name, trade))."""
SECRET_FIELDS = ("secret_ref", "key_ref", "password_ref")


def per_run_secrets(refs: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """A value for each environment variable named: the operator's where set, else a random
    one for this run (the demo's signed scans and signed robots need no setup)."""
    return {ref: environ.get(ref) or secrets.token_hex(32) for ref in refs}


def handheld_keys(site: SiteConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The handhelds' HMAC keys, shared by the simulated guards and the gateway."""
    return per_run_secrets([h.key_ref for h in site.handhelds if h.key_ref], environ)


def local_notifications(site: SiteConfig, receiver_url: str, dashboard_url: str) -> dict[str, Any]:
    """The site's `notifications` with every channel sent to the receiver instead, in its own
    vendor's shape (`/robot/{type}/{id}`). Mail becomes a webhook of the same id (the demo
    runs no mail server); people, rota, routes and escalations stay as configured."""
    notify = site.notifications.model_dump(mode="json")
    channels = []
    for channel in site.notifications.channels:
        data = channel.model_dump(mode="json", exclude_none=True)
        if isinstance(channel, SmtpChannel):
            data = {"type": "webhook", "id": channel.id}
            kind = "mail"
        else:
            kind = channel.type
        data["url"] = f"{receiver_url}/robot/{kind}/{channel.id}"
        channels.append(data)
    notify["channels"] = channels
    notify["dashboard_url"] = dashboard_url
    return notify


def channel_secrets(notify: Mapping[str, Any]) -> list[str]:
    """The environment variables the (rewritten) channels name."""
    return [c[f] for c in notify["channels"] for f in SECRET_FIELDS if c.get(f)]


def write_demo_site(site: SiteConfig, notify: Mapping[str, Any], path: Path) -> Path:
    """The site as given, with `notify` as its notifications, written to `path` (YAML) and
    checked as any site file is."""
    from estatewatch.config import load_site

    data = site.model_dump(mode="json")
    data["notifications"] = dict(notify)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_site(path)
    return path


def device_ports(site: SiteConfig) -> str:
    """The TCP addresses the simulators hold (Modbus, DL/T 645 gateways), e.g.
    ``127.0.0.1:15021-15023,15031``, and the UDP addresses of their BACnet devices."""
    ports: dict[str, set[int]] = {}
    for device in site.devices:
        host = getattr(device.connection, "host", None)
        port = getattr(device.connection, "port", None)
        if isinstance(host, str) and isinstance(port, int):
            ports.setdefault(host, set()).add(port)
    held = " ".join(f"{host}:{_ranges(sorted(held))}" for host, held in ports.items()) or "none"
    bacnet = [
        device.connection.address
        for device in site.devices
        if device.connection.protocol == "bacnet" and device.connection.address
    ]
    return held + (f"; BACnet/IP (UDP) on {' '.join(bacnet)}" if bacnet else "")


def _ranges(ports: list[int]) -> str:
    runs: list[list[int]] = []
    for port in ports:
        if runs and port == runs[-1][-1] + 1:
            runs[-1].append(port)
        else:
            runs.append([port])
    return ",".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


async def demo_users(database: Path, env: Mapping[str, str], guard_id: str) -> bool:
    """Create the demo logins once (False: they exist from an earlier run)."""
    if await asyncio.to_thread(database.exists):
        return False
    for user, role, password in DEMO_USERS:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "estatewatch",
            "api",
            "add-user",
            user,
            "--role",
            role,
            "--database",
            str(database),
            *(["--guard-id", guard_id] if role == "guard" else []),
            *_profile_args(user),
            env={**os.environ, **env, "EW_NEW_PASSWORD": password},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await proc.communicate()
        if proc.returncode != 0:
            raise UpError(f"creating demo user {user}: {output.decode(errors='replace')}")
    return True


def _profile_args(user: str) -> list[str]:
    if user not in DEMO_PROFILES:
        return []
    name, trade = DEMO_PROFILES[user]
    return ["--full-name", name, *(["--trade", trade] if trade else [])]
