"""The supervisor's and quality staff's page (/quality): SLA compliance per clock, the
week's sample of closed orders called back, reviews due and unsigned handovers, in Chinese
on a desk screen and in English on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.web.conftest import screenshot
from tests.web.pages import PHONE, WALL, Console, a11y_problems, sign_in, token
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


def _post(live: LiveStack, user: str, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(
        f"{live.url}{path}", json=body, headers={"Authorization": f"Bearer {token(live, user)}"}
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def _closed_order(live: LiveStack) -> str:
    """An owner's report taken through to closed, so this week's sample has one."""
    order = _post(
        live,
        "sun",
        "/workorders",
        {
            "site": "harbour-view",
            "title": "走廊灯不亮",
            "trade": "water_electric",
            "location": "一号楼 3 层走廊",
            "requester_name": "赵先生",
            "requester_contact": "139 0000 0002",
        },
    )
    path = f"/workorders/{order['id']}"
    eta = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    _post(live, "chen", f"{path}/dispatch", {"assignee": "liu", "contact": "138", "eta": eta})
    _post(live, "liu", f"{path}/accept", {})
    _post(live, "liu", f"{path}/arrive", {})
    _post(live, "liu", f"{path}/complete", {"result": "更换灯管"})
    _post(live, "sun", f"{path}/verify", {"callback_note": "已亮"})
    _post(live, "sun", f"{path}/close", {})
    return str(order["id"])


def test_sla_compliance_and_the_weekly_sample_in_chinese(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    order_id = _closed_order(live)
    context = browser.new_context(**WALL, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/quality")
    sign_in(page, "wang")
    page.wait_for_selector('#sla-table tr[data-clock="dispatch"]')
    assert "派单" in page.inner_text("#sla-table")
    assert "工单" in page.inner_text("#sla-summary")
    page.wait_for_selector("#reviews li")
    page.wait_for_selector("#handovers li")
    page.click("#draw")
    item = page.locator(f'#sample li[data-id="{order_id}"]')
    item.wait_for()
    assert "走廊灯不亮" in item.inner_text()
    item.locator('button[data-result="satisfied"]').click()
    page.locator("dialog[open]").get_by_label("回访记录（可选）").fill("赵先生表示满意")
    page.locator("dialog[open]").get_by_role("button", name="满意").click()
    page.wait_for_selector(f'#sample li[data-id="{order_id}"][data-result="satisfied"]')
    assert "回访：满意 · 赵先生表示满意" in item.inner_text()
    assert "已回访 1 张" in page.inner_text("#sample-summary")
    assert page.get_attribute("nav.links a[href='/records']", "href") == "/records"
    assert a11y_problems(page) == []
    screenshot(page, "quality-zh-1920")
    assert console.errors == []


def test_the_supervisor_page_on_a_phone_in_english(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    context = browser.new_context(**PHONE, locale="en-GB", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/quality")
    sign_in(page, "wang")
    page.wait_for_selector('#sla-table tr[data-clock="dispatch"]')
    assert page.inner_text("#sla-title") == "SLA compliance (last 7 days)"
    assert "Dispatch" in page.inner_text("#sla-table")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert a11y_problems(page) == []
    screenshot(page, "quality-en-390")
    assert console.errors == []
