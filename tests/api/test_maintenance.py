"""Preventive maintenance: plans generate one work order per occurrence."""

from __future__ import annotations

from datetime import timedelta

from tests.api.helpers import SITE, T0, Api

PLAN = {
    "site": SITE,
    "title": "Semi-monthly maintenance, Tower 2 car A (半月保养)",
    "trade": "elevator",
    "device": "elevator-3",
    "building": "t2",
    "interval_days": 15,
    "first_due_at": (T0 - timedelta(hours=1)).isoformat(),
}


def _generate(api: Api, days: float = 0) -> int:
    api.clock.set(T0 + timedelta(days=days))
    response = api.post("/maintenance/generate", user="sam")
    assert response.status_code == 200
    created: int = response.json()["created"]
    return created


def test_a_due_plan_opens_one_order_and_moves_on(api: Api) -> None:
    created = api.post("/maintenance/plans", PLAN, user="sam")
    assert created.status_code == 201
    plan_id = created.json()["id"]
    assert _generate(api) == 1
    assert _generate(api) == 0  # not due again until the next occurrence
    [plan] = api.get("/maintenance/plans", params={"site": SITE}, user="dina").json()
    assert plan["next_due_at"] == (
        T0 - timedelta(hours=1) + timedelta(days=15)
    ).isoformat().replace("+00:00", "Z")
    order = api.get(f"/workorders/{plan['last_order_id']}", user="dina").json()
    assert (order["source"], order["trade"], order["device"], order["created_by"]) == (
        "maintenance",
        "elevator",
        "elevator-3",
        "maintenance",
    )
    # Planned work has no 30-minute dispatch clock; it is due by its date + the interval.
    assert set(order["deadlines"]) == {"progress", "due_by"}
    due_by = T0 - timedelta(hours=1) + timedelta(days=15)
    assert (
        order["due_by"] == order["deadlines"]["due_by"] == due_by.isoformat().replace("+00:00", "Z")
    )
    assert (
        api.patch(f"/maintenance/plans/{plan_id}", {"active": False}, user="sam").status_code == 200
    )
    assert _generate(api, days=20) == 0  # due again by now, but the plan is paused


def test_after_a_long_stop_only_the_latest_occurrence_is_opened(api: Api) -> None:
    api.post("/maintenance/plans", PLAN, user="sam")
    assert _generate(api, days=29) == 1  # two were missed; one order, not two
    [plan] = api.get("/maintenance/plans", user="dina").json()
    first_due = T0 - timedelta(hours=1)
    assert plan["next_due_at"] == (first_due + timedelta(days=30)).isoformat().replace(
        "+00:00", "Z"
    )
    assert len(api.get("/workorders", params={"site": SITE}, user="dina").json()) == 1


def test_plans_are_validated(api: Api) -> None:
    bad = api.post("/maintenance/plans", {**PLAN, "interval_days": 0}, user="sam")
    assert bad.status_code == 422
    assert bad.json()["field"] == "interval_days"


def test_a_patch_never_leaves_a_plan_without_a_schedule(api: Api) -> None:
    # `interval_days: null` once left a plan no POST would accept (issue #18).
    plan_id = api.post("/maintenance/plans", PLAN, user="sam").json()["id"]
    url = f"/maintenance/plans/{plan_id}"
    for body, field in (
        ({"interval_days": None, "next_due_at": None}, "interval_days"),
        ({"interval_days": None}, "interval_days"),
        ({"title": None}, "title"),
        ({"active": None}, "active"),
    ):
        response = api.patch(url, body, user="sam")
        assert response.status_code == 422, body
        assert response.json()["field"] == field
    [plan] = api.get("/maintenance/plans", params={"site": SITE}, user="dina").json()
    assert (plan["interval_days"], plan["active"]) == (15, True)
