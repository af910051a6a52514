"""The group monitoring centre (集团监控中心) in Chromium: two estates on one API (no MQTT or
readings needed: the page reads GET /group/overview). A group supervisor sees both, the one
with a critical alarm first, and drills down into its duty board without signing in again;
an engineer of one estate sees only theirs, in English."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api import inbound
from api.app import create_app
from api.domain.permissions import Role
from api.schemas.user import UserCreate
from api.sites import Sites
from api.workflows import users
from estatewatch.clock import SystemClock
from estatewatch.config import SiteConfig
from estatewatch.testing.services import free_port
from tests.api.helpers import PASSWORD, SITE, alarm_event, settings_for
from tests.web.pages import WALL, Console, a11y_problems, sign_in

B = "estate-b"


@dataclass
class Server:
    url: str


def _estate_b(example: SiteConfig) -> SiteConfig:
    site = example.site.model_copy(update={"id": B, "name": "Lake Court 湖畔小区"})
    return example.model_copy(update={"site": site})


def _seed(app: Any) -> None:
    runtime = app.state.runtime
    now = runtime.clock.now()
    with runtime.db.write() as session:
        for name, role, estates in (
            ("wang", Role.SUPERVISOR, []),
            ("chen", Role.DUTY_ENGINEER, [SITE]),
        ):
            data = UserCreate(username=name, password=PASSWORD, role=role, estates=estates)
            users.create(session, data=data, cost=runtime.settings.password_cost, now=now)
        inbound.apply(session, alarm_event("b-1", site=B, raised_at=now), now=now,
                      sites=runtime.sites)  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, example_site: SiteConfig) -> Iterator[Server]:
    folder: Path = tmp_path_factory.mktemp("group")
    sites = Sites([example_site, _estate_b(example_site)])
    app = create_app(settings_for(folder / "api.db"), clock=SystemClock(), sites=sites)
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    _seed(app)
    yield Server(f"http://127.0.0.1:{port}")
    uv.should_exit = True
    thread.join(timeout=10)


def _open(browser: Any, server: Server, console: Console, user: str, locale: str) -> Any:
    context = browser.new_context(**WALL, locale=locale, timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    page.goto(f"{server.url}/group")
    sign_in(page, user)
    page.wait_for_selector("#estates tbody tr")
    return page


def test_a_group_supervisor_sees_every_estate_most_urgent_first_and_drills_down(
    browser: Any, server: Server
) -> None:
    console = Console()
    page = _open(browser, server, console, "wang", "zh-CN")
    try:
        rows = page.locator("#estates tbody tr")
        assert rows.count() == 2
        first = rows.nth(0)
        assert first.get_attribute("data-site") == B
        assert first.get_attribute("data-attention") == "critical"
        assert "立即处理" in first.inner_text()
        assert rows.nth(1).get_attribute("data-site") == SITE
        assert page.inner_text("h1") == "集团监控中心"
        assert "紧急告警" in page.inner_text("#estates thead")
        assert "1 个需立即处理" in page.inner_text("#summary")
        assert console.errors == []
        assert a11y_problems(page) == []
        first.locator("a.open").click()
        page.wait_for_url(f"**/?site={B}")
        page.wait_for_selector("#app:not([hidden])")  # the board, signed in already
        assert "湖畔小区" in page.inner_text("#site-name")
    finally:
        page.context.close()


def test_an_estate_engineer_sees_only_their_estate_in_english(browser: Any, server: Server) -> None:
    console = Console()
    page = _open(browser, server, console, "chen", "en-US")
    try:
        rows = page.locator("#estates tbody tr")
        assert rows.count() == 1
        assert rows.nth(0).get_attribute("data-site") == SITE
        assert page.inner_text("h1") == "Group monitoring centre"
        head = page.inner_text("#estates thead")
        for text in ("Critical alarms", "Orders past their clocks", "Devices offline"):
            assert text in head
        assert "Lake Court" not in page.inner_text("#main")
        assert console.errors == []
    finally:
        page.context.close()
