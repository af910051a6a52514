"""Issue #17, 5: a PM order has a due-by date and the plan's checklist; completing it needs
every item answered and the technician's signature; a failed item opens a work order on
the device, linked to the PM order; the equipment record shows the signed checklist.
Under a FakeClock."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from tests.api.helpers import SITE, T0, Api

CHECKLIST = ["brake", "door operator", "alarm bell"]
PLAN = {
    "site": SITE,
    "title": "Semi-monthly maintenance, Tower 2 car A (半月保养)",
    "trade": "elevator",
    "device": "elevator-3",
    "building": "t2",
    "interval_days": 15,
    "due_within_days": 3,
    "first_due_at": (T0 - timedelta(hours=1)).isoformat(),
    "checklist": CHECKLIST,
}
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n-signature-").decode()


def _z(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


def _pm_order_on_site(api: Api) -> dict[str, Any]:
    assert api.post("/maintenance/plans", PLAN, user="sam").status_code == 201
    assert api.post("/maintenance/generate", user="sam").json() == {"created": 1}
    [order] = api.get("/workorders", params={"site": SITE}, user="dina").json()
    path = f"/workorders/{order['id']}"
    eta = _z(T0 + timedelta(minutes=30))
    dispatch = {"assignee": "tom", "contact": "138", "eta": eta}
    assert api.post(f"{path}/dispatch", dispatch, user="dina").status_code == 200
    assert api.post(f"{path}/accept", {}, user="tom").status_code == 200
    assert api.post(f"{path}/arrive", {}, user="tom").status_code == 200
    return dict(order)


def test_a_pm_order_carries_its_due_by_date_and_checklist(api: Api) -> None:
    order = _pm_order_on_site(api)
    assert order["due_by"] == _z(T0 - timedelta(hours=1) + timedelta(days=3))
    assert order["deadlines"]["due_by"] == order["due_by"]
    assert [(c["item"], c["ok"]) for c in order["checklist"]] == [(i, None) for i in CHECKLIST]
    # Past its due-by date, the PM order is a breached clock like any other.
    api.clock.set(T0 + timedelta(days=4))
    api.post("/workorders/sla-check", user="sam")
    assert "due_by" in api.get(f"/workorders/{order['id']}", user="dina").json()["breached"]


def test_completion_needs_every_item_and_the_signature(api: Api) -> None:
    order = _pm_order_on_site(api)
    path = f"/workorders/{order['id']}/complete"
    answers = [{"item": i, "ok": True} for i in CHECKLIST]
    unsigned = api.post(path, {"result": "done", "checklist": answers}, user="tom")
    assert (unsigned.status_code, unsigned.json()["field"]) == (422, "signature")
    assert unsigned.json()["detail_zh"]
    signature = {"name": "Tom Li", "image": PNG}
    partial = {"result": "done", "checklist": answers[:2], "signature": signature}
    refused = api.post(path, partial, user="tom")
    assert (refused.status_code, refused.json()["field"]) == (422, "checklist")
    neither = {"result": "done", "checklist": answers, "signature": {"name": "Tom Li"}}
    refused = api.post(path, neither, user="tom")
    assert refused.status_code == 422
    assert refused.json()["field"].startswith("signature")
    typed = {"name": "Tom Li", "confirmed": True}
    done = api.post(
        path, {"result": "all OK", "checklist": answers, "signature": typed}, user="tom"
    )
    assert done.status_code == 200, done.text
    signed = done.json()["signature"]
    assert (signed["name"], signed["by"], signed["typed"], signed["image"]) == (
        "Tom Li",
        "tom",
        True,
        None,
    )
    assert signed["at"] == _z(T0)
    assert "due_by" not in done.json()["breached"]
    assert len(api.get("/workorders", params={"site": SITE}, user="dina").json()) == 1


def test_a_failed_item_opens_a_work_order_on_the_device(api: Api) -> None:
    order = _pm_order_on_site(api)
    answers = [
        {"item": "brake", "ok": True},
        {"item": "door operator", "ok": False, "note": "门机皮带磨损 belt worn"},
        {"item": "alarm bell", "ok": True},
    ]
    body = {
        "result": "brake and bell OK; door belt worn",
        "checklist": answers,
        "signature": {"name": "Tom Li", "image": PNG},
    }
    done = api.post(f"/workorders/{order['id']}/complete", body, user="tom")
    assert done.status_code == 200, done.text
    assert done.json()["signature"]["image"] == PNG
    orders = api.get("/workorders", params={"site": SITE}, user="dina").json()
    [failed] = [o for o in orders if o["id"] != order["id"]]
    assert (failed["parent_order_id"], failed["device"], failed["state"]) == (
        order["id"],
        "elevator-3",
        "new",
    )
    assert failed["title"].startswith("door operator")
    assert "belt worn" in failed["description"]
    api.clock.set(T0 + timedelta(minutes=1))  # the record runs up to now, exclusive
    record = api.get("/devices/elevator-3/record", params={"site": SITE}, user="dina")
    assert record.status_code == 200
    [pm] = record.json()["maintenance"]
    assert (pm["signature"]["name"], pm["due_by"]) == ("Tom Li", order["due_by"])
    assert [(c["item"], c["ok"]) for c in pm["checklist"]] == [
        ("brake", True),
        ("door operator", False),
        ("alarm bell", True),
    ]
    [repair] = [r for r in record.json()["repairs"] if r["id"] == failed["id"]]
    assert repair["parent_order_id"] == order["id"]
    sheet = api.get(f"/workorders/{order['id']}/maintenance.html", user="dina")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("text/html")
    assert "保养记录单" in sheet.text
    assert "不合格" in sheet.text
    assert PNG in sheet.text
    english = api.get(f"/workorders/{order['id']}/maintenance.html?lang=en", user="dina")
    assert "Technician&#x27;s signature" in english.text
