"""What `estatewatch up` says: the estate it runs, each part as it comes up, and once all are
up, where to look and what to try."""

from __future__ import annotations

from estatewatch.config import SiteConfig
from estatewatch.up.demo import DEMO_USERS


def header(site: SiteConfig) -> str:
    return (
        f"EstateWatch — {site.site.name}: {len(site.devices)} devices,"
        f" {len(site.checkpoints)} checkpoints, {len(site.routes)} routes"
    )


def part_up(name: str, detail: str) -> str:
    return f"  ✓ {name}{' — ' + detail if detail else ''}"


def is_up(
    api_url: str,
    *,
    guards: bool,
    receiver_url: str | None,
    notifications_log: str | None,
) -> list[str]:
    lines = [
        f"EstateWatch is up: dashboard {api_url}/  — Ctrl-C to stop.",
        "Demo logins: " + ", ".join(f"{u} / {p} ({r})" for u, r, p in DEMO_USERS),
    ]
    if guards:
        lines.append(
            "Simulated guards are patrolling: rounds open now are walked at once, the rest at"
            " their windows (patrol page of the dashboard)."
        )
    if receiver_url is not None:
        lines.append(
            f"Notifications go to the local receiver: {receiver_url}/"
            f" (also {notifications_log}); what the API sent: {api_url}/notifications"
        )
    else:
        lines.append("Notifications are off: the site names no channels.")
    lines.append("Inject a fault: estatewatch demo-fault elevator-3 entrapment")
    return lines
