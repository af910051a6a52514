"""The README's run command: `estatewatch up` brings the estate up — simulated guards
scanning, notifications reaching its local receiver — takes a demo fault (which notifies and
opens the entrapment plan), and stops on Ctrl-C leaving no process or port behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from estatewatch.config import ModbusTcp, SiteConfig
from estatewatch.testing.services import free_port
from estatewatch.up.demo import DEMO_USERS
from simulators.harness import relocate

ROOT = Path(__file__).resolve().parents[2]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(predicate: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _scrape(url: str) -> dict[str, float]:
    """Each sample's value, summed over its labels, by sample name."""
    text = httpx.get(url).text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def _window_open_now(site: SiteConfig) -> SiteConfig:
    """The site with its perimeter round due from two minutes ago for half an hour, in the
    shift of now, so the simulated guards have a round to walk whatever the time of day."""
    start = datetime.now(UTC).astimezone(ZoneInfo(site.site.timezone)) - timedelta(minutes=2)
    shift = next(s for s in site.shifts if _in_shift(s.start, s.end, start.time()))
    data = site.model_dump(mode="json")
    route = next(r for r in data["routes"] if r["id"] == "perimeter-round")
    window = {"start": start.time().isoformat("minutes"), "duration": "30m"}
    route["schedule"] = [{"shift": shift.id, "windows": [window]}]
    return SiteConfig.model_validate(data)


def _in_shift(start: dt_time, end: dt_time, moment: dt_time) -> bool:
    return start <= moment < end if start < end else (moment >= start or moment < end)


def test_up_runs_takes_a_fault_and_stops_cleanly(tmp_path: Path, example_site: SiteConfig) -> None:
    # The example's own device ports, moved to free ones so nothing else on the machine
    # collides with this run.
    site_file = tmp_path / "estate.yaml"
    relocated = relocate(_window_open_now(example_site))
    site_file.write_text(yaml.safe_dump(relocated.model_dump(mode="json")))
    data_dir = tmp_path / "up"
    log = (tmp_path / "up.out").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "estatewatch",
            "up",
            "--data-dir",
            str(data_dir),
            "--config",
            str(site_file),
            "--port",
            str(free_port()),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    state_file = data_dir / "up.json"
    try:
        _wait_for(lambda: state_file.exists() or proc.poll() is not None, 180, "up.json")
        output = (tmp_path / "up.out").read_text()
        assert proc.poll() is None, output
        assert "EstateWatch is up" in output
        # It says which device ports it holds (here the relocated ones, not 15021...).
        held = {d.connection.port for d in relocated.devices if isinstance(d.connection, ModbusTcp)}
        said = re.search(r"devices on 127\.0\.0\.1:([\d,-]+)", output)
        assert said is not None, output
        assert str(min(held)) in said.group(1)
        assert "Simulated guards are patrolling" in output
        assert "Notifications go to the local receiver" in output
        said_users = re.search(r"demo users[^\n]*", output)
        assert said_users is not None, output
        assert all(user in said_users.group(0) for user, _, _ in DEMO_USERS), output
        state = json.loads(state_file.read_text())
        children = state["parts"]
        assert set(children) >= {"simulators", "gateway", "rules", "api", "guards"}
        # Every child got its port from the OS and said so; up.json has them all.
        assert state["ports"]["gateway"]["http"] == int(state["gateway"].rsplit(":", 1)[1])
        assert all(state["ports"][name] for name in ("simulators", "ingest", "rules", "api"))

        fault = subprocess.run(
            [
                sys.executable,
                "-m",
                "estatewatch",
                "demo-fault",
                "elevator-3",
                "entrapment",
                "--data-dir",
                str(data_dir),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert fault.returncode == 0, fault.stderr
        devices = httpx.get(f"{state['simulator_control']}/devices").json()
        elevator = next(d for d in devices if d["id"] == "elevator-3")
        assert "entrapment" in elevator["faults"]
        assert elevator["values"]["fault_code"] == 31

        # The loop closes: gateway → rules → alarm → API → urgent work order.
        api = state["api"]
        token = httpx.post(
            f"{api}/auth/token", data={"username": "duty", "password": "estate-duty"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        alarms: list[dict[str, object]] = []

        def entrapment_alarm() -> bool:
            alarms[:] = httpx.get(f"{api}/alarms", headers=headers).json()
            return any(a["category"] == "entrapment" for a in alarms)

        _wait_for(entrapment_alarm, 120, "the entrapment alarm")
        assert [a["target"] for a in alarms] == ["elevator-3"], "normal operation raised alarms"
        orders = httpx.get(f"{api}/workorders", headers=headers).json()
        (order,) = [o for o in orders if o["alarm_id"] == alarms[0]["alarm_id"]]
        assert order["urgency"] == "urgent"
        assert order["trade"] == "elevator"

        assert httpx.get(f"{api}/api/health").json()["status"] == "ok"
        # Every part's /metrics parses as Prometheus text and has counted the data that
        # flowed: readings polled, written, evaluated; the alarm and its order stored.
        figures = {part: _scrape(url) for part, url in state["metrics"].items()}
        assert figures["ingest"]["ew_ingest_lines_written_total"] > 0
        assert figures["rules"]["ew_rules_readings_total"] > 0
        assert figures["rules"]["ew_rules_alarm_events_total"] >= 1
        assert figures["api"]["ew_api_messages_consumed_total"] >= 1
        assert figures["api"]["ew_api_work_orders"] >= 1
        assert figures["gateway"]["ew_gateway_published_total"] > 0

        # The demo faults of the life-safety devices each raise an active alarm on it.
        demos = [
            ("fire-panel-1", "fire_alarm", "fire.alarm"),
            ("generator-1", "low_fuel", "generator.low_fuel"),
            ("pump-domestic-low", "dry_run", "pump.dry_run"),
            ("pump-domestic-high", "tank_overflow", "pump.tank_overflow"),
        ]
        for device, fault_name, _ in demos:
            argv = [sys.executable, "-m", "estatewatch", "demo-fault", device, fault_name,
                    "--data-dir", str(data_dir)]  # fmt: skip
            done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stderr
        wanted = {(rule, device) for device, _, rule in demos}

        def demo_alarms() -> bool:
            alarms[:] = httpx.get(f"{api}/alarms", headers=headers).json()
            return wanted <= {(a["rule"], a["target"]) for a in alarms if a["active"]}

        _wait_for(demo_alarms, 120, "the demo faults' alarms")

        # The entrapment plan opened, and the notifier told the elevator maintainer on the
        # local receiver (after the 30 s grouping window), as the API's log records.
        incidents = httpx.get(f"{api}/incidents", headers=headers).json()
        assert [i["plan"] for i in incidents if i["state"] == "open"].count("entrapment") == 1
        sent: list[dict[str, object]] = []

        def notified() -> bool:
            sent[:] = httpx.get(f"{api}/notifications", headers=headers).json()
            return any(n["recipient"] == "li-elevator" and n["status"] == "sent" for n in sent)

        _wait_for(notified, 90, "a notification sent for the entrapment")
        received = httpx.get(f"{state['notify_receiver']}/messages").json()
        # in the recipient's language (li-elevator reads Chinese): the rule's title either way
        said = ("Entrapment", "困人")
        assert any(
            any(w in str(m["text"]) for w in said) and m["kind"] == "wecom" for m in received
        )
        assert any(w in Path(state["notifications_log"]).read_text() for w in said)

        # The simulated guards walk the round open now: their signed scans reach the API.
        scans: list[dict[str, object]] = []

        def guards_scanned() -> bool:
            site = relocated.site.id
            scans[:] = httpx.get(f"{api}/patrol/scans?site={site}", headers=headers).json()
            return bool(scans)

        _wait_for(guards_scanned, 150, "a simulated guard's scan")
        assert {s["verified"] for s in scans} == {"hmac"}
        assert {s["guard"] for s in scans} <= {g.id for g in relocated.guards}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        log.close()
    assert proc.returncode == 0, (tmp_path / "up.out").read_text()
    assert not state_file.exists()
    for name, pid in children.items():
        assert not _pid_alive(pid), f"{name} (pid {pid}) outlived estatewatch up"
    control_port = int(state["simulator_control"].rsplit(":", 1)[1])
    with httpx.Client() as client:
        try:
            client.get(f"http://127.0.0.1:{control_port}/devices", timeout=1)
            leaked = True
        except httpx.ConnectError:
            leaked = False
    assert not leaked, "the simulators' control port is still open"
