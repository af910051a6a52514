"""The duty room's wall overview (/wall): alarms with their comments, the clocks nearest
to running out, equipment by room, patrol progress and the history search on one
1920×1080 screen without scrolling and stacked on a phone, in zh-CN and en."""

from __future__ import annotations

from typing import Any

import httpx

from tests.web.conftest import screenshot
from tests.web.langs import MATRIX, Case, chrome_texts, overflowing, wrong_language
from tests.web.pages import Console, a11y_problems, api_get, eventually, sign_in, token
from tests.web.stack import LiveStack


def _entrapment(live: LiveStack, comment: str) -> str:
    live.call(lambda: live.estate.inject("elevator-3", "entrapment"))  # type: ignore[union-attr]

    def raised() -> str | None:
        alarms = api_get(live, "/alarms", "chen")
        found = [a for a in alarms if a["category"] == "entrapment" and a["target"] == "elevator-3"]
        return found[0]["alarm_id"] if found else None

    alarm_id: str = eventually(raised, timeout=30)
    response = httpx.post(
        f"{live.url}/alarms/{alarm_id}/comments",
        json={"text": comment},
        headers={"Authorization": f"Bearer {token(live, 'chen')}"},
    )
    assert response.status_code == 201, response.text
    return alarm_id


@MATRIX
def test_the_overview(
    browser: Any, live: LiveStack, console: Console, pages: list[Any], case: Case
) -> None:
    """On the wall (1920×1080) everything fits one screen without scrolling, in English
    (longer words) as in Chinese; on a phone the panels stack, no sideways scrolling."""

    def t(key: str, **params: object) -> str:
        return case.t("wall", key, **params)

    comment = (
        "困人乘客已安抚，保持通话" if case.lang == "zh" else "Passengers calmed, line kept open"
    )
    alarm_id = _entrapment(live, comment)
    page = console.watch(case.context(browser).new_page())
    pages.append(page)
    page.goto(f"{live.url}/wall")
    sign_in(page, "chen")
    item = page.locator(f'#w-alarm-list li[data-id="{alarm_id}"]')
    item.wait_for()
    assert t("category.entrapment") in item.inner_text()
    page.wait_for_selector(f'#w-alarm-list li[data-id="{alarm_id}"] .comment:has-text("{comment}")')
    assert t("wall.comment", by="chen", note=comment) in item.inner_text()  # comments are shown
    page.wait_for_selector("#w-clock-list li.w-clock")  # the entrapment's order is timed
    clocks = page.inner_text("#w-clock-list")
    assert t("wall.left", left="") in clocks or t("wall.over", left="") in clocks
    page.wait_for_selector('#w-rooms .w-dev[data-device="elevator-3"].alarmed')
    assert page.locator("#w-rooms .w-room").count() > 3
    assert page.inner_text("#w-equipment-title") == t("wall.equipment")
    assert page.inner_text("#w-clocks-title") == t("wall.clocks")
    page.wait_for_selector("#w-rounds li")
    assert "%" in page.inner_text("#w-rounds")
    if case.width == 1920:
        assert page.evaluate("document.documentElement.scrollHeight") <= 1080
        # every room in full: a wall nobody scrolls must not cut the last ones off
        rooms = page.evaluate(
            "(() => { const r = document.querySelector('#w-rooms');"
            " return [r.scrollHeight, r.clientHeight]; })()"
        )
        assert rooms[0] <= rooms[1] + 1, rooms
    # the order's title in the page's language (the API sends both)
    order = next(o for o in api_get(live, "/workorders", "chen") if o["alarm_id"] == alarm_id)
    want = order["title_zh"] if case.lang == "zh" and order.get("title_zh") else order["title"]
    assert want in clocks, (want, clocks)
    page.fill("#w-query", "no such thing anywhere")
    page.click("#w-search button")
    page.wait_for_selector(f"#w-history-list li:has-text('{t('wall.noHistory')}')")
    if case.width == 1920:  # the history's answer does not push the wall past one screen
        assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    assert wrong_language(case, chrome_texts(page, case)) == []
    assert not (wide := overflowing(page, case)), wide
    assert a11y_problems(page) == []
    page.wait_for_selector('#live[data-state="live"]')
    screenshot(page, f"wall-overview-{case.name}")
    assert console.errors == []
