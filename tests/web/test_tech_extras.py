"""The technician's page: the device's live readings of an order and a note to the duty
room, on a phone in Chinese and on a desk screen in English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.web.conftest import screenshot
from tests.web.pages import PHONE, WALL, Console, a11y_problems, api_get, sign_in, token
from tests.web.stack import LiveStack


def _post(live: LiveStack, user: str, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(
        f"{live.url}{path}", json=body, headers={"Authorization": f"Bearer {token(live, user)}"}
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def _order_for_liu(live: LiveStack, title: str) -> str:
    order = _post(
        live,
        "sun",
        "/workorders",
        {
            "site": "harbour-view",
            "title": title,
            "trade": "elevator",
            "device": "elevator-4",
            "location": "二号楼",
            "requester_name": "钱女士",
            "requester_contact": "139 0000 0003",
        },
    )
    eta = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    _post(
        live,
        "chen",
        f"/workorders/{order['id']}/dispatch",
        {"assignee": "liu", "contact": "138 0000 0001", "eta": eta},
    )
    return str(order["id"])


def test_readings_and_a_note_on_the_phone_in_chinese(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    order_id = _order_for_liu(live, "电梯运行有异响")
    context = browser.new_context(**PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/tech")
    sign_in(page, "liu")
    card = page.locator(f'#orders li[data-id="{order_id}"]')
    card.wait_for()
    card.locator("details.device-readings summary").click()
    card.locator(".readings dd").first.wait_for()
    assert card.locator(".readings dt").count() > 3
    card.locator('[data-action="note"]').click()
    page.locator("dialog[open]").get_by_label("留言内容").fill("需更换导靴，明天带配件")
    page.locator("dialog[open]").get_by_role("button", name="发送").click()
    page.wait_for_selector("#toast:has-text('留言已发送给值班室')")
    log = api_get(live, f"/workorders/{order_id}", "chen")["log"]
    assert any(e["note"] == "需更换导靴，明天带配件" for e in log)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert a11y_problems(page) == []
    screenshot(page, "tech-readings-zh-390")
    assert console.errors == []


def test_readings_on_a_desk_screen_in_english(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    order_id = _order_for_liu(live, "Lift noise")
    context = browser.new_context(**WALL, locale="en-GB", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/tech")
    sign_in(page, "liu")
    card = page.locator(f'#orders li[data-id="{order_id}"]')
    card.wait_for()
    summary = card.locator("details.device-readings summary")
    assert summary.inner_text() == "Live readings of the device"
    summary.click()
    card.locator(".readings dd").first.wait_for()
    assert card.locator('[data-action="note"]').inner_text() == "Note to the duty room"
    assert a11y_problems(page) == []
    assert console.errors == []
