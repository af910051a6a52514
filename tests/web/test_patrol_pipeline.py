"""The patrol loop on the real pipeline, in headless Chromium: a guard scans on the phone
page, the real API stores each scan and publishes it on MQTT (its outbox, `patrol/*/http`),
a real Mosquitto carries it, a real `estatewatch rules` process judges the rounds, and the
alarms it raises come back to the API.

Two rounds open a couple of minutes before the test and close `ROUND` after it starts, so
the rules engine closes them within seconds: the guard completes one (one scan made
offline, kept on the phone and synced once back online) and skips a checkpoint of the
other. Then: no missed-checkpoint alarm and no order for the complete round; one alarm for
the other, naming the checkpoint skipped; an unknown tag scanned on the phone raises
`patrol.unknown_tag`; the guard, silent for longer than the site's report interval (cut to
seconds here), raises `patrol.silent_guard`.

The tests share one pipeline and one phone and build on each other in file order.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.db import Database
from api.domain.permissions import Role
from api.schemas.user import UserCreate
from api.workflows import users
from estatewatch.clock import SystemClock
from estatewatch.config import SiteConfig
from estatewatch.config.calendar import SlaPolicy
from estatewatch.config.patrol import PatrolWindow, RouteSchedule
from estatewatch.testing.services import Mosquitto, free_port
from tests.reliability.harness import Part, write_site
from tests.web.pages import PHONE, Console, eventually
from tests.web.stack import PASSWORD

pytestmark = pytest.mark.integration

SITE = "harbour-view"
GUARD_USER, GUARD = "zhang", "guard-zhang"
ROUND = timedelta(seconds=35)
"""How long after the pipeline starts the test's rounds close: time enough to start the
API, the rules engine and the phone and make the scans on a loaded machine (15 s on a busy
2-core one), short enough to keep the test quick: it waits for the rounds to close."""
REPORT_INTERVAL = timedelta(seconds=20)
COMPLETE = ("equipment-round", ["pump-room", "fire-pump-room", "generator-room"])
SKIPPED = ("perimeter-round", ["main-gate", "north-gate", "east-garden"])
SKIPPED_CHECKPOINT = "north-gate"
UNKNOWN_TAG = "04FFEE0099"
ALL_STATES = ["active", "acknowledged", "cleared", "closed"]


def patrol_site(site: SiteConfig, closes_at: datetime) -> SiteConfig:
    """The example estate with two short rounds, both open from two minutes ago until
    `closes_at`, on checkpoints of their own; no other route, no roster (so only a guard
    who scanned owes the hourly report), and a report interval of seconds."""
    tz = ZoneInfo(site.site.timezone)
    opens = (datetime.now(tz) - timedelta(minutes=2)).replace(microsecond=0)
    shift = next(
        s
        for s in site.shifts
        if (s.start <= opens.time() < s.end)
        or (s.end <= s.start and (opens.time() >= s.start or opens.time() < s.end))
    )
    window = PatrolWindow(start=opens.time(), duration=closes_at.astimezone(tz) - opens)
    by_id = {r.id: r for r in site.routes}
    routes = [
        by_id[route].model_copy(
            update={
                "checkpoints": checkpoints,
                "min_transit": timedelta(0),  # the test scans faster than a guard walks
                "schedule": [RouteSchedule(shift=shift.id, windows=[window])],
            }
        )
        for route, checkpoints in (COMPLETE, SKIPPED)
    ]
    kept = {cp for _, cps in (COMPLETE, SKIPPED) for cp in cps}
    sla = SlaPolicy.model_validate(
        {**site.sla.model_dump(), "guard_report_interval": REPORT_INTERVAL}
    )
    return site.model_copy(
        update={
            "routes": routes,
            "checkpoints": [c for c in site.checkpoints if c.id in kept],
            "roster": [],
            "sla": sla,
        }
    )


@dataclass
class PatrolPipeline:
    """The API and the rules engine as processes, on one Mosquitto."""

    site: SiteConfig
    api: Part
    rules: Part
    url: str
    closes_at: datetime

    def tag(self, checkpoint: str) -> str:
        return next(c.tag_uid for c in self.site.checkpoints if c.id == checkpoint)

    def name(self, checkpoint: str) -> str:
        """The checkpoint's name as the zh-CN phone shows it."""
        return next(c.name.pick("zh-CN") for c in self.site.checkpoints if c.id == checkpoint)

    def get(self, path: str, **params: Any) -> Any:
        token = httpx.post(
            f"{self.url}/auth/token", data={"username": "wang", "password": PASSWORD}
        )
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        response = httpx.get(f"{self.url}{path}", params=params, headers=headers)
        response.raise_for_status()
        return response.json()

    def alarms(self, rule: str) -> list[dict[str, Any]]:
        found = self.get("/alarms", site=SITE, state=ALL_STATES, limit=1000)
        return [a for a in found if a["rule"] == rule]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail()}" for p in (self.api, self.rules))


def _seed_users(database: Path) -> None:
    db = Database(str(database))
    try:
        db.migrate()
        with db.write() as session:
            for username, role, guard_id in (
                (GUARD_USER, Role.GUARD, GUARD),
                ("wang", Role.SUPERVISOR, None),
            ):
                data = UserCreate(
                    username=username,
                    password=PASSWORD,
                    role=role,
                    full_name=username,
                    guard_id=guard_id,
                )
                users.create(session, data=data, cost=10, now=SystemClock().now())
    finally:
        db.dispose()


def _up(url: str, rules: Part, api: Part, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for part in (rules, api):
            if not part.alive:
                raise AssertionError(f"{part.name} exited\n{part.tail()}")
        try:
            health = httpx.get(f"{url}/health").json()
        except httpx.HTTPError:
            health = {}
        if health.get("mqtt") == "connected" and "rules engine running" in rules.tail(200):
            return
        time.sleep(0.2)
    raise AssertionError(f"the pipeline did not come up\n{api.tail()}\n{rules.tail()}")


@pytest.fixture(scope="module")
def pipeline(
    tmp_path_factory: pytest.TempPathFactory,
    example_site: SiteConfig,
    mosquitto: Mosquitto,
    browser: Any,  # launched first: the rounds' clock starts with the processes
) -> Iterator[PatrolPipeline]:
    workdir = tmp_path_factory.mktemp("patrol-pipeline")
    logs = workdir / "logs"
    logs.mkdir()
    database = workdir / "api.db"
    _seed_users(database)
    started = datetime.now(ZoneInfo(example_site.site.timezone))
    site = patrol_site(example_site, started + ROUND)
    config = str(write_site(site, workdir / "site.yaml"))
    port = free_port()
    rules = Part(
        "rules",
        ["rules", "--config", config, "--mqtt", mosquitto.url, "--state",
         str(workdir / "rules.db")],
        logs / "rules.log",
    )  # fmt: skip
    api = Part(
        "api",
        ["api", "--site", config, "--mqtt", mosquitto.url, "--database", str(database),
         "--port", str(port)],
        logs / "api.log",
        env={
            "EW_ENVIRONMENT": "development",
            "EW_PHOTO_DIR": str(workdir / "photos"),
            "EW_PASSWORD_COST": "10",
            "EW_OUTBOX_POLL_INTERVAL": "250ms",
        },
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        rules.start()
        api.start()
        _up(url, rules, api)
        yield PatrolPipeline(site, api, rules, url, started + ROUND)
    finally:
        api.stop()
        rules.stop()


@pytest.fixture(scope="module")
def console() -> Console:
    return Console()


@pytest.fixture(scope="module")
def phone(browser: Any, pipeline: PatrolPipeline, console: Console) -> Iterator[Any]:
    """Guard Zhang's phone, signed in (service workers off: this is about the scan queue)."""
    context = browser.new_context(**PHONE, locale="zh-CN", service_workers="block")
    page = console.watch(context.new_page())
    page.goto(f"{pipeline.url}/guard")
    page.fill("#login-user", GUARD_USER)
    page.fill("#login-pass", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_selector("#round-name:not(:empty)")
    yield page
    context.close()


def scan(phone: Any, tag: str) -> Any:
    """Type a tag's code on the phone and record the scan; the scan's line in the list."""
    phone.get_by_label("标签编号").fill(tag)
    phone.get_by_role("button", name="登记打卡").click()
    line = phone.locator(f'#recent li[data-tag="{tag}"]')
    line.wait_for(timeout=20_000)
    return line


def accepted(phone: Any, tag: str) -> None:
    line = scan(phone, tag)
    eventually(lambda: line.get_attribute("data-status") == "accepted", timeout=15)


def test_the_guard_walks_both_rounds_on_the_phone_one_scan_offline(
    phone: Any, pipeline: PatrolPipeline
) -> None:
    first, offline, last = (pipeline.tag(cp) for cp in COMPLETE[1])
    accepted(phone, first)
    phone.context.set_offline(True)
    phone.wait_for_selector("#net.offline")
    queued = scan(phone, offline)
    assert queued.get_attribute("data-status") == "pending"
    assert pipeline.name(COMPLETE[1][1]) in queued.inner_text()  # named, though never synced
    assert phone.inner_text("#pending") == "待同步 1 条"
    phone.context.set_offline(False)
    eventually(lambda: queued.get_attribute("data-status") == "accepted", timeout=15)
    assert phone.inner_text("#pending") == "全部已同步"
    accepted(phone, last)
    for checkpoint in SKIPPED[1]:
        if checkpoint != SKIPPED_CHECKPOINT:
            accepted(phone, pipeline.tag(checkpoint))
    done = datetime.now(pipeline.closes_at.tzinfo)
    assert done < pipeline.closes_at, f"the scans took too long: {done} >= {pipeline.closes_at}"
    scans = pipeline.get("/patrol/scans", site=SITE, guard=GUARD)
    synced = next(s for s in scans if s["tag_uid"] == offline)
    assert synced["synced_late"] is True
    assert len(scans) == 5


def test_an_unknown_tag_scanned_on_the_phone_raises_its_alarm(
    phone: Any, pipeline: PatrolPipeline
) -> None:
    line = scan(phone, UNKNOWN_TAG)
    eventually(lambda: line.get_attribute("data-status") == "exception", timeout=15)
    alarm = eventually(lambda: pipeline.alarms("patrol.unknown_tag"), timeout=20)[0]
    assert alarm["details"]["tag_uid"] == UNKNOWN_TAG
    assert alarm["details"]["guard"] == GUARD


def test_a_skipped_checkpoint_is_one_alarm_naming_it(pipeline: PatrolPipeline) -> None:
    wait = (pipeline.closes_at - datetime.now(pipeline.closes_at.tzinfo)).total_seconds()
    time.sleep(max(0.0, wait))
    missed = eventually(lambda: pipeline.alarms("patrol.missed_checkpoint"), timeout=20)
    time.sleep(2)  # a second alarm, if one came, would come with the first
    missed = pipeline.alarms("patrol.missed_checkpoint")
    assert [a["target"] for a in missed] == [SKIPPED[0]], pipeline.logs()
    alarm = missed[0]
    (checkpoint,) = [c for c in pipeline.site.checkpoints if c.id == SKIPPED_CHECKPOINT]
    assert checkpoint.name.pick("en") in alarm["title"]
    assert checkpoint.name.pick("zh-CN") in alarm["title_zh"]
    assert alarm["details"]["checkpoints"] == SKIPPED_CHECKPOINT
    assert alarm["details"]["checkpoint_names"] == str(checkpoint.name)
    assert alarm["details"]["missed"] == 1


def test_the_completed_round_raised_no_alarm_and_no_order(pipeline: PatrolPipeline) -> None:
    """Its window closed with the other's (whose alarm came): the engine judged it."""
    alarms = pipeline.get("/alarms", site=SITE, state=ALL_STATES, limit=1000)
    assert [a for a in alarms if a["target"] == COMPLETE[0]] == []
    assert not any(a["rule"] in ("patrol.late_scan", "patrol.out_of_order") for a in alarms)
    patrol = {a["alarm_id"]: a["target"] for a in alarms if a["rule"].startswith("patrol.")}
    orders = pipeline.get("/workorders", site=SITE, limit=1000)
    assert [patrol[o["alarm_id"]] for o in orders if o["alarm_id"] in patrol].count(
        COMPLETE[0]
    ) == 0

    def skipped_round_orders() -> list[Any]:
        found = pipeline.get("/workorders", site=SITE, limit=1000)
        return [o for o in found if patrol.get(o["alarm_id"]) == SKIPPED[0]]

    # The other round's one alarm opens one order (a major alarm, the built-in policy).
    assert len(eventually(skipped_round_orders, timeout=10)) == 1


def test_a_silent_guard_raises_the_silent_guard_alarm(pipeline: PatrolPipeline) -> None:
    silent = eventually(lambda: pipeline.alarms("patrol.silent_guard"), timeout=30)
    assert [a["target"] for a in silent] == [GUARD]
    assert silent[0]["target_kind"] == "guard"
