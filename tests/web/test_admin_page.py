"""The admin page (/admin): a user is created, given another role, has their password
reset and is deactivated (the API then refuses them); a maintenance plan is created and
paused — in each language on a desk screen and on a phone (tests/web/langs.py)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.web.conftest import screenshot
from tests.web.langs import MATRIX, Case, chrome_texts, overflowing, wrong_language
from tests.web.pages import Console, a11y_problems, api_get, eventually, sign_in
from tests.web.stack import LiveStack


def _sign_in_status(live: LiveStack, username: str, password: str) -> int:
    response = httpx.post(
        f"{live.url}/auth/token", data={"username": username, "password": password}
    )
    return response.status_code


@MATRIX
def test_users_and_plans(
    browser: Any, live: LiveStack, console: Console, pages: list[Any], case: Case
) -> None:
    def t(key: str, **params: object) -> str:
        return case.t("admin", key, **params)

    user, name = f"ma-{case.name}", ("马师傅" if case.lang == "zh" else "Mr Ma") + case.name
    plan_title = ("二号楼电梯半月保养" if case.lang == "zh" else "Lift fortnightly") + case.name
    page = console.watch(case.context(browser).new_page())
    pages.append(page)
    page.goto(f"{live.url}/admin")
    sign_in(page, "li")
    page.wait_for_selector('#users li[data-user="liu"]')
    assert page.inner_text("#users-title") == t("admin.users")
    assert page.inner_text("#plans-title") == t("admin.plans")
    assert t("role.technician") in page.inner_text('#users li[data-user="liu"]')

    page.locator("summary", has_text=t("admin.newUser")).click()
    page.fill("#u-username", user)
    page.fill("#u-name", name)
    page.select_option("#u-role", "technician")
    page.fill("#u-contact", "138 0000 0009")
    page.fill("#u-password", "first long password")
    page.click("#user-form button[type=submit]")
    card = page.locator(f'#users li[data-user="{user}"]')
    card.wait_for()
    assert _sign_in_status(live, user, "first long password") == 200

    card.get_by_label(t("admin.roleOf", name=user)).select_option("duty_engineer")
    page.wait_for_selector(f"#toast:has-text('{t('admin.saved', name=name)}')")
    assert any(u["username"] == user for u in api_get(live, "/users", "li", role="duty_engineer"))

    card.locator('[data-action="password"]').click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label(t("admin.newPassword")).fill("second long password")
    dialog.get_by_role("button", name=t("admin.resetPassword")).click()
    page.wait_for_selector("dialog[open]", state="detached")
    assert eventually(lambda: _sign_in_status(live, user, "second long password") == 200)

    card.locator('[data-action="deactivate"]').click()
    page.wait_for_selector(f'#users li[data-user="{user}"][data-active="false"]')
    assert t("admin.inactive") in card.inner_text()
    assert _sign_in_status(live, user, "second long password") == 401

    page.locator("summary", has_text=t("admin.newPlan")).click()
    page.fill("#p-title", plan_title)
    page.select_option("#p-device", "elevator-3")
    assert page.input_value("#p-trade") == "elevator"
    page.fill("#p-interval", "15")
    page.click("#plan-form button[type=submit]")
    plan = page.locator("#plans li", has_text=plan_title)
    plan.wait_for()
    assert t("admin.every", n=15) in plan.inner_text()
    plan.locator('[data-action="pause"]').click()
    page.wait_for_selector(f'#plans li[data-active="false"]:has-text("{plan_title}")')
    assert t("admin.paused") in plan.inner_text()

    shown = chrome_texts(page, case) + "\n" + plan.inner_text()
    assert wrong_language(case, shown, typed=(name, plan_title, user)) == []
    assert not (wide := overflowing(page, case)), wide
    assert a11y_problems(page) == []
    screenshot(page, f"admin-{case.name}")
    assert console.errors == []
