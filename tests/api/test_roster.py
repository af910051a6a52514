"""Issue #16, 5: the duty roster from the site file, edited through the API, read by the
on-duty view and by dispatch. Under a FakeClock (T0 is Monday 16:00 in Shanghai, the day
shift)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from api.sites import Sites
from estatewatch.config import SiteConfig
from estatewatch.config.patrol import RosterEntry
from tests.api.helpers import SITE, T0, Api, make_api

DAY_MONDAY = [
    {"role": "guard", "person": "guard-li", "shift": "day", "weekdays": [0]},
    {"role": "duty_engineer", "person": "dina", "shift": "day", "weekdays": [0]},
    {"role": "technician", "person": "tom", "shift": "day", "weekdays": [0]},
    {"role": "technician", "person": "tina", "shift": "night"},
]


def test_the_site_files_roster_is_in_force_until_edited(
    example_site: SiteConfig, tmp_path: Path
) -> None:
    entry = RosterEntry(role="guard", person="guard-wang", shift="day")
    site = example_site.model_copy(update={"roster": [entry]})
    with make_api(tmp_path / "api.db", Sites([site])) as api:
        assert api.get("/roster", params={"site": SITE}, user="dina").json() == [
            {"role": "guard", "person": "guard-wang", "shift": "day", "weekdays": list(range(7))}
        ]
        now = api.get("/roster/now", params={"site": SITE}, user="dina").json()
        assert now["guard"] == ["guard-wang"]


def test_a_supervisor_edits_the_roster_and_the_on_duty_view_follows(api: Api) -> None:
    refused = api.put("/roster", {"entries": DAY_MONDAY}, params={"site": SITE}, user="dina")
    assert refused.status_code == 403
    saved = api.put("/roster", {"entries": DAY_MONDAY}, params={"site": SITE}, user="sam")
    assert saved.status_code == 200, saved.json()
    now = api.get("/roster/now", params={"site": SITE}, user="dina").json()
    assert (now["guard"], now["duty_engineer"], now["technician"]) == (
        ["guard-li"],
        ["dina"],
        ["tom"],
    )
    night = (T0 + timedelta(hours=6)).isoformat()  # 22:00 local, the night shift
    later = api.get("/roster/now", params={"site": SITE, "at": night}, user="dina").json()
    assert (later["guard"], later["technician"]) == ([], ["tina"])


def test_an_unknown_shift_or_guard_is_refused(api: Api) -> None:
    bad = [{"role": "guard", "person": "nobody", "shift": "day"}]
    refused = api.put("/roster", {"entries": bad}, params={"site": SITE}, user="sam")
    assert (refused.status_code, refused.json()["field"]) == (422, "entries.0.person")
    bad = [{"role": "technician", "person": "tom", "shift": "brunch"}]
    refused = api.put("/roster", {"entries": bad}, params={"site": SITE}, user="sam")
    assert (refused.status_code, refused.json()["field"]) == (422, "entries.0.shift")


def test_dispatch_reads_the_roster(api: Api) -> None:
    saved = api.put("/roster", {"entries": DAY_MONDAY}, params={"site": SITE}, user="sam")
    assert saved.status_code == 200
    body = {
        "site": SITE,
        "title": "Corridor light out, T1-12F",
        "trade": "water_electric",
        "requester_name": "Mr Zhou",
        "requester_contact": "139 0000 1212",
    }
    order_id = api.post("/workorders", body, user="cara").json()["id"]
    eta = (T0 + timedelta(minutes=20)).isoformat()
    path = f"/workorders/{order_id}/dispatch"
    sent = api.post(path, {"assignee": "tina", "contact": "138", "eta": eta}, user="dina")
    assert sent.json()["log"][-1]["data"]["on_shift"] is False  # tina works nights
    sent = api.post(path, {"assignee": "tom", "contact": "138", "eta": eta}, user="dina")
    assert sent.json()["log"][-1]["data"]["on_shift"] is True


def test_rostered_technicians_and_duty_engineers_are_users_dispatch_can_assign(api: Api) -> None:
    """A roster's technician or duty engineer is a user of that role (someone an order can
    be assigned to); GET /users/technicians?site= marks and lists first who is on shift."""
    for person, role in (("li-elevator", "technician"), ("tom", "duty_engineer")):
        bad = [{"role": role, "person": person, "shift": "day"}]
        refused = api.put("/roster", {"entries": bad}, params={"site": SITE}, user="sam")
        assert (refused.status_code, refused.json()["field"]) == (422, "entries.0.person")
        assert refused.json()["detail_zh"]
    made = api.post(
        "/users",
        {"username": "li-elevator", "password": "s3cret-pass-word", "role": "technician",
         "full_name": "李师傅 Li Qiang", "trade": "elevator"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    roster = [{"role": "technician", "person": "li-elevator", "shift": "day"}]
    assert api.put("/roster", {"entries": roster}, params={"site": SITE}, user="sam").is_success
    listed = api.get("/users/technicians", params={"site": SITE}, user="dina").json()
    assert (listed[0]["username"], listed[0]["rostered"]) == ("li-elevator", True)
    assert {t["username"]: t["rostered"] for t in listed}["tom"] is False
    unrostered = api.get("/users/technicians", user="dina").json()
    assert {t["rostered"] for t in unrostered} == {None}
