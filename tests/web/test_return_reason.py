"""The duty board's order card says why an order came back to the dispatch queue: the
technician's reason for declining it or handing it back, live and after a reload, in
Chinese on a desk screen and in English on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.web.conftest import screenshot
from tests.web.langs import CASE_PER_LANGUAGE, Case, overflowing
from tests.web.pages import Console, a11y_problems, sign_in, token
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


def _dispatched(live: LiveStack, title: str) -> str:
    order = _post(
        live,
        "sun",
        "/workorders",
        {
            "site": "harbour-view",
            "title": title,
            "trade": "water_electric",
            "location": "一号楼 3 层走廊",
            "requester_name": "赵先生",
            "requester_contact": "139 0000 0002",
        },
    )
    eta = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    body = {"assignee": "liu", "contact": "138", "eta": eta}
    _post(live, "chen", f"/workorders/{order['id']}/dispatch", body)
    return str(order["id"])


@CASE_PER_LANGUAGE
def test_the_card_says_why_an_order_came_back(
    browser: Any, live: LiveStack, console: Console, pages: list[Any], case: Case
) -> None:
    def t(key: str, **params: object) -> str:
        return case.t("dashboard", key, **params)

    zh = case.lang == "zh"
    declined = _dispatched(live, f"走廊灯不亮 {case.name}")
    handed = _dispatched(live, f"水龙头漏水 {case.name}")
    no_ladder = "没有梯子，够不着" if zh else "No ladder long enough"
    _post(live, "liu", f"/workorders/{declined}/reject", {"reason": no_ladder})
    _post(live, "liu", f"/workorders/{handed}/accept", {})

    page = console.watch(case.context(browser).new_page())
    pages.append(page)
    page.goto(f"{live.url}/")
    sign_in(page, "chen")
    page.wait_for_selector('#live[data-state="live"]')
    page.click("#tab-orders")
    page.wait_for_selector("#view-orders:not([hidden])")
    card = page.locator(f'#orders .order-card[data-id="{declined}"][data-state="new"]')
    card.wait_for()
    why = t("order.returnedWhy.reject", by="liu", reason=no_ladder)
    assert card.locator(".returned").inner_text() == why  # read from the list at load

    part = "要换的阀门没有库存" if zh else "The valve is out of stock"
    _post(live, "liu", f"/workorders/{handed}/hand-back", {"reason": part})
    live_card = page.locator(f'#orders .order-card[data-id="{handed}"][data-state="new"] .returned')
    live_card.wait_for()  # the stream's event brings it
    assert live_card.inner_text() == t("order.returnedWhy.hand_back", by="liu", reason=part)

    page.reload()
    page.wait_for_selector('#live[data-state="live"]')
    page.click("#tab-orders")
    shown = page.locator(f'#orders .order-card[data-id="{handed}"] .returned')
    shown.wait_for()
    assert shown.inner_text() == t("order.returnedWhy.hand_back", by="liu", reason=part)
    assert not (wide := overflowing(page, case)), wide
    assert a11y_problems(page) == []
    screenshot(page, f"order-returned-{case.name}")
    assert console.errors == []
