"""The supervisor's and quality staff's page (/quality): SLA compliance per clock, the
week's sample of closed orders called back, reviews due and unsigned handovers, in Chinese
on a desk screen and in English on a phone (tests/web/langs.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.web.conftest import screenshot
from tests.web.langs import (
    CASE_PER_LANGUAGE,
    CASES,
    Case,
    chrome_texts,
    overflowing,
    wrong_language,
)
from tests.web.pages import Console, a11y_problems, sign_in, token
from tests.web.stack import LiveStack


def _post(live: LiveStack, tokens: dict[str, str], user: str, path: str, body: Any) -> Any:
    if user not in tokens:
        tokens[user] = token(live, user)
    response = httpx.post(
        f"{live.url}{path}", json=body, headers={"Authorization": f"Bearer {tokens[user]}"}
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def _closed_order(live: LiveStack, tokens: dict[str, str], n: int) -> str:
    """An owner's report taken through to closed, so this week's sample has one."""
    order = _post(
        live,
        tokens,
        "sun",
        "/workorders",
        {
            "site": "harbour-view",
            "title": f"走廊灯不亮 {n}",
            "trade": "water_electric",
            "location": "一号楼 3 层走廊",
            "requester_name": "赵先生",
            "requester_contact": "139 0000 0002",
        },
    )
    path = f"/workorders/{order['id']}"
    eta = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    body = {"assignee": "liu", "contact": "138", "eta": eta}
    _post(live, tokens, "chen", f"{path}/dispatch", body)
    _post(live, tokens, "liu", f"{path}/accept", {})
    _post(live, tokens, "liu", f"{path}/arrive", {})
    _post(live, tokens, "liu", f"{path}/complete", {"result": "更换灯管"})
    _post(live, tokens, "sun", f"{path}/verify", {"callback_note": "已亮"})
    _post(live, tokens, "sun", f"{path}/close", {})
    return str(order["id"])


@pytest.fixture(scope="module")
def closed_orders(live: LiveStack) -> list[str]:
    """Six orders closed before the week's sample is drawn (it is drawn once a week): its
    20 % is two, one for each case to call back."""
    tokens: dict[str, str] = {}
    return [_closed_order(live, tokens, n) for n in range(6)]


@CASE_PER_LANGUAGE
def test_sla_compliance_and_the_weekly_sample(
    browser: Any,
    live: LiveStack,
    console: Console,
    pages: list[Any],
    closed_orders: list[str],
    case: Case,
) -> None:
    def t(key: str, **params: object) -> str:
        return case.t("quality", key, **params)

    page = console.watch(case.context(browser).new_page())
    pages.append(page)
    page.goto(f"{live.url}/quality")
    sign_in(page, "wang")
    page.wait_for_selector('#sla-table tr[data-clock="dispatch"]')
    assert page.inner_text("#sla-title") == t("quality.sla")
    assert t("clock.dispatch") in page.inner_text("#sla-table")
    assert t("quality.summary", orders=len(closed_orders)) in page.inner_text("#sla-summary")
    page.wait_for_selector("#reviews li")
    page.wait_for_selector("#handovers li")
    page.click("#draw")
    page.wait_for_selector("#sample li[data-id]")
    item = page.locator("#sample li[data-id][data-result='']").first
    order_id = item.get_attribute("data-id")
    assert order_id in closed_orders
    item = page.locator(f'#sample li[data-id="{order_id}"]')
    assert "走廊灯不亮" in item.inner_text()
    note = "赵先生表示满意" if case.lang == "zh" else "Mr Zhao is happy"
    item.locator('button[data-result="satisfied"]').click()
    page.locator("dialog[open]").get_by_label(t("quality.callbackNote")).fill(note)
    page.locator("dialog[open]").get_by_role("button", name=t("quality.satisfied")).click()
    page.wait_for_selector(f'#sample li[data-id="{order_id}"][data-result="satisfied"]')
    assert f"{t('quality.result.satisfied')} · {note}" in item.inner_text()
    done = page.locator('#sample li[data-result="satisfied"]').count()
    assert done == 1 + CASES.index(case)
    summary = t("quality.sampleSummary", population=6, drawn=2, done=done)
    assert page.inner_text("#sample-summary") == summary
    assert page.get_attribute("nav.links a[href='/records']", "href") == "/records"
    assert wrong_language(case, chrome_texts(page, case)) == []
    assert not (wide := overflowing(page, case)), wide
    assert a11y_problems(page) == []
    screenshot(page, f"quality-{case.name}")
    assert console.errors == []
