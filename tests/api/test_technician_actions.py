"""A technician declines or hands back an order with a reason, records the parts used, reads
the device's recent history and their own live stream; customer service logs an owner's
report with photos (issue #25)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.api.helpers import SITE, T0, Api, alarm_event, parse_sse
from tests.api.test_photos import PNG

REPORT = {
    "site": SITE,
    "title": "Leaking tap 3-1201",
    "trade": "water_electric",
    "urgency": "general",
    "requester_name": "陈女士",
    "requester_contact": "139",
}


def _at(api: Api, minutes: float) -> None:
    api.clock.set(T0 + timedelta(minutes=minutes))


def _dispatched(api: Api, assignee: str = "tom", minutes: float = 5) -> str:
    _at(api, 0)
    made = api.post("/workorders", REPORT, user="cara")
    assert made.status_code == 201, made.text
    order_id: str = made.json()["id"]
    _at(api, minutes)
    eta = (api.clock.now() + timedelta(minutes=20)).isoformat()
    body = {"assignee": assignee, "contact": "138", "eta": eta}
    assert api.post(f"/workorders/{order_id}/dispatch", body, user="dina").status_code == 200
    return order_id


def _ok(answer: Any) -> Any:
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def test_a_reject_returns_the_order_to_dispatch_with_its_clock_still_running(api: Api) -> None:
    order_id = _dispatched(api)
    mine = _ok(api.get(f"/workorders/{order_id}", user="tom"))
    assert {"accept", "reject"} <= set(mine["allowed_actions"])
    assert "hand_back" not in mine["allowed_actions"]
    _at(api, 10)
    refused = api.post(f"/workorders/{order_id}/reject", {"reason": "  "}, user="tom")
    assert (refused.status_code, refused.json()["field"]) == (422, "reason")
    done = _ok(api.post(f"/workorders/{order_id}/reject", {"reason": "不是我的片区"}, user="tom"))
    assert (done["state"], done["assignee"], done["dispatched_at"]) == ("new", None, None)
    # The dispatch clock still runs from the report: due 30 min after it, not after the reject.
    due = datetime.fromisoformat(done["deadlines"]["dispatch"])
    assert due == T0 + timedelta(minutes=30)
    assert done["pending_clocks"][0]["clock"] == "dispatch"
    last = done["log"][-1]
    assert (last["action"], last["to_state"], last["by"], last["note"]) == (
        "reject",
        "new",
        "tom",
        "不是我的片区",
    )
    assert last["data"]["returned_by"] == "tom"
    # Gone from the technician's list; in the duty room's queue of new orders.
    assert order_id not in [o["id"] for o in _ok(api.get("/workorders", user="tom"))]
    queue = _ok(api.get("/workorders?state=new", user="dina"))
    assert order_id in [o["id"] for o in queue]
    # Re-dispatched at minute 40: the dispatch clock ran out at 30, and is flagged.
    _at(api, 40)
    eta = (api.clock.now() + timedelta(minutes=20)).isoformat()
    body = {"assignee": "tina", "contact": "137", "eta": eta}
    again = _ok(api.post(f"/workorders/{order_id}/dispatch", body, user="dina"))
    assert "dispatch" in again["breached"]


def test_a_hand_back_after_accepting(api: Api) -> None:
    order_id = _dispatched(api)
    _ok(api.post(f"/workorders/{order_id}/accept", {}, user="tom"))
    accepted = _ok(api.get(f"/workorders/{order_id}", user="tom"))
    assert "hand_back" in accepted["allowed_actions"]
    assert "reject" not in accepted["allowed_actions"]
    assert (
        api.post(f"/workorders/{order_id}/reject", {"reason": "x"}, user="tom").status_code == 409
    )
    empty = api.post(f"/workorders/{order_id}/hand-back", {}, user="tom")
    assert (empty.status_code, empty.json()["field"]) == (422, "reason")
    back = _ok(api.post(f"/workorders/{order_id}/hand-back", {"reason": "需要电工"}, user="tom"))
    assert (back["state"], back["assignee"], back["expected_done_at"]) == ("new", None, None)
    assert back["responded_at"] is not None  # it was accepted: that stays on the record
    assert back["log"][-1]["action"] == "hand_back"


@pytest.mark.parametrize(
    ("user", "status"),
    [("tina", 404), ("cara", 403), ("gary", 403), ("dina", 200), ("sam", 200)],
)
def test_who_may_reject(api: Api, user: str, status: int) -> None:
    """The assigned technician, or the duty room on their behalf; another technician does
    not see the order (404, as everywhere); customer service and guards may not (403)."""
    order_id = _dispatched(api)
    answer = api.post(f"/workorders/{order_id}/reject", {"reason": "busy"}, user=user)
    assert answer.status_code == status, answer.text


def test_parts_used_are_validated_and_shown(api: Api) -> None:
    order_id = _dispatched(api)
    part = {"name": "阀芯", "quantity": 2, "unit": "个", "note": "DN20"}
    early = api.post(f"/workorders/{order_id}/parts", part, user="tom")
    assert early.status_code == 409  # not accepted yet
    _ok(api.post(f"/workorders/{order_id}/accept", {}, user="tom"))
    for bad, field in (({**part, "quantity": 0}, "quantity"), ({**part, "name": " "}, "name")):
        answer = api.post(f"/workorders/{order_id}/parts", bad, user="tom")
        assert (answer.status_code, answer.json()["field"]) == (422, field)
    assert api.post(f"/workorders/{order_id}/parts", part, user="cara").status_code == 403
    assert api.post(f"/workorders/{order_id}/parts", part, user="tina").status_code == 404
    _at(api, 12)
    entry = _ok(api.post(f"/workorders/{order_id}/parts", part, user="tom"))
    assert (entry["name"], entry["quantity"], entry["unit"], entry["by"]) == (
        "阀芯",
        2,
        "个",
        "tom",
    )
    detail = _ok(api.get(f"/workorders/{order_id}", user="dina"))
    assert [p["name"] for p in detail["parts_used"]] == ["阀芯"]
    assert detail["log"][-1]["note"] == "阀芯 × 2 个 (DN20)"
    listed = _ok(api.get("/workorders", user="tom"))
    assert [p["quantity"] for o in listed if o["id"] == order_id for p in o["parts_used"]] == [2]
    sheet = api.get(f"/workorders/{order_id}/maintenance.html?lang=en", user="tom")
    assert sheet.status_code == 200
    assert "阀芯" in sheet.text
    assert "Parts used" in sheet.text
    zh = api.get(f"/workorders/{order_id}/maintenance.html?lang=zh-CN", user="tom").text
    assert "所用配件" in zh


def test_the_device_history_of_an_order(api: Api) -> None:
    api.ingest(alarm_event("old-fault"))  # an earlier alarm and its order on the device
    order_id = _dispatched(api)
    _ok(api.patch(f"/workorders/{order_id}", {"device": "elevator-3"}, user="dina"))
    history = _ok(api.get(f"/workorders/{order_id}/device-history", user="tom"))
    assert history["device"] == "elevator-3"
    assert [a["alarm_id"] for a in history["alarms"]] == ["old-fault"]
    assert history["orders"]
    assert order_id not in [o["id"] for o in history["orders"]]
    assert api.get(f"/workorders/{order_id}/device-history", user="tina").status_code == 404


def test_a_technicians_own_stream(api: Api) -> None:
    assert api.get("/stream?follow=false", user="tom").status_code == 403
    mine = _dispatched(api, "tom")
    other = _dispatched(api, "tina")
    answer = api.get("/stream?follow=false&after=0&mine=true", user="tom")
    assert answer.status_code == 200, answer.text
    events = [json.loads(e["data"]) for e in parse_sse(answer.text.splitlines())]
    assert {e["order_id"] for e in events} == {mine}
    assert [e["event"] for e in events] == ["dispatched"]
    assert other not in answer.text
    _ok(api.post(f"/workorders/{mine}/reject", {"reason": "busy"}, user="tom"))
    again = api.get("/stream?follow=false&after=0&mine=true", user="tom").text
    assert [json.loads(e["data"])["event"] for e in parse_sse(again.splitlines())] == [
        "dispatched",
        "rejected",
    ]
    assert api.get("/stream?follow=false&mine=true", user="gary").status_code == 403


def _photo(api: Api, data: bytes, user: str = "cara") -> str:
    ref = f"ph_{hashlib.sha256(data).hexdigest()[:16]}"
    headers = {**api.headers(user), "Content-Type": "image/png"}
    assert api.client.put(f"/photos/{ref}", content=data, headers=headers).status_code == 201
    return ref


def test_an_owners_report_with_photos(api: Api) -> None:
    ref = _photo(api, PNG + b"owner")
    made = api.post("/workorders", {**REPORT, "photo_refs": [ref]}, user="cara")
    assert made.status_code == 201, made.text
    assert made.json()["photo_refs"] == [ref]
    missing = api.post(
        "/workorders", {**REPORT, "photo_refs": [ref, "ph_00000000000000ff"]}, user="cara"
    )
    assert (missing.status_code, missing.json()["field"]) == (422, "photo_refs.1")
    assert missing.json()["detail_zh"] == "第 2 张照片未上传成功，请重新上传"
    malformed = api.post("/workorders", {**REPORT, "photo_refs": ["../etc"]}, user="cara")
    assert (malformed.status_code, malformed.json()["field"]) == (422, "photo_refs.0")
