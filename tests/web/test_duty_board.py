"""The duty engineer's board in each language and size: an entrapment acknowledged in place
and its order dispatched (test_e2e.py does it in Chinese on the wall; here in English on
both sizes and in Chinese on a phone), and the order card saying why an order came back
to the dispatch queue (a technician's decline or hand-back reason), live and after a
reload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.web.conftest import screenshot
from tests.web.langs import (
    CASE_PER_LANGUAGE,
    CASES,
    CROSSED,
    Case,
    chrome_texts,
    overflowing,
    wrong_language,
)
from tests.web.pages import Console, a11y_problems, api_get, eventually, sign_in, token
from tests.web.stack import LiveStack


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


# zh-CN on the wall is test_e2e.py's; each other case acknowledges an entrapment of a car
# of its own (the stack's rules stand-in watches these three).
CARS = {CASES[1]: "elevator-3", CROSSED[0]: "elevator-5", CROSSED[1]: "elevator-7"}


@pytest.mark.parametrize("case", list(CARS), ids=lambda c: c.name)
def test_an_entrapment_acknowledged_and_its_order_dispatched(
    browser: Any, live: LiveStack, console: Console, pages: list[Any], case: Case
) -> None:
    def t(key: str, **params: object) -> str:
        return case.t("dashboard", key, **params)

    device = CARS[case]
    live.call(lambda: live.estate.inject(device, "entrapment"))  # type: ignore[union-attr]

    def raised() -> str | None:
        found = [
            a["alarm_id"]
            for a in api_get(live, "/alarms", "chen")
            if a["category"] == "entrapment" and a["target"] == device
        ]
        return found[0] if found else None

    alarm_id: str = eventually(raised, timeout=30)

    def order_opened() -> str | None:
        found: str | None = api_get(live, f"/alarms/{alarm_id}", "chen").get("work_order_id")
        return found

    order_id: str = eventually(order_opened, timeout=10)
    page = console.watch(case.context(browser).new_page())
    pages.append(page)
    page.goto(f"{live.url}/")
    sign_in(page, "chen")
    page.wait_for_selector('#live[data-state="live"]')
    card = page.locator(f'.alarm[data-id="{alarm_id}"]')
    assert t("category.entrapment") in card.inner_text()
    card.locator("button.ack").click()
    note = "已通知维保单位" if case.lang == "zh" else "Lift company called"
    dialog = page.locator("dialog[open]")
    dialog.get_by_label(t("alarm.note")).fill(note)
    dialog.get_by_role("button", name=t("alarm.ack")).click()
    card.locator(f'.state-text:text-is("{t("alarmState.acknowledged")}")').wait_for(timeout=20_000)
    assert t("alarm.ackBy", who="chen") in card.inner_text()
    acked = api_get(live, f"/alarms/{alarm_id}")
    assert acked["acknowledged_by"] == "chen"
    assert [a["note"] for a in acked["actions"]] == [note]

    page.click("#tab-orders")
    order = page.locator(f'#orders .order-card[data-id="{order_id}"]')
    order.get_by_role("button", name=t("action.dispatch")).click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label(t("field.assignee")).fill("liu")
    dialog.get_by_label(t("field.contact")).fill("138 0000 0001")
    dialog.get_by_label(t("field.eta")).fill("20")
    dialog.get_by_role("button", name=t("action.dispatch")).click()
    page.wait_for_selector(f'#orders .order-card[data-id="{order_id}"][data-state="dispatched"]')
    assert t("order.assignee", who="liu") in order.inner_text()
    dispatched = api_get(live, f"/workorders/{order_id}", "chen")
    assert (dispatched["state"], dispatched["assignee"]) == ("dispatched", "liu")

    assert wrong_language(case, chrome_texts(page, case)) == []
    assert not (wide := overflowing(page, case)), wide
    assert a11y_problems(page) == []
    screenshot(page, f"duty-board-{case.name}")
    assert console.errors == []
