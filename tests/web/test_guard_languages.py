"""The guard's page: a typed scan recorded on the round in English on a phone and on a desk
screen (a guard post's PC), and in Chinese on the desk screen (test_e2e.py does Chinese on
a phone)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import screenshot
from tests.web.langs import CASES, CROSSED, Case, chrome_texts, overflowing, wrong_language
from tests.web.pages import Console, a11y_problems, api_get, eventually, sign_in

SITE = "harbour-view"
# One checkpoint per case: a second scan of the same tag within minutes is a repeat.
TAGS = {
    CASES[1]: ("04A1B20011", "pump-room"),
    CROSSED[1]: ("04A1B20012", "fire-pump-room"),
    CASES[0]: ("04A1B20016", "generator-room"),
}


@pytest.mark.parametrize("case", list(TAGS), ids=lambda c: c.name)
def test_a_typed_scan(
    browser: Any, live: Any, console: Console, pages: list[Any], case: Case
) -> None:
    def t(key: str) -> str:
        return case.t("guard", key)

    tag, checkpoint = TAGS[case]
    context = browser.new_context(
        **case.screen, locale=case.locale, timezone_id="Asia/Shanghai", service_workers="block"
    )
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/guard")
    sign_in(page, "zhang")
    page.wait_for_selector("#round-name:not(:empty)")
    assert page.inner_text("#net") == t("guard.online")
    page.get_by_label(t("guard.tagCode")).fill(tag.lower())
    page.get_by_role("button", name=t("guard.record")).click()
    scan = page.locator(f'#recent li[data-tag="{tag}"]')
    scan.wait_for(timeout=20_000)
    eventually(lambda: scan.get_attribute("data-status") == "accepted")
    scans = api_get(live, "/patrol/scans", site=SITE, guard="guard-zhang")
    assert checkpoint in {s["checkpoint"] for s in scans if s["tag_uid"] == tag}
    assert wrong_language(case, chrome_texts(page, case) + "\n" + scan.inner_text()) == []
    assert not (wide := overflowing(page, case)), wide
    assert a11y_problems(page) == []
    screenshot(page, f"guard-{case.name}")
    assert console.errors == []
