"""Run the reliability suite and write its figures into docs/reliability.md.

    .venv/bin/python -m tests.reliability.report              # the CI profile (~15 min,
                                                              # 10 of them the soak)
    EW_RELIABILITY=full .venv/bin/python -m tests.reliability.report   # long outages, 2 h soak

Extra arguments go to pytest. The tables between the markers of the profile run in
docs/reliability.md (`<!-- figures-ci:begin -->` … or `figures-full`) are replaced; the
other profile's tables and the prose around them are kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
PROFILE = os.environ.get("EW_RELIABILITY") or "ci"
BEGIN, END = f"<!-- figures-{PROFILE}:begin -->", f"<!-- figures-{PROFILE}:end -->"

CHAOS_COLUMNS = [
    ("scenario", "scenario"), ("profile", "profile"), ("seconds", "s"),
    ("produced", "readings produced"), ("stored", "stored"), ("lost", "lost"),
    ("redelivered", "redelivered"), ("seq_gaps", "seq gaps"),
    ("dropped_by_policy", "dropped by policy"), ("alarms_expected", "alarms expected"),
    ("alarms_found", "found"), ("orders_expected", "orders expected"),
    ("orders_found", "found"), ("note", "how"),
]  # fmt: skip
SOAK_COLUMNS = [
    ("profile", "profile"), ("seconds", "s"), ("devices", "devices"),
    ("produced", "telemetry messages produced"), ("delivered", "delivered"),
    ("readings", "readings delivered"), ("lost", "lost"),
    ("dropped_by_policy", "dropped by policy"), ("restarts", "restarts"),
    ("uplink_cuts", "uplink cuts"), ("cut_seconds", "cut s"), ("faults", "device faults"),
    ("max_silence_after_recovery", "max silence per device after recovery, s"),
    ("max_silence_after_fault", "after its fault cleared, s"),
    ("longest_healthy_gap", "longest gap of a healthy device, s"),
    ("rss_start_mb", "RSS start MB"), ("rss_end_mb", "RSS end MB"),
    ("rss_growth_pct", "RSS growth %"), ("fds_start", "fds start"), ("fds_end", "fds end"),
    ("note", "cuts"),
]  # fmt: skip
COLUMNS = {"soak": SOAK_COLUMNS}
"""Titles of the other tables' columns (a table not named here titles its keys)."""


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "---|" * len(columns)
    body = ["| " + " | ".join(str(r.get(key, "")) for key, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def render(rows: list[dict[str, Any]], outcome: str) -> str:
    chaos = [r for r in rows if r["table"] == "chaos"]
    other = [r for r in rows if r["table"] != "chaos"]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"Last run: {when}, profile `{PROFILE}`: {outcome}.",
        "",
        "#### Chaos",
        "",
        table(chaos, CHAOS_COLUMNS) if chaos else "(no chaos scenario ran)",
    ]
    for name in sorted({r["table"] for r in other}):
        these = [{k: v for k, v in r.items() if k != "table"} for r in other if r["table"] == name]
        columns = COLUMNS.get(name) or [(k, k.replace("_", " ")) for k in these[0]]
        parts += ["", f"#### {name.replace('_', ' ').capitalize()}", "", table(these, columns)]
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.jsonl"
        env = {**os.environ, "EW_RELIABILITY_RESULTS": str(results)}
        cmd = [sys.executable, "-m", "pytest", "tests/reliability", "tests/security",
               "-p", "no:cacheprovider", "-q", *argv]  # fmt: skip
        status = subprocess.run(cmd, cwd=ROOT, env=env).returncode
        rows = (
            [json.loads(line) for line in results.read_text().splitlines()]
            if (results.exists())
            else []
        )
    outcome = "every test passed" if status == 0 else f"pytest exited {status} (see its output)"
    text = DOC.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + render(rows, outcome) + "\n" + text[end:])
    print(f"wrote {DOC.relative_to(ROOT)}: {len(rows)} rows")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
