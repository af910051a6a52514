"""End to end, in headless Chromium against a live API with the simulated estate: an
elevator entrapment reaches the wall screen, is acknowledged, its work order counts down
and is dispatched and completed; the equipment board shows the fault; a guard records
scans by typed code, with a finding, and offline scans sync later with their own time.

The tests of this module share one live stack and one signed-in wall screen and build on
each other in file order (the story of one incident), which keeps the module fast.
"""

from __future__ import annotations

import re
import struct
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.web.layout import tag_hint
from tests.web.conftest import screenshot
from tests.web.pages import (
    PHONE,
    WALL,
    Console,
    a11y_problems,
    api_bytes,
    api_get,
    eventually,
    sign_in,
    token,
)
from tests.web.stack import LiveStack

pytestmark = pytest.mark.integration

SITE = "harbour-view"
KEPT_SCAN_TIME = """async (tag) => {
  const db = await new Promise((ok) => {
    const r = indexedDB.open('ew-guard');
    r.onsuccess = () => ok(r.result);
  });
  const all = await new Promise((ok) => {
    const r = db.transaction('scans').objectStore('scans').getAll();
    r.onsuccess = () => ok(r.result);
  });
  return all.find((s) => s.tag_uid === tag).scanned_at;
}"""
UNITS_SCRIPT = (Path(__file__).parent / "units.js").read_text()
PUMP_ROOM_TAG = "04A1B20011"
FIRE_PUMP_ROOM_TAG = "04A1B20012"
POWER_ROOM_TAG = "04A1B20013"


@pytest.fixture(scope="module")
def console() -> Console:
    return Console()


@pytest.fixture(scope="module")
def wall(browser: Any, live: LiveStack, console: Console) -> Iterator[Any]:
    """The duty room's wall screen, signed in as the duty engineer, in Chinese."""
    context = browser.new_context(**WALL, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    page.goto(f"{live.url}/")
    sign_in(page, "chen")
    page.wait_for_selector('#live[data-state="live"]')
    yield page
    context.close()


@pytest.fixture(scope="module")
def phone(browser: Any, live: LiveStack, console: Console) -> Iterator[Any]:
    """A guard's phone, signed in as guard Zhang (service workers off: the offline test is
    about the scan queue, not the page cache)."""
    context = browser.new_context(**PHONE, locale="zh-CN", service_workers="block")
    page = console.watch(context.new_page())
    page.goto(f"{live.url}/guard")
    sign_in(page, "zhang")
    page.wait_for_selector("#round-name:not(:empty)")
    yield page
    context.close()


@pytest.fixture(autouse=True)
def no_console_errors(console: Console) -> Iterator[None]:
    seen = len(console.errors)
    yield
    assert console.errors[seen:] == []


def tab(page: Any, view: str) -> None:
    page.click(f"#tab-{view}")
    page.wait_for_selector(f"#view-{view}:not([hidden])")


def png(path: Path) -> Path:
    """A small real PNG (a photo stand-in for the file pickers)."""
    raw = b"".join(b"\x00" + bytes([200, 30, 30] * 8) for _ in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


# --- the wall screen ---------------------------------------------------------------------


def test_the_wall_screen_is_chinese_accessible_and_quiet(wall: Any) -> None:
    assert wall.evaluate("document.documentElement.lang") == "zh-CN"
    assert wall.inner_text("#tab-alarms").startswith("告警")
    assert [
        wall.inner_text(f"#tab-{v} [data-i18n]") for v in ("equipment", "orders", "patrol")
    ] == [
        "设备",
        "工单",
        "巡逻",
    ]
    # The live stack's API runs no notifier: the board says so plainly, on every view.
    assert wall.is_visible("#notify-off")
    assert wall.inner_text("#notify-off").startswith("通知未开启")
    assert "不会通知任何人" in wall.inner_text("#notify-off")
    for view in ("alarms", "equipment", "orders", "patrol"):
        tab(wall, view)
        wall.wait_for_timeout(300)
        assert a11y_problems(wall) == [], view
        assert wall.is_visible("#notify-off"), view
    tab(wall, "alarms")


def test_an_entrapment_flashes_on_the_board_within_seconds(wall: Any, live: LiveStack) -> None:
    assert wall.locator(".alarm.sev-critical").count() == 0
    injected = time.monotonic()
    live.call(lambda: live.estate.inject("elevator-3", "entrapment"))  # type: ignore[union-attr]
    card = wall.locator('.alarm.sev-critical:has-text("电梯困人")')
    card.wait_for(timeout=20_000)
    seen_after = time.monotonic() - injected
    assert "二号楼" in card.inner_text()
    assert "attention" in (card.get_attribute("class") or "")
    assert wall.is_visible("#banner")
    assert "电梯困人" in wall.inner_text("#banner-text")
    assert wall.inner_text('.count[data-severity="critical"] .n') == "1"
    # The beep sounds (the sign-in click allowed audio) and repeats while unacknowledged.
    eventually(lambda: int(wall.get_attribute("#sound", "data-beeps") or 0) >= 2, timeout=8)
    event = next(e for e in live.published if e.category == "entrapment")
    assert card.get_attribute("data-id") == event.alarm_id
    # its work order is opened by the API's dispatch policy, with the 15-minute response clock
    eventually(lambda: re.search(r"响应剩余 \d\d:\d\d", card.inner_text()), timeout=20)
    assert a11y_problems(wall) == []
    # a second, major alarm: below the critical one, not flashing
    live.call(lambda: live.estate.inject("pump-domestic-high", "tank_low"))  # type: ignore[union-attr]
    major = wall.locator('.alarm.sev-major:has-text("水箱低水位")')
    major.wait_for(timeout=20_000)
    assert "attention" not in (major.get_attribute("class") or "")
    ids = wall.locator(".alarm").evaluate_all("cards => cards.map((c) => c.dataset.severity)")
    assert ids == ["critical", "major"]
    screenshot(wall, "alarm-board-entrapment")
    print(f"entrapment on the board {seen_after:.2f} s after injection")


# A word of English; an equipment tag as plates and drawings print it (AHU-1, CH-1, P2) is
# the same in both languages and no word.
ENGLISH_WORD = re.compile(r"(?<![A-Za-z0-9-])(?![A-Z]{1,4}-?\d)[A-Za-z]{2,}")
CJK = re.compile(r"[\u3400-\u9fff]")
UNIT_WORDS = {"MPa", "kW", "kWh", "Hz", "kg"}


def _english(texts: list[str]) -> list[str]:
    return [t for t in texts if set(ENGLISH_WORD.findall(t)) - UNIT_WORDS]


def _board_texts(page: Any) -> dict[str, list[str]]:
    """The alarm cards' titles and places, and the equipment tiles' device names."""
    found = {
        "titles": page.locator(".alarm .title").all_inner_texts(),
        "where": page.locator(".alarm .where").all_inner_texts(),
    }
    tab(page, "equipment")
    found["devices"] = page.locator(".tile h4").all_inner_texts()
    tab(page, "alarms")
    return found


def test_the_board_shows_names_and_alarm_texts_in_the_viewers_language(
    browser: Any, wall: Any, live: LiveStack, console: Console
) -> None:
    """The zh-CN wall shows no English title or device name; an English viewer of the same
    alarms sees them all in English (issue 15: "Tower 2 car A" on the Chinese board)."""
    zh = _board_texts(wall)
    assert len(zh["titles"]) == 2
    assert len(zh["devices"]) == len(live.site.devices)
    for key, texts in zh.items():
        assert _english(texts) == [], key
        assert all(CJK.search(t) for t in texts), key
    assert "2号楼A梯困人：非平层停梯" in zh["titles"]
    assert "2号楼A梯" in zh["devices"]
    context = browser.new_context(**WALL, locale="en-US", timezone_id="Asia/Shanghai")
    page = console.watch(context.new_page())
    page.goto(f"{live.url}/")
    sign_in(page, "zhou")
    page.wait_for_selector('#live[data-state="live"]')
    page.locator(".alarm .title").nth(1).wait_for(timeout=20_000)
    en = _board_texts(page)
    for key, texts in en.items():
        assert not any(CJK.search(t) for t in texts), (key, texts)
    assert "Entrapment in Tower 2 car A: stopped between floors" in en["titles"]
    assert "Tower 2 car A" in en["devices"]
    context.close()


def test_acknowledging_in_place_stops_the_alarm_and_the_beep(wall: Any, live: LiveStack) -> None:
    card = wall.locator('.alarm.sev-critical:has-text("电梯困人")')
    card.locator("button.ack").click()
    dialog = wall.locator("dialog[open]")
    dialog.get_by_label("处理说明（可选）").fill("已通知电梯维保单位，预计 20 分钟到场")
    dialog.get_by_role("button", name="确认").click()
    # the rules engine answers the AlarmCommand with its `acknowledged` event
    card.locator('.state-text:text("已确认")').wait_for(timeout=20_000)
    assert "确认人：chen" in card.inner_text()
    assert "attention" not in (card.get_attribute("class") or "")
    assert wall.is_hidden("#banner")
    beeps = int(wall.get_attribute("#sound", "data-beeps") or 0)
    wall.wait_for_timeout(2500)
    assert int(wall.get_attribute("#sound", "data-beeps") or 0) == beeps
    alarm = api_get(live, f"/alarms/{card.get_attribute('data-id')}")
    assert alarm["acknowledged_by"] == "chen"
    assert [a["note"] for a in alarm["actions"]] == ["已通知电梯维保单位，预计 20 分钟到场"]
    # a comment, in place too
    card.get_by_role("button", name="备注").click()
    wall.locator("dialog[open]").get_by_label("备注内容").fill("困人乘客已安抚，保持通话")
    wall.locator("dialog[open]").get_by_role("button", name="提交").click()
    eventually(lambda: len(api_get(live, f"/alarms/{alarm['alarm_id']}")["actions"]) == 2)


def test_the_work_order_counts_down_and_is_dispatched(wall: Any, live: LiveStack) -> None:
    tab(wall, "orders")
    card = wall.locator('#orders .column.state-new .order-card:has-text("电梯困人")')
    card.wait_for(timeout=20_000)
    first = card.locator(".countdown").inner_text()
    assert re.fullmatch(r"响应剩余 1[0-4]:\d\d", first), first
    eventually(lambda: card.locator(".countdown").inner_text() != first, timeout=5)
    assert "紧急" in card.inner_text()
    assert "电梯" in card.inner_text()
    screenshot(wall, "work-order-queue")
    # whom to send: the technicians with their load, from GET /users/technicians
    option = wall.locator('#technicians option[value="liu"]')
    eventually(lambda: option.count() == 1)
    assert option.get_attribute("label") == "刘师傅 · 不在岗 · 在办 0 单"
    card.get_by_role("button", name="派单").click()
    dialog = wall.locator("dialog[open]")
    dialog.get_by_label("维修人员（用户名）").fill("liu")
    dialog.get_by_label("联系电话").fill("138 0000 0001")
    dialog.get_by_label("预计到场（分钟）").fill("20")
    dialog.get_by_role("button", name="派单").click()
    moved = wall.locator('#orders .column.state-dispatched .order-card:has-text("电梯困人")')
    moved.wait_for(timeout=20_000)
    assert "维修人员：liu" in moved.inner_text()
    assert a11y_problems(wall) == []


def test_the_technician_accepts_arrives_and_completes_with_a_photo(
    browser: Any, live: LiveStack, console: Console, wall: Any, tmp_path: Path
) -> None:
    context = browser.new_context(**PHONE, locale="zh-CN")
    page = console.watch(context.new_page())
    page.goto(f"{live.url}/tech")
    sign_in(page, "liu")
    card = page.locator('.order-card:has-text("Entrapment")')
    card.wait_for(timeout=20_000)
    for action, state in (("接单", "accepted"), ("到场", "on_site")):
        card.get_by_role("button", name=action).click()
        page.locator("dialog[open]").get_by_role("button", name=action).click()
        page.wait_for_selector(f'.order-card[data-state="{state}"]')
    assert "故障仍在" in card.inner_text()  # the entrapment is still active
    card.get_by_role("button", name="完工").click()
    dialog = page.locator("dialog[open]")
    # Completing while the fault is active is an override, with its reason (audited).
    dialog.get_by_label("故障仍在，为何仍要完成或关闭").fill("乘客已放出，控制器故障码待维保复位")
    dialog.get_by_label("处理结果").fill("安全回路复位，轿厢平层开门，乘客已安全离开")
    dialog.get_by_label("现场照片").set_input_files(str(png(tmp_path / "repair.png")))
    dialog.get_by_role("button", name="完工").click()
    page.wait_for_selector('.order-card[data-state="completed"]')
    assert a11y_problems(page) == []
    screenshot(page, "technician-phone")
    context.close()
    order_id = wall.locator('.order-card:has-text("电梯困人")').first.get_attribute("data-id")
    order = api_get(live, f"/workorders/{order_id}")
    assert order["state"] == "completed"
    assert order["log"][-1]["data"]["override_reason"].startswith("乘客已放出")
    assert re.fullmatch(r"ph_[0-9a-f]{16}", order["photo_refs"][0])
    # The photo itself went up from the phone under that reference.
    uploaded = eventually(lambda: api_bytes(live, f"/photos/{order['photo_refs'][0]}"))
    assert uploaded == (tmp_path / "repair.png").read_bytes()
    wall.locator('#orders .column.state-completed .order-card:has-text("电梯困人")').wait_for(
        timeout=20_000
    )


def test_the_equipment_board_shows_the_fault_and_the_offline_sensor(
    wall: Any, live: LiveStack
) -> None:
    tab(wall, "equipment")
    elevator = wall.locator('.tile[data-device="elevator-3"]')
    eventually(lambda: "非平层停梯" in elevator.inner_text(), timeout=20)
    assert "has-alarm" in (elevator.get_attribute("class") or "")
    assert "停止服务" in elevator.inner_text()
    pump = wall.locator('.tile[data-device="pump-domestic-low"]')
    assert re.search(r"0\.\d{3} MPa", pump.inner_text())
    offline = wall.locator('.tile[data-device="temp-fire-control"]')
    assert offline.get_attribute("data-state") == "offline"
    assert "最后在线" in offline.inner_text()
    assert a11y_problems(wall) == []
    screenshot(wall, "equipment-board", full_page=True)
    elevator.locator("button.open").click()
    panel = wall.locator("dialog.device-panel[open]")
    panel.wait_for()
    chart = panel.locator("svg.chart")
    paths = api_get(live, "/openapi.json")["paths"]
    if "/devices/{device}/history" in paths:  # history from the readings store
        eventually(lambda: int(chart.get_attribute("data-points") or 0) >= 3, timeout=20)
        assert "暂无历史数据" not in panel.inner_text()
    else:  # the API has no history yet: the panel says so and charts live readings
        eventually(lambda: "暂无历史数据" in panel.inner_text())
        eventually(lambda: int(chart.get_attribute("data-points") or 0) >= 1, timeout=20)
    if "/devices/{device}/operation-log" in paths:
        row = panel.locator('table.oplog tr[data-point="load"]')
        row.wait_for(timeout=20_000)
        assert "载重" in row.inner_text()
    else:
        eventually(lambda: "暂无设备运行日志" in panel.inner_text())
    panel.get_by_label("测点").select_option("load")
    eventually(lambda: "载重" in (chart.text_content() or ""), timeout=20)
    assert a11y_problems(wall) == []
    screenshot(wall, "device-panel")
    panel.get_by_role("button", name="关闭").click()


# --- the guard's phone ---------------------------------------------------------------------


def test_the_guard_records_a_typed_scan_and_a_finding_with_a_photo(
    phone: Any, live: LiveStack, tmp_path: Path
) -> None:
    assert phone.inner_text("#net") == "有信号"
    assert phone.inner_text("#next-checkpoint")
    phone.get_by_label("标签编号").fill(PUMP_ROOM_TAG.lower())
    phone.get_by_role("button", name="登记打卡").click()
    first = phone.locator(f'#recent li[data-tag="{PUMP_ROOM_TAG}"]')
    first.wait_for(timeout=20_000)
    eventually(lambda: first.get_attribute("data-status") == "accepted")
    assert "生活泵房门" in first.inner_text()
    phone.locator("#finding summary").click()
    phone.get_by_label("隐患描述").fill("消防泵房门闭门器损坏，门无法自动关闭")
    phone.get_by_label("立即整改").check()
    phone.get_by_label("具体位置").fill("消防泵房入口")
    phone.get_by_label("拍照").set_input_files(str(png(tmp_path / "door.png")))
    phone.get_by_label("标签编号").fill(FIRE_PUMP_ROOM_TAG)
    phone.get_by_role("button", name="登记打卡").click()
    second = phone.locator(f'#recent li[data-tag="{FIRE_PUMP_ROOM_TAG}"]')
    eventually(lambda: "已生成工单" in second.inner_text(), timeout=20)
    scans = api_get(live, "/patrol/scans", site=SITE, guard="guard-zhang")
    by_tag = {s["tag_uid"]: s for s in scans}
    assert by_tag[PUMP_ROOM_TAG]["checkpoint"] == "pump-room"
    finding = by_tag[FIRE_PUMP_ROOM_TAG]["finding"]
    assert finding["priority"] == "immediate"
    assert re.fullmatch(r"ph_[0-9a-f]{16}", finding["photo_refs"][0])
    uploaded = eventually(lambda: api_bytes(live, f"/photos/{finding['photo_refs'][0]}"))
    assert uploaded == (tmp_path / "door.png").read_bytes()
    orders = api_get(live, "/workorders", site=SITE)
    assert any(o["source"] == "finding" and o["finding_priority"] == "immediate" for o in orders)
    assert a11y_problems(phone) == []
    screenshot(phone, "guard-phone", full_page=True)


def test_the_phone_lists_the_re_inspections_due_on_its_rounds(phone: Any, live: LiveStack) -> None:
    """A by-deadline finding past its due date puts a re-inspection on the round (issue #16):
    the phone lists its checkpoint, what to look at and who owns the repair."""
    now = datetime.now(UTC)
    finding = {
        "description": "生活泵房排水沟盖板破损",
        "priority": "by_deadline",
        "due_at": int((now - timedelta(minutes=1)).timestamp() * 1000),
    }
    scan = {"handheld": "web-guard-zhang", "tag_uid": PUMP_ROOM_TAG, "scanned_at": now.isoformat(),
            "finding": finding}  # fmt: skip
    posted = httpx.post(
        f"{live.url}/patrol/scans",
        json={"site": SITE, "scans": [scan]},
        headers={"Authorization": f"Bearer {token(live, 'zhang')}"},
    )
    assert posted.status_code == 200, posted.text
    phone.reload()
    panel = phone.locator("#reinspect-panel")
    panel.wait_for(state="visible", timeout=20_000)
    task = panel.locator("#reinspections li").first
    assert "生活泵房门" in task.inner_text()  # the checkpoint by its zh-CN name
    assert "等待整改完成" in task.inner_text()  # the repair is not done yet
    assert phone.inner_text("#reinspect-title") == "复查任务"


def test_a_scan_made_offline_syncs_later_with_its_own_time(phone: Any, live: LiveStack) -> None:
    phone.context.set_offline(True)
    phone.wait_for_selector("#net.offline")
    assert phone.inner_text("#net") == "无信号（离线模式）"
    phone.get_by_label("标签编号").fill(POWER_ROOM_TAG)
    phone.get_by_role("button", name="登记打卡").click()
    queued = phone.locator(f'#recent li[data-tag="{POWER_ROOM_TAG}"]')
    queued.wait_for()
    assert queued.get_attribute("data-status") == "pending"
    # never scanned before, and no signal: named by its tag hint, not shown as a raw code
    assert "1号配电房门" in queued.inner_text()  # the zh-CN page: the name's zh half
    assert POWER_ROOM_TAG not in queued.inner_text()
    assert phone.inner_text("#pending") == "待同步 1 条"
    screenshot(phone, "guard-phone-offline")
    made_at = datetime.fromisoformat(phone.evaluate(KEPT_SCAN_TIME, POWER_ROOM_TAG))
    phone.wait_for_timeout(1500)  # time passes in the basement
    phone.context.set_offline(False)
    eventually(lambda: queued.get_attribute("data-status") == "accepted", timeout=15)
    assert phone.inner_text("#pending") == "全部已同步"
    scans = api_get(live, "/patrol/scans", site=SITE, guard="guard-zhang")
    synced = next(s for s in scans if s["tag_uid"] == POWER_ROOM_TAG)
    assert datetime.fromisoformat(synced["scanned_at"]) == made_at
    assert synced["synced_late"] is True
    assert datetime.fromisoformat(synced["received_at"]) > made_at


def test_the_guard_page_opens_again_without_signal(
    browser: Any, live: LiveStack, console: Console
) -> None:
    """The service worker keeps the page: reloaded in a basement, it still opens, signed in."""
    context = browser.new_context(**PHONE, locale="zh-CN")
    page = console.watch(context.new_page())
    page.goto(f"{live.url}/guard")
    sign_in(page, "zhang")
    page.wait_for_selector("#round-name:not(:empty)")
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    eventually(lambda: page.evaluate("Boolean(navigator.serviceWorker.controller)"))
    # Cutting the signal while the reloaded page still loads fails those requests, and the
    # browser logs each (once seen in CI): go offline only once it has settled.
    page.wait_for_selector("#round-name:not(:empty)")
    page.wait_for_load_state("networkidle")
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#round-name:not(:empty)")
    assert page.inner_text("#net") == "无信号（离线模式）"
    assert page.is_visible("#record")
    context.close()


def test_the_patrol_board_shows_the_guard_and_the_rounds(wall: Any, live: LiveStack) -> None:
    tab(wall, "patrol")
    guard = wall.locator('.guard[data-guard="guard-zhang"]')
    guard.wait_for(timeout=20_000)
    eventually(lambda: "最后打卡" in guard.inner_text(), timeout=35)
    # the last checkpoint the guard scanned (earlier tests of the module scan several), by
    # its zh-CN name, never by its tag
    last = re.search(r"最后打卡：(\S+)", guard.inner_text())
    assert last is not None
    assert last.group(1) in {c.name.pick("zh-CN") for c in live.site.checkpoints}
    assert wall.locator(".round").count() > 0
    assert re.search(r"(白班|夜班)｜\d\d:\d\d–\d\d:\d\d", wall.inner_text("#patrol-shift"))
    assert a11y_problems(wall) == []
    screenshot(wall, "patrol-board", full_page=True)
    tab(wall, "alarms")
    screenshot(wall, "alarm-board")


def test_the_pages_speak_english_when_the_browser_asks(
    browser: Any, live: LiveStack, console: Console
) -> None:
    context = browser.new_context(**PHONE, locale="en-US", service_workers="block")
    page = console.watch(context.new_page())
    page.goto(f"{live.url}/guard")
    page.wait_for_selector("#login-view:not([hidden])")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.inner_text("#login-submit") == "Sign in"
    sign_in(page, "zhang")
    page.wait_for_selector("#round-name:not(:empty)")
    assert page.inner_text("#net") == "Signal"
    assert page.get_by_role("button", name="Record scan").is_visible()
    assert a11y_problems(page) == []
    page.goto(f"{live.url}/")  # the duty board is not for guards: it says where to go
    sign_in(page, "zhang")
    page.wait_for_selector("#main [role=alert]")
    assert "guards: open /guard" in page.inner_text("#main")
    context.close()


def test_the_board_says_in_english_that_nobody_is_notified(
    browser: Any, live: LiveStack, console: Console
) -> None:
    context = browser.new_context(**WALL, locale="en-US")
    page = console.watch(context.new_page())
    page.goto(f"{live.url}/")
    sign_in(page, "wang")
    notice = page.locator("#notify-off")
    notice.wait_for()
    assert notice.inner_text().startswith("Notifications are off")
    assert "nobody is told of alarms" in notice.inner_text()
    tab(page, "duty")
    eventually(lambda: "Notifications are off: none will be logged" in page.inner_text("#duty"))
    context.close()


def test_the_api_docs_open_without_internet(browser: Any, live: LiveStack) -> None:
    """/docs on a LAN without internet: every request to another origin is cut, and
    Swagger UI still draws the API (its assets come from the package, not a CDN)."""
    context = browser.new_context(**WALL)
    elsewhere: list[str] = []

    def only_here(route: Any) -> None:
        if route.request.url.startswith(live.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_here)
    page = context.new_page()
    page.goto(f"{live.url}/docs")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for(timeout=20_000)
    assert title.inner_text().startswith("EstateWatch API")
    page.locator(".opblock-tag-section").first.wait_for()
    assert elsewhere == []
    context.close()


def test_the_page_logic_in_the_browser(browser: Any, live: LiveStack, console: Console) -> None:
    """The pure modules (rounds, stream parsing, tags, names, SLA clocks) in Chromium."""
    context = browser.new_context(locale="zh-CN")
    page = console.watch(context.new_page())
    page.goto(f"{live.url}/static/icon.svg")  # this origin, no page code running
    result = page.evaluate(UNITS_SCRIPT)
    context.close()
    assert result["after"] == ["scanned", "late", "missed"]
    # after the route's next window opened, a scan of the old one no longer counts as late
    assert result["lateTooLate"] == ["scanned", "missed", "missed"]
    assert result["during"] == ["scanned", "due", "due"]
    assert result["before"] == ["scanned", "upcoming", "upcoming"]
    assert result["current"] == "r"  # the round the guard started, though the other closes first
    assert result["next"] == "b"
    assert result["events"] == [{"id": "5", "event": "alarm", "data": '{"a":1}'}]
    assert result["tag"] == "04A1B20011"
    assert result["valid"] == [True, False, False]
    assert result["names"] == ["生活泵房", "Tower 2 car A", "1号配电房"]
    # the name of the page's language when the API gives both (a joined name the split would
    # get wrong), the joined one split otherwise; a text's Chinese, or its one text
    assert result["named"] == ["B1 车库", "2号楼A梯", "疑似爆管", "Typed by a person"]
    assert result["pending"] == [["response", 15 * 60_000], ["on_site", 30 * 60_000]]
    assert result["closed"] == []
    assert result["durations"] == ["5秒", "2分15秒", "1小时5分", "1天2小时"]
    # the phone's tag hint is the API's
    assert result["hints"] == [
        tag_hint("harbour-view", "04A1B20013"),
        tag_hint("s", "04A1B20011"),
        tag_hint("", ""),
    ]
    assert result["spans"] == [600_000, 570_000, 240_000, 240_000]  # cleared: stopped at 4 min
    # Shanghai time: the response clock met (✓), the callback due the next day at 09:05
    assert [re.sub(r"[/-]", "-", c) for c in result["callback"]] == [
        "响应 11-02 09:15 ✓",
        "回访 11-03 09:05",
    ]


RENEW_SCRIPT = """async () => {
  const key = Object.keys(localStorage).find((k) => k.startsWith('ew.token.'));
  const before = JSON.parse(localStorage.getItem(key));
  // As if the access token ran out in a minute: the page renews it before it is used.
  const soon = new Date(Date.now() + 60000).toISOString();
  localStorage.setItem(key, JSON.stringify({ ...before, expires_at: soon }));
  const { api } = await import('/static/js/lib/api.js');
  const me = await api('/users/me');
  return { before, after: JSON.parse(localStorage.getItem(key)), me: me.username };
}"""


def test_the_wall_screen_renews_its_sign_in_before_it_runs_out(wall: Any) -> None:
    """Nobody types a password at the wall screen at 3 a.m.: the refresh token renews it."""
    result = wall.evaluate(RENEW_SCRIPT)
    assert result["me"] == "chen"
    assert result["after"]["access_token"] != result["before"]["access_token"]
    assert result["after"]["refresh_token"] != result["before"]["refresh_token"]
