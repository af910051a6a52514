"""The records page: the outgoing duty engineer files the shift handover in Chinese on a
desk screen, the incoming one (another person, in another browser) signs it in English on
a phone and it is frozen (a shift is filed and signed once, so the two languages and sizes
share the one task); the fault analysis draws its chart in SVG."""

from __future__ import annotations

from typing import Any

import httpx

from tests.web.conftest import screenshot
from tests.web.langs import CASES, Case, chrome_texts, overflowing, wrong_language
from tests.web.pages import Console, a11y_problems, sign_in, token
from tests.web.stack import LiveStack


def _page(
    browser: Any,
    live: LiveStack,
    console: Console,
    user: str,
    hash_: str = "",
    case: Case = CASES[0],
) -> Any:
    context = case.context(browser)
    page = console.watch(context.new_page())
    page.goto(f"{live.url}/records{hash_}")
    sign_in(page, user)
    page.wait_for_selector("#fault-chart > *")
    return page


def test_a_handover_is_filed_and_signed_by_the_next_shift(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    outgoing = _page(browser, live, console, "chen")
    pages.append(outgoing)
    assert outgoing.inner_text("#handover-title") == "交接班"
    outgoing.click("#handover-file")
    outgoing.wait_for_selector('#handover-state[data-state="filed"]')
    view = outgoing.inner_text("#handover-view")
    for text in (
        "交接班记录",
        "异常读数",
        "超出正常范围",
        "离线设备",
        "交班人：陈值班",
        "等待接班人签字",
    ):
        assert text in view, text
    assert outgoing.locator("#handover-sign").count() == 0  # not by the one who filed
    handover_id = outgoing.get_attribute("#handover-view", "data-id")
    assert handover_id

    zh = CASES[0]
    assert wrong_language(zh, chrome_texts(outgoing, zh)) == []
    assert not (wide := overflowing(outgoing, zh)), wide
    screenshot(outgoing, "records-zh-1920")

    en = CASES[1]  # the incoming engineer reads English, on a phone
    incoming = _page(browser, live, console, "zhou", f"#handover={handover_id}", en)
    pages.append(incoming)
    assert incoming.inner_text("#handover-title") == en.t("records", "handover.title")
    incoming.click("#handover-sign")
    incoming.wait_for_selector('#handover-state[data-state="signed"]')
    signatures = incoming.locator("#signatures li")
    assert signatures.count() == 2
    assert en.t("records", "handover.role.incoming") in signatures.nth(1).inner_text()
    assert en.t("records", "handover.frozen") in incoming.inner_text("#handover-view")
    assert wrong_language(en, chrome_texts(incoming, en)) == []
    assert not (wide := overflowing(incoming, en)), wide
    assert a11y_problems(incoming) == []
    screenshot(incoming, "records-en-390")

    third = httpx.post(
        f"{live.url}/handovers/{handover_id}/sign",
        json={},
        headers={"Authorization": f"Bearer {token(live, 'chen')}"},
    )
    assert third.status_code == 409  # frozen
    assert console.errors == []


def test_the_fault_analysis_draws_its_chart(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    live.call(lambda: live.estate.inject("elevator-3", "entrapment"))  # type: ignore[union-attr]
    page = _page(browser, live, console, "wang")
    pages.append(page)
    assert page.inner_text("#faults-title") == "故障分析"

    def drawn() -> bool:
        page.click("#faults-form button[type=submit]")
        page.wait_for_timeout(500)
        return page.locator('#fault-chart svg g[data-key="elevator-3"]').count() == 1

    for _ in range(40):
        if drawn():
            break
    assert page.locator('#fault-chart svg g[data-key="elevator-3"]').count() == 1
    assert "2号楼A梯" in page.inner_text("#fault-chart")
    assert "故障" in page.inner_text("#faults-summary")
    page.select_option("#faults-by", "kind")
    page.click("#faults-form button[type=submit]")
    page.wait_for_selector('#fault-chart svg g[data-key="elevator"]')
    assert "电梯" in page.inner_text("#fault-chart")
    assert not page.is_hidden("#fault-table")
    assert a11y_problems(page) == []
    assert console.errors == []
