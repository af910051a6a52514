"""The admin page (/admin): a user is created, given another role, has their password
reset and is deactivated (the API then refuses them); a maintenance plan is created and
paused — in Chinese on a desk screen, and in English on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web.conftest import screenshot
from tests.web.pages import PHONE, WALL, Console, a11y_problems, api_get, sign_in
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


def _sign_in_status(live: LiveStack, username: str, password: str) -> int:
    response = httpx.post(
        f"{live.url}/auth/token", data={"username": username, "password": password}
    )
    return response.status_code


def test_users_and_plans_in_chinese(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    context = browser.new_context(**WALL, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/admin")
    sign_in(page, "li")
    page.wait_for_selector('#users li[data-user="liu"]')
    assert page.inner_text("#users-title") == "用户"

    page.click("text=新建用户")
    page.fill("#u-username", "ma-new")
    page.fill("#u-name", "马师傅")
    page.select_option("#u-role", "technician")
    page.fill("#u-contact", "138 0000 0009")
    page.fill("#u-password", "first long password")
    page.click("#user-form button[type=submit]")
    card = page.locator('#users li[data-user="ma-new"]')
    card.wait_for()
    assert _sign_in_status(live, "ma-new", "first long password") == 200

    card.get_by_label("ma-new 的角色").select_option("duty_engineer")
    page.wait_for_selector("#toast:has-text('已保存：马师傅')")
    assert any(
        u["username"] == "ma-new" for u in api_get(live, "/users", "li", role="duty_engineer")
    )

    card.locator('[data-action="password"]').click()
    page.locator("dialog[open]").get_by_label("新密码（至少 10 位）").fill("second long password")
    page.locator("dialog[open]").get_by_role("button", name="重置密码").click()
    page.wait_for_selector("#toast:has-text('已保存')")
    assert _sign_in_status(live, "ma-new", "second long password") == 200

    page.locator('#users li[data-user="ma-new"] [data-action="deactivate"]').click()
    page.wait_for_selector('#users li[data-user="ma-new"][data-active="false"]')
    assert "已停用" in page.inner_text('#users li[data-user="ma-new"]')
    assert _sign_in_status(live, "ma-new", "second long password") == 401

    page.click("text=新建计划")
    page.fill("#p-title", "二号楼电梯半月保养")
    page.select_option("#p-device", "elevator-3")
    assert page.input_value("#p-trade") == "elevator"
    page.fill("#p-interval", "15")
    page.click("#plan-form button[type=submit]")
    plan = page.locator("#plans li", has_text="二号楼电梯半月保养")
    plan.wait_for()
    assert "每 15 天" in plan.inner_text()
    plan.locator('[data-action="pause"]').click()
    page.wait_for_selector('#plans li[data-active="false"]')
    assert "已暂停" in page.locator("#plans li", has_text="二号楼电梯半月保养").inner_text()
    assert a11y_problems(page) == []
    screenshot(page, "admin-zh-1920")
    assert console.errors == []


def test_the_admin_page_on_a_phone_in_english(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    context = browser.new_context(**PHONE, locale="en-GB", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/admin")
    sign_in(page, "li")
    page.wait_for_selector('#users li[data-user="liu"]')
    assert page.inner_text("#plans-title") == "Preventive maintenance plans"
    assert "Technician" in page.inner_text('#users li[data-user="liu"]')
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert a11y_problems(page) == []
    screenshot(page, "admin-en-390")
    assert console.errors == []
