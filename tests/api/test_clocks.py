"""Issue #16, the closed loop without a way around its clocks, over HTTP under a FakeClock:
categories on hand-made orders, no report dated ahead, no silent downgrade, `order:answer`
enforced, and a clock that runs until the order is done."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.helpers import T0, Api

M = timedelta(minutes=1)
H = timedelta(hours=1)


def _z(moment: Any) -> str:
    return str(moment.isoformat()).replace("+00:00", "Z")


def _report(api: Api, user: str = "cara", **fields: Any) -> Any:
    body: dict[str, Any] = {
        "site": "harbour-view",
        "title": "Owner trapped in lift 3",
        "requester_name": "Mr Wang",
        "requester_contact": "139 0000 0003",
        "building": "t2",
    }
    body.update(fields)
    return api.post("/workorders", body, user=user)


def _order(api: Api, **fields: Any) -> dict[str, Any]:
    created = _report(api, **fields)
    assert created.status_code == 201, created.json()
    order: dict[str, Any] = created.json()
    return order


# --- 1. categories on every order -----------------------------------------------------------


def test_a_phoned_in_entrapment_gets_the_on_site_clock(api: Api) -> None:
    order = _order(api, category="entrapment")
    # The policy's entrapment rule: elevator trade, urgent, whatever the caller chose.
    assert (order["category"], order["trade"], order["urgency"]) == (
        "entrapment",
        "elevator",
        "urgent",
    )
    assert order["deadlines"]["on_site"] == _z(T0 + 30 * M)
    assert order["deadlines"]["response"] == _z(T0 + 15 * M)


def test_an_order_says_which_clocks_still_run_and_whether_it_is_open(api: Api) -> None:
    # The pages render these two fields and keep no copy of the SLA rules (issue #21).
    order = _order(api, category="entrapment")
    assert order["open"] is True
    pending = order["pending_clocks"]
    assert [c["due"] for c in pending] == sorted(c["due"] for c in pending)
    assert pending[0] == {"clock": "response", "due": _z(T0 + 15 * M)}
    assert {c["clock"] for c in pending} <= set(order["deadlines"])
    dispatch = {"assignee": "tom", "contact": "138", "eta": _z(T0 + 20 * M)}
    dispatched = api.post(f"/workorders/{order['id']}/dispatch", dispatch, user="dina").json()
    assert "dispatch" not in {c["clock"] for c in dispatched["pending_clocks"]}
    assert "dispatch" in dispatched["deadlines"]
    # The queue builds its page apart from the detail (once per page): the same clocks.
    (listed,) = [o for o in api.get("/workorders").json() if o["id"] == order["id"]]
    assert (listed["pending_clocks"], listed["open"]) == (dispatched["pending_clocks"], True)
    cancelled = api.post(f"/workorders/{order['id']}/cancel", {"reason": "duplicate"}, user="cara")
    assert cancelled.status_code == 200, cancelled.json()
    assert (cancelled.json()["open"], cancelled.json()["pending_clocks"]) == (False, [])


def test_a_category_cannot_lower_the_policys_urgency(api: Api) -> None:
    order = _order(api, category="pipe_burst", trade="water_electric", urgency="general")
    assert order["urgency"] == "urgent"
    assert "response" in order["deadlines"]


def test_an_unknown_category_is_a_422_listing_the_known(api: Api) -> None:
    refused = _report(api, category="unicorn", trade="civil")
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["field"] == "category"
    assert "entrapment" in problem["allowed"]
    assert problem["detail_zh"]


def test_an_ordinary_repair_still_needs_a_trade(api: Api) -> None:
    refused = _report(api)
    assert (refused.status_code, refused.json()["field"]) == (422, "trade")
    order = _order(api, trade="civil")
    assert (order["category"], order["urgency"]) == ("manual", "general")


# --- 2. no silent escape -------------------------------------------------------------------


def test_a_report_dated_tomorrow_is_a_422_naming_the_field(api: Api) -> None:
    refused = _report(api, trade="civil", reported_at=_z(T0 + timedelta(days=1)))
    assert refused.status_code == 422
    assert refused.json()["field"] == "reported_at"
    # A phone clock a minute ahead is clock skew, not a forgery.
    order = _order(api, trade="civil", reported_at=_z(T0 + M))
    assert order["reported_at"] == _z(T0 + M)


def test_lowering_an_urgent_order_needs_a_supervisor_or_a_reason(api: Api) -> None:
    order_id = _order(api, category="entrapment")["id"]
    path = f"/workorders/{order_id}"
    refused = api.patch(path, {"urgency": "general"}, user="cara")
    assert (refused.status_code, refused.json()["field"]) == (403, "urgency")
    no_reason = api.patch(path, {"urgency": "general"}, user="dina")
    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")
    lowered = api.patch(
        path, {"urgency": "general", "reason": "passenger already out, car parked"}, user="dina"
    )
    assert lowered.status_code == 200, lowered.json()
    entry = [e for e in lowered.json()["log"] if e["action"] == "lower_urgency"]
    assert len(entry) == 1
    assert entry[0]["by"] == "dina"
    assert entry[0]["note"] == "passenger already out, car parked"
    assert entry[0]["data"] == {"from": "urgent", "to": "general", "role": "duty_engineer"}


def test_a_supervisor_may_lower_and_raising_needs_no_one(api: Api) -> None:
    order_id = _order(api, trade="civil")["id"]
    raised = api.patch(f"/workorders/{order_id}", {"urgency": "urgent"}, user="cara")
    assert raised.status_code == 200
    lowered = api.patch(f"/workorders/{order_id}", {"urgency": "general"}, user="sam")
    assert lowered.status_code == 200
    assert lowered.json()["urgency"] == "general"


def test_a_technicians_answer_to_the_requester_is_a_403(api: Api) -> None:
    order_id = _order(api, trade="civil")["id"]
    dispatch = {"assignee": "tom", "contact": "138", "eta": _z(T0 + 20 * M)}
    assert api.post(f"/workorders/{order_id}/dispatch", dispatch, user="dina").status_code == 200
    path = f"/workorders/{order_id}/comments"
    refused = api.post(path, {"text": "done tomorrow", "to_requester": True}, user="tom")
    assert refused.status_code == 403
    assert refused.json()["field"] == "to_requester"
    assert api.get(f"/workorders/{order_id}").json()["requester_answered_at"] is None
    # The same note for the duty room is fine, and customer service answers.
    assert api.post(path, {"text": "done tomorrow"}, user="tom").status_code == 201
    answered = api.post(path, {"text": "done tomorrow", "to_requester": True}, user="cara")
    assert answered.status_code == 201
    assert api.get(f"/workorders/{order_id}").json()["requester_answered_at"] == _z(T0)


# --- 3. a clock until done -----------------------------------------------------------------


def _dispatched(api: Api, **fields: Any) -> str:
    order_id = str(_order(api, **fields)["id"])
    dispatch = {"assignee": "tom", "contact": "138", "eta": _z(T0 + 20 * M)}
    assert api.post(f"/workorders/{order_id}/dispatch", dispatch, user="dina").status_code == 200
    return order_id


def _check(api: Api, at: Any) -> int:
    api.clock.set(at)
    response = api.post("/workorders/sla-check", user="sam")
    assert response.status_code == 200
    flagged: int = response.json()["flagged"]
    return flagged


def test_accepting_sets_the_expected_completion_and_overdue_is_a_breach(api: Api) -> None:
    order_id = _dispatched(api, category="entrapment")
    api.clock.set(T0 + 5 * M)
    accepted = api.post(
        f"/workorders/{order_id}/accept", {"done_by": _z(T0 + 2 * H)}, user="tom"
    ).json()
    assert accepted["expected_done_at"] == _z(T0 + 2 * H)
    assert accepted["deadlines"]["completion"] == _z(T0 + 2 * H)
    assert api.post(f"/workorders/{order_id}/arrive", {}, user="tom").status_code == 200
    assert _check(api, T0 + 2 * H) == 0
    assert _check(api, T0 + 2 * H + M) == 1
    order = api.get(f"/workorders/{order_id}").json()
    assert order["breached"] == ["completion"]
    assert order["escalation_level"] == 1
    actions = [e["action"] for e in order["log"]]
    assert actions[-2:] == ["sla_breached", "escalate"]


def test_accepting_without_done_by_takes_the_sites_default(api: Api) -> None:
    order_id = _dispatched(api, trade="civil")
    api.clock.set(T0 + H)
    accepted = api.post(f"/workorders/{order_id}/accept", {}, user="tom").json()
    assert accepted["expected_done_at"] == _z(T0 + H + 72 * H)


def test_a_done_by_in_the_past_is_a_422(api: Api) -> None:
    order_id = _dispatched(api, trade="civil")
    api.clock.set(T0 + H)
    refused = api.post(f"/workorders/{order_id}/accept", {"done_by": _z(T0)}, user="tom")
    assert (refused.status_code, refused.json()["field"]) == (422, "done_by")


def test_a_general_order_owes_a_progress_answer_every_24_hours(api: Api) -> None:
    order_id = _dispatched(api, trade="civil")
    api.clock.set(T0 + H)
    assert api.post(f"/workorders/{order_id}/accept", {}, user="tom").status_code == 200
    # Answered in time on day 1: the clock restarts from the answer.
    api.clock.set(T0 + 20 * H)
    body = {"why_open": "seal on order", "done_by": _z(T0 + 60 * H)}
    answered = api.post(f"/workorders/{order_id}/progress", body, user="cara")
    assert answered.status_code == 200, answered.json()
    order = answered.json()
    assert order["deadlines"]["progress"] == _z(T0 + 44 * H)
    assert order["expected_done_at"] == _z(T0 + 60 * H)
    assert order["requester_answered_at"] == _z(T0 + 20 * H)
    entry = order["log"][-1]
    assert (entry["action"], entry["note"]) == ("progress", "seal on order")
    assert _check(api, T0 + 44 * H) == 0
    # Silent on day 2: breached and escalated, under its own name.
    assert _check(api, T0 + 44 * H + M) == 1
    assert api.get(f"/workorders/{order_id}").json()["breached"] == ["progress_2"]


def test_a_late_progress_answer_stays_breached(api: Api) -> None:
    order_id = _dispatched(api, trade="civil")
    api.clock.set(T0 + 30 * H)
    body = {"why_open": "waiting for the owner", "done_by": _z(T0 + 50 * H)}
    assert api.post(f"/workorders/{order_id}/progress", body, user="dina").status_code == 200
    assert "progress" in api.get(f"/workorders/{order_id}").json()["breached"]


def test_only_who_may_answer_gives_progress_and_not_once_done(api: Api) -> None:
    order_id = _dispatched(api, trade="civil")
    body = {"why_open": "x", "done_by": _z(T0 + 5 * H)}
    assert api.post(f"/workorders/{order_id}/progress", body, user="tom").status_code == 403
    api.clock.set(T0 + H)
    assert api.post(f"/workorders/{order_id}/accept", {}, user="tom").status_code == 200
    assert api.post(f"/workorders/{order_id}/arrive", {}, user="tom").status_code == 200
    done = api.post(f"/workorders/{order_id}/complete", {"result": "fixed"}, user="tom")
    assert done.status_code == 200
    assert "progress" not in done.json()["breached"]
    late = api.post(f"/workorders/{order_id}/progress", body, user="cara")
    assert late.status_code == 409
    assert late.json()["detail_zh"]
