"""The duty room's wall overview (/wall): alarms with their comments, the clocks nearest
to running out, equipment by room, patrol progress and the history search on one
1920×1080 screen without scrolling (zh-CN), and stacked on a phone (en)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web.conftest import screenshot
from tests.web.pages import PHONE, WALL, Console, a11y_problems, api_get, eventually, sign_in, token
from tests.web.stack import LiveStack


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def pages(browser: Any) -> Iterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for page in opened:
        page.context.close()


def _entrapment(live: LiveStack) -> str:
    live.call(lambda: live.estate.inject("elevator-3", "entrapment"))  # type: ignore[union-attr]

    def raised() -> str | None:
        alarms = api_get(live, "/alarms", "chen")
        found = [a for a in alarms if a["category"] == "entrapment"]
        return found[0]["alarm_id"] if found else None

    alarm_id: str = eventually(raised, timeout=30)
    response = httpx.post(
        f"{live.url}/alarms/{alarm_id}/comments",
        json={"text": "困人乘客已安抚，保持通话"},
        headers={"Authorization": f"Bearer {token(live, 'chen')}"},
    )
    assert response.status_code == 201, response.text
    return alarm_id


def test_the_overview_fits_a_1080p_wall_in_chinese(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    alarm_id = _entrapment(live)
    context = browser.new_context(**WALL, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/wall")
    sign_in(page, "chen")
    item = page.locator(f'#w-alarm-list li[data-id="{alarm_id}"]')
    item.wait_for()
    assert "电梯困人" in item.inner_text()
    page.wait_for_selector(f'#w-alarm-list li[data-id="{alarm_id}"] .comment')
    assert "chen：困人乘客已安抚，保持通话" in item.inner_text()  # comments are shown
    page.wait_for_selector("#w-clock-list li.w-clock")  # the entrapment's order is timed
    assert "剩余" in page.inner_text("#w-clock-list") or "已超时" in page.inner_text(
        "#w-clock-list"
    )
    page.wait_for_selector('#w-rooms .w-dev[data-device="elevator-3"].alarmed')
    assert page.locator("#w-rooms .w-room").count() > 3
    page.wait_for_selector("#w-rounds li")
    assert "%" in page.inner_text("#w-rounds")
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    assert page.evaluate("document.documentElement.scrollWidth") <= 1920
    page.fill("#w-query", "no such thing anywhere")
    page.click("#w-search button")
    page.wait_for_selector("#w-history-list li:has-text('没有找到')")
    assert a11y_problems(page) == []
    page.wait_for_selector('#live[data-state="live"]')
    screenshot(page, "wall-overview-zh-1920")
    assert console.errors == []


def test_the_overview_stacks_on_a_phone_in_english(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    context = browser.new_context(**PHONE, locale="en-GB", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/wall")
    sign_in(page, "wang")
    page.wait_for_selector("#w-rooms .w-room")
    assert page.inner_text("#w-equipment-title") == "Equipment by room"
    assert page.inner_text("#w-clocks-title") == "Clocks about to run out"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert a11y_problems(page) == []
    screenshot(page, "wall-overview-en-390")
    assert console.errors == []
