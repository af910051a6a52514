"""Customer service's page (客服): signing in on the wall screen's address lands on it; an
owner's report is logged, answered, called back and closed in Chinese on a desk screen,
and a phoned-in entrapment gets its clocks in English on a phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.web.conftest import screenshot
from tests.web.pages import PHONE, WALL, Console, a11y_problems, sign_in, token
from tests.web.stack import LiveStack


def _post(live: LiveStack, user: str, path: str, body: dict[str, Any]) -> None:
    response = httpx.post(
        f"{live.url}{path}", json=body, headers={"Authorization": f"Bearer {token(live, user)}"}
    )
    assert response.status_code == 200, response.text


def _card(page: Any, title: str) -> Any:
    return page.locator("#orders > li", has_text=title)


def test_an_owners_report_from_intake_to_close_in_chinese(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    context = browser.new_context(**WALL, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/")
    sign_in(page, "sun")  # the wall screen's address...
    page.wait_for_url(f"{live.url}/service")  # ...takes customer service to its own page
    page.wait_for_selector("#app:not([hidden]) #in-category option", state="attached")
    assert page.is_hidden("#login-view")  # still signed in
    assert page.inner_text("#intake-title") == "登记业主报修"

    title = "12B 卫生间天花板漏水"
    page.fill("#in-title", title)
    page.fill("#in-location", "12B 卫生间")
    page.fill("#in-name", "陈女士")
    page.fill("#in-contact", "139 0000 0000")
    page.click("#intake-submit")
    assert page.inner_text("#intake-error") == "一般报修请选择工种"
    page.select_option("#in-trade", "water_electric")
    page.click("#intake-submit")
    card = _card(page, title)
    card.wait_for()
    assert card.get_attribute("data-state") == "new"
    clocks = card.locator(".clocks").inner_text()
    for clock in ("派单", "进度反馈", "答复业主"):
        assert clock in clocks, clocks
    assert "陈女士 · 139 0000 0000" in card.inner_text()
    screenshot(page, "service-zh-1920")

    card.locator('[data-action="answer"]').click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("告知业主的内容").fill("已安排水电维修，今天下午上门")
    dialog.get_by_role("button", name="答复业主").click()
    page.wait_for_selector("#toast:has-text('已记录答复业主')")
    card.locator('.clocks li[data-clock="requester_answer"]').wait_for(state="detached")
    assert "上次答复业主" in card.inner_text()

    order_id = card.get_attribute("data-id")
    dispatch = {"assignee": "liu", "contact": "138 0000 0001", "eta": _in_minutes(30)}
    _post(live, "chen", f"/workorders/{order_id}/dispatch", dispatch)
    _post(live, "liu", f"/workorders/{order_id}/accept", {})
    _post(live, "liu", f"/workorders/{order_id}/arrive", {})
    _post(live, "liu", f"/workorders/{order_id}/complete", {"result": "更换防水层，试水无渗漏"})
    page.click("#refresh")
    page.wait_for_selector(f'#orders > li[data-id="{order_id}"][data-state="completed"]')
    assert "回访" in card.locator(".clocks").inner_text()
    assert "处理结果：更换防水层，试水无渗漏" in card.inner_text()

    card.locator('[data-action="verify"]').click()
    page.locator("dialog[open]").get_by_label("回访记录").fill("陈女士确认已不漏水，满意")
    page.locator("dialog[open]").get_by_role("button", name="回访").click()
    page.wait_for_selector(f'#orders > li[data-id="{order_id}"][data-state="verified"]')
    card.locator('[data-action="close"]').click()
    page.locator("dialog[open]").get_by_role("button", name="关闭工单").click()
    card.wait_for(state="detached")  # no longer open
    page.check("#show-closed")
    page.wait_for_selector(f'#orders > li[data-id="{order_id}"][data-state="closed"]')
    assert "回访：陈女士确认已不漏水，满意" in _card(page, title).inner_text()
    assert a11y_problems(page) == []
    assert console.errors == []


def _in_minutes(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def test_a_phoned_in_entrapment_on_a_phone_in_english(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    context = browser.new_context(**PHONE, locale="en-GB", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/service")
    sign_in(page, "sun")
    page.wait_for_selector("#in-category option[value=entrapment]", state="attached")
    assert page.inner_text("#intake-title") == "Log an owner's report"
    page.select_option("#in-category", "entrapment")
    title = "Owner trapped in lift, tower 2"
    page.fill("#in-title", title)
    page.fill("#in-location", "Tower 2, between 5 and 6")
    page.fill("#in-name", "Mr Li")
    page.fill("#in-contact", "139 0000 0001")
    page.click("#intake-submit")
    card = _card(page, title)
    card.wait_for()
    text = card.inner_text()
    assert "Urgent" in text
    assert "Elevator entrapment" in text
    clocks = card.locator(".clocks").inner_text()
    for clock in ("Dispatch", "Response", "On site"):
        assert clock in clocks, clocks
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # no sideways scrolling on a phone
    assert a11y_problems(page) == []
    card.scroll_into_view_if_needed()
    page.evaluate("document.querySelector('#toast').hidden = true")  # not over the card
    screenshot(page, "service-en-390")
    assert console.errors == []
