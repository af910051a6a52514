"""The parts of `estatewatch up` without running it: the local notification receiver in each
vendor's shape, the API's site file with every channel led to it, the table's settings as
`EW_*` variables, the port a child announces — and no production code using the test
helpers (estatewatch.testing)."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import httpx
import pytest

from estatewatch.clock import FakeClock
from estatewatch.config import SiteConfig, load_site
from estatewatch.ready import READY_FILE_ENV, announce, read_announced
from estatewatch.up.demo import channel_secrets, local_notifications, write_demo_site
from estatewatch.up.receiver import Inbox, Receiver, read_message
from estatewatch.up.table import TABLE, Plan, as_env, child_of
from tests.dates import T0

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("estatewatch", "gateway", "ingest", "rules", "api", "simulators")
# Test tooling by design: the other components' tests run a simulated estate with it.
TEST_TOOLING = {Path("simulators/harness.py")}


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        (
            "dingtalk",
            {"markdown": {"title": "T", "text": "X"}, "at": {"atMobiles": ["138"]}},
            ("T", "X", "138"),
        ),
        ("wecom", {"markdown": {"content": "### T\n\nX"}}, ("T", "### T\n\nX", "")),
        (
            "feishu",
            {"card": {"header": {"title": {"content": "T"}}, "elements": [{"content": "X"}]}},
            ("T", "X", ""),
        ),
        ("webhook", {"title": "T", "text": "X", "recipient": "wang-duty"}, ("T", "X", "wang-duty")),
        ("sms", {"mobile": "138", "content": "X"}, ("", '{"mobile": "138", "content": "X"}', "")),
    ],
)
def test_the_receiver_reads_each_vendors_message(
    kind: str, body: object, expected: tuple[str, str, str]
) -> None:
    assert read_message(kind, body) == expected


async def test_the_receiver_answers_as_the_robot_and_keeps_what_it_got(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "notifications.jsonl", FakeClock(T0))
    async with Receiver(inbox) as receiver, httpx.AsyncClient(base_url=receiver.url) as http:
        assert receiver.port != 0
        answer = await http.post(
            "/robot/dingtalk/duty-room-ding?timestamp=1&sign=abc",
            json={"msgtype": "markdown", "markdown": {"title": "困人", "text": "电梯困人"}},
        )
        assert answer.json() == {"errcode": 0, "errmsg": "ok"}
        (got,) = (await http.get("/messages")).json()
        assert (got["channel"], got["title"], got["signed"]) == ("duty-room-ding", "困人", True)
        assert "电梯困人" in (await http.get("/")).text
    logged = json.loads((tmp_path / "notifications.jsonl").read_text())
    assert logged["received_at"] == T0.isoformat(timespec="seconds")


def test_every_channel_of_the_site_leads_to_the_receiver(
    tmp_path: Path, example_site: SiteConfig
) -> None:
    local = local_notifications(example_site, "http://127.0.0.1:9", "http://127.0.0.1:8000")
    site = load_site(write_demo_site(example_site, local, tmp_path / "site.yaml"))
    channels = {c.id: c for c in site.notifications.channels}
    assert set(channels) == {c.id for c in example_site.notifications.channels}
    urls = {c.id: getattr(c, "url", None) for c in channels.values()}
    assert urls["duty-room-ding"] == "http://127.0.0.1:9/robot/dingtalk/duty-room-ding"
    assert urls["mail"] == "http://127.0.0.1:9/robot/mail/mail"  # no mail server in a demo
    assert all(u is not None and u.startswith("http://127.0.0.1:9/robot/") for u in urls.values())
    assert site.notifications.people == example_site.notifications.people
    assert "SMTP_PASSWORD" not in channel_secrets(local)
    assert "DINGTALK_DUTY_SECRET" in channel_secrets(local)


def test_the_table_gives_each_part_its_settings_as_variables(
    tmp_path: Path, example_site: SiteConfig
) -> None:
    assert as_env({"config": [Path("a.yaml")], "notify": True, "ops_port": 0}) == {
        "EW_CONFIG": '["a.yaml"]',
        "EW_NOTIFY": "true",
        "EW_OPS_PORT": "0",
    }
    plan = Plan(
        site=example_site,
        site_file=tmp_path / "estate.yaml",
        api_site_file=tmp_path / "api.yaml",
        data_dir=tmp_path,
        mqtt_url="mqtt://127.0.0.1:1",
        api_port=8000,
        receiver_url="http://127.0.0.1:9",
    )
    rows = {row.name: row for row in TABLE}
    assert list(rows) == ["simulators", "ingest", "gateway", "rules", "api", "guards"]
    rules = child_of(rows["rules"], plan)
    assert rules.env["EW_OPS_PORT"] == "0"  # a port the OS picks, announced
    assert rules.waits_for == ("ops",)
    api = child_of(rows["api"], plan)
    assert api.env["EW_NOTIFY"] == "true"
    assert api.env["EW_SITES"] == json.dumps([str(tmp_path / "api.yaml")])


def test_a_child_announces_the_port_it_got(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ready = tmp_path / "ready.jsonl"
    announce("ops", 1234)  # no $EW_READY_FILE: nothing written
    assert read_announced(ready) == {}
    monkeypatch.setitem(os.environ, READY_FILE_ENV, str(ready))
    announce("ops", 1234)
    announce("http", 2345)
    assert read_announced(ready) == {"ops": 1234, "http": 2345}


def test_no_production_code_imports_the_test_helpers() -> None:
    offenders = []
    for package in PRODUCTION:
        for path in (ROOT / package).rglob("*.py"):
            where = path.relative_to(ROOT)
            if "testing" in where.parts or where in TEST_TOOLING:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                if any(n.split(".")[:2] == ["estatewatch", "testing"] for n in names):
                    offenders.append(str(where))
    assert offenders == []
