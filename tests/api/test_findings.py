"""Issue #16, 7: a by-deadline finding is compared before and after (after photos, a
re-inspection scan of its checkpoint); a needs-coordination one goes to its department
with its own clock. Under a FakeClock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from estatewatch.clock import to_epoch_ms
from tests.api.helpers import SITE, T0, Api
from tests.api.test_patrol import EQUIPMENT_ROUND

H = timedelta(hours=1)


AT = T0 + timedelta(minutes=30)
"""16:30 in Shanghai: the equipment round is open (a scan before a round opens is refused)."""


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _scan(api: Api, at: datetime, finding: dict[str, Any] | None = None) -> Any:
    _, tag = EQUIPMENT_ROUND[0]
    scan: dict[str, Any] = {"handheld": "hh-01", "tag_uid": tag, "scanned_at": at.isoformat()}
    if finding is not None:
        scan["finding"] = finding
    result = api.post("/patrol/scans", {"site": SITE, "scans": [scan]}, user="gary")
    assert result.status_code == 200, result.json()
    return result.json()[0]


def _step(api: Api, order_id: str, action: str, body: dict[str, Any], user: str) -> Any:
    return api.post(f"/workorders/{order_id}/{action}", body, user=user)


def test_a_by_deadline_finding_closes_only_with_after_photos_and_a_reinspection(
    api: Api,
) -> None:
    finding = {
        "description": "Pump room drain grate broken",
        "priority": "by_deadline",
        "due_at": to_epoch_ms(T0 + 48 * H),
        "photo_refs": ["photos/before.jpg"],
    }
    order_id = _scan(api, AT, finding)["work_order_id"]
    order = api.get(f"/workorders/{order_id}").json()
    assert order["deadlines"]["fix"] == _z(T0 + 48 * H)
    assert order["photo_refs"] == ["photos/before.jpg"]
    dispatch = {"assignee": "tom", "contact": "138", "eta": _z(T0 + H)}
    assert _step(api, order_id, "dispatch", dispatch, "dina").status_code == 200
    assert _step(api, order_id, "accept", {}, "tom").status_code == 200
    api.clock.set(T0 + 2 * H)
    assert _step(api, order_id, "arrive", {}, "tom").status_code == 200
    no_photo = _step(api, order_id, "complete", {"result": "grate replaced"}, "tom")
    assert (no_photo.status_code, no_photo.json()["field"]) == (422, "photo_refs")
    done = _step(
        api,
        order_id,
        "complete",
        {"result": "grate replaced", "photo_refs": ["p/after.jpg"]},
        "tom",
    )
    assert done.status_code == 200
    callback = {"callback_note": "grate checked"}
    api.clock.set(T0 + 3 * H)
    refused = _step(api, order_id, "verify", callback, "cara")
    assert refused.status_code == 422
    assert refused.json()["detail_zh"]
    _scan(api, T0 + 3 * H)  # the re-inspection: the guard scans the checkpoint again
    assert _step(api, order_id, "verify", callback, "cara").status_code == 200


def test_a_needs_coordination_finding_goes_to_its_department_with_a_clock(api: Api) -> None:
    finding = {
        "description": "Neighbour's AC unit leaks on the walkway",
        "priority": "needs_coordination",
    }
    order_id = _scan(api, AT, finding)["work_order_id"]
    order = api.get(f"/workorders/{order_id}").json()
    assert order["department"] == "management"
    assert order["deadlines"]["coordination"] == _z(AT + 24 * H)
    api.clock.set(AT + 24 * H + timedelta(minutes=1))
    assert api.post("/workorders/sla-check", user="sam").json()["flagged"] >= 1
    assert "coordination" in api.get(f"/workorders/{order_id}").json()["breached"]


def test_a_by_deadline_finding_has_an_owner_and_a_reinspection_on_the_route_when_due(
    api: Api,
) -> None:
    finding = {
        "description": "Pump room drain grate broken",
        "priority": "by_deadline",
        "due_at": to_epoch_ms(T0 + 48 * H),
        "photo_refs": ["photos/before.jpg"],
    }
    order_id = _scan(api, AT, finding)["work_order_id"]
    path = f"/workorders/{order_id}"
    refused = api.patch(path, {"owner": "nobody"}, user="dina")
    assert (refused.status_code, refused.json()["field"]) == (422, "owner")
    assert api.patch(path, {"owner": "sam"}, user="dina").json()["owner"] == "sam"
    # Not on the route before its due date; on every round from then until verified.
    params = {"site": SITE, "at": _z(T0 + 47 * H)}
    assert api.get("/patrol/reinspections", params=params, user="gary").json() == []
    params["at"] = _z(T0 + 48 * H)
    [task] = api.get("/patrol/reinspections", params=params, user="gary").json()
    checkpoint = EQUIPMENT_ROUND[0][0]
    assert (task["order_id"], task["checkpoint"], task["owner"]) == (order_id, checkpoint, "sam")
    assert task["routes"]
    assert (task["photos_before"], task["reinspected"]) == (["photos/before.jpg"], False)
    assert api.get("/patrol/reinspections", params=params, user="tom").status_code == 403


def test_a_by_deadline_findings_owner_defaults_to_the_first_technician(api: Api) -> None:
    finding = {"description": "Loose handrail", "priority": "by_deadline",
               "due_at": to_epoch_ms(T0 + 48 * H)}  # fmt: skip
    order_id = _scan(api, AT, finding)["work_order_id"]
    assert api.get(f"/workorders/{order_id}").json()["owner"] is None
    dispatch = {"assignee": "tom", "contact": "138", "eta": _z(T0 + H)}
    assert _step(api, order_id, "dispatch", dispatch, "dina").json()["owner"] == "tom"
