"""Issue #25 in the browser: a new order pushed to the technician's page with a sound and a
notification, declined or handed back with a reason, parts recorded, the device's recent
history; customer service logging an owner's report with a photo. Chinese on a phone and
English on a desk screen for the technician; the other way round for customer service."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.web.conftest import screenshot
from tests.web.pages import PHONE, WALL, Console, a11y_problems, api_get, sign_in, token
from tests.web.stack import LiveStack

# Notifications as the page raises them: recorded, since a headless browser shows none.
NOTIFICATIONS = """
window.__notes = [];
window.Notification = class {
  static permission = 'granted';
  static requestPermission() { return Promise.resolve('granted'); }
  constructor(title, options) { window.__notes.push([title, options?.body ?? '']); }
};
"""


def _png() -> bytes:
    """A real 8×8 PNG (an owner's photo stand-in)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xd0\x40\x40" * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _post(live: LiveStack, user: str, path: str, body: dict[str, Any]) -> Any:
    response = httpx.post(
        f"{live.url}{path}", json=body, headers={"Authorization": f"Bearer {token(live, user)}"}
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def _dispatch_new_order(live: LiveStack, title: str) -> str:
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
    body = {"assignee": "liu", "contact": "138 0000 0001", "eta": eta}
    _post(live, "chen", f"/workorders/{order['id']}/dispatch", body)
    return str(order["id"])


def _tech_page(
    browser: Any, live: LiveStack, console: Console, size: dict[str, Any], locale: str
) -> Any:
    context = browser.new_context(**size, locale=locale, timezone_id="Asia/Shanghai")
    context.add_init_script(NOTIFICATIONS)
    page = console.watch(context.new_page())
    page.goto(f"{live.url}/tech")
    sign_in(page, "liu")
    page.wait_for_selector('#live[data-state="live"]')
    page.click("#who")  # a gesture: the page may play sound from now on
    return page


def _pushed(page: Any, live: LiveStack, title: str) -> tuple[str, Any]:
    """Dispatch an order to liu and wait for the page to announce it (no reload, no poll)."""
    order_id = _dispatch_new_order(live, title)
    page.wait_for_selector(f'#alert[data-order="{order_id}"]', timeout=10_000)
    alert = page.locator("#alert")
    assert alert.get_attribute("data-sound") == "true"
    assert alert.get_attribute("data-notified") == "true"
    card = page.locator(f'#orders li[data-id="{order_id}"]')
    card.wait_for()
    return order_id, card


def _dialog(page: Any, fields: dict[str, str], submit: str) -> None:
    dialog = page.locator("dialog[open]")
    for label, value in fields.items():
        dialog.get_by_label(label, exact=True).fill(value)
    dialog.get_by_role("button", name=submit, exact=True).click()
    dialog.wait_for(state="detached")


def test_a_pushed_order_declined_and_parts_recorded_on_a_phone_in_chinese(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    page = _tech_page(browser, live, console, PHONE, "zh-CN")
    pages.append(page)
    assert page.inner_text("#live") == "实时推送已连接"
    declined, card = _pushed(page, live, "电梯门关不严")
    assert page.evaluate("window.__notes")[-1] == ["新工单", "电梯门关不严"]
    assert "新工单" in page.inner_text("#alert")
    card.locator('[data-action="reject"]').click()
    _dialog(page, {"原因": "不是我的片区，请改派"}, "退单")
    page.wait_for_selector("#toast:has-text('已退回值班室重新派单')")
    card.wait_for(state="detached")
    order = api_get(live, f"/workorders/{declined}", "chen")
    assert (order["state"], order["assignee"]) == ("new", None)
    assert order["log"][-1]["note"] == "不是我的片区，请改派"

    kept, card = _pushed(page, live, "电梯运行有异响")
    card.locator('[data-action="accept"]').click()
    _dialog(page, {}, "接单")
    card.locator('[data-action="parts"]').click()
    _dialog(page, {"配件名称": "导靴衬", "数量": "2", "单位": "块"}, "保存")
    card.locator(".parts-list li", has_text="导靴衬 × 2 块").wait_for()
    parts = api_get(live, f"/workorders/{kept}", "chen")["parts_used"]
    assert [(p["name"], p["quantity"], p["unit"], p["by"]) for p in parts] == [
        ("导靴衬", 2, "块", "liu")
    ]
    card.locator("details.device-history summary").click()
    card.locator(".history-box h4", has_text="近期告警").wait_for()
    assert card.locator(".history-box").inner_text().count("近期工单") == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert a11y_problems(page) == []
    screenshot(page, "tech-alert-zh-390")
    assert console.errors == []


def test_a_pushed_order_handed_back_on_a_desk_screen_in_english(
    browser: Any, live: LiveStack, console: Console, pages: list[Any]
) -> None:
    page = _tech_page(browser, live, console, WALL, "en-GB")
    pages.append(page)
    assert page.inner_text("#live") == "Live alerts connected"
    order_id, card = _pushed(page, live, "Lift door sticks")
    assert page.evaluate("window.__notes")[-1] == ["New work order", "Lift door sticks"]
    assert card.locator('[data-action="hand_back"]').count() == 0  # not before accepting
    card.locator('[data-action="accept"]').click()
    _dialog(page, {}, "Accept")
    card.locator('[data-action="parts"]').click()
    _dialog(page, {"Part": "Door roller", "Quantity": "1.5", "Unit": "set"}, "Save")
    card.locator(".parts-list li", has_text="Door roller × 1.5 set").wait_for()
    card.locator("details.device-history summary").click()
    card.locator(".history-box h4", has_text="Recent alarms").wait_for()
    screenshot(page, "tech-alert-en-1920")
    card.locator('[data-action="hand_back"]').click()
    _dialog(page, {"Reason": "Needs the lift contractor"}, "Hand back")
    page.wait_for_selector("#toast:has-text('Returned to the duty room for re-dispatch')")
    card.wait_for(state="detached")
    order = api_get(live, f"/workorders/{order_id}", "chen")
    assert (order["state"], order["log"][-1]["action"]) == ("new", "hand_back")
    assert a11y_problems(page) == []
    assert console.errors == []


@pytest.mark.parametrize(
    ("size", "locale", "title", "shot"),
    [
        (WALL, "zh-CN", "阳台地漏反水", "service-photo-zh-1920"),
        (PHONE, "en-GB", "Balcony drain backs up", "service-photo-en-390"),
    ],
)
def test_customer_service_logs_a_report_with_a_photo(
    browser: Any,
    live: LiveStack,
    console: Console,
    pages: list[Any],
    size: dict[str, Any],
    locale: str,
    title: str,
    shot: str,
) -> None:
    context = browser.new_context(**size, locale=locale, timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    pages.append(page)
    page.goto(f"{live.url}/service")
    sign_in(page, "sun")
    page.wait_for_selector("#app:not([hidden]) #in-trade option", state="attached")
    page.fill("#in-title", title)
    page.select_option("#in-trade", "water_electric")
    page.fill("#in-location", "8-302")
    page.fill("#in-name", "Mrs Lin")
    page.fill("#in-contact", "139 0000 0009")
    page.set_input_files(
        "#in-photo", files=[{"name": "drain.png", "mimeType": "image/png", "buffer": _png()}]
    )
    page.click("#intake-submit")
    card = page.locator("#orders > li", has_text=title)
    card.wait_for()
    card.locator('.photos img.photo[src^="blob:"]').wait_for()
    assert card.locator(".photos img").evaluate("img => img.naturalWidth") == 8
    order_id = card.get_attribute("data-id")
    assert len(api_get(live, f"/workorders/{order_id}", "chen")["photo_refs"]) == 1
    if size is PHONE:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    card.scroll_into_view_if_needed()
    assert a11y_problems(page) == []
    screenshot(page, shot)
    assert console.errors == []
