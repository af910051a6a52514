"""Signing in, tokens, the login rate limit, settings, and who may call what: every role
against every endpoint, then the object-level rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from api.domain.permissions import Role
from api.security import hash_password, verify_password
from api.settings import DEFAULT_SECRET, Settings
from api.store.workorders import order_id_for_alarm
from tests.api.helpers import BY_ROLE, PASSWORD, T0, Api, alarm_event
from tests.dates import iso

ORDER = order_id_for_alarm("alarm-1")
ETA = (T0 + timedelta(minutes=20)).isoformat()
R = Role
ALL = set(Role)
WATCHERS = {R.ADMIN, R.SUPERVISOR, R.DUTY_ENGINEER}
OFFICE = WATCHERS | {R.CUSTOMER_SERVICE}

# (method, path, body, roles allowed). Allowed roles may still meet a 409 or 422 (the order
# may not be in the right state by then); the others must get 403.
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, set[Role]]] = [
    ("GET", "/users/me", None, ALL),
    ("GET", "/users", None, {R.ADMIN, R.SUPERVISOR}),
    (
        "POST",
        "/users",
        {"username": "newbie", "password": PASSWORD, "role": "technician"},
        {R.ADMIN},
    ),
    ("PATCH", "/users/tina", {"contact": "139"}, {R.ADMIN}),
    ("GET", "/users/technicians", None, WATCHERS),
    ("PUT", "/users/me/duty", {"on_duty": True}, {R.TECHNICIAN}),
    ("GET", "/alarms", None, OFFICE),
    ("GET", "/alarms/alarm-1", None, OFFICE),
    ("POST", "/alarms/alarm-1/comments", {"text": "checking"}, WATCHERS),
    ("POST", "/alarms/alarm-1/acknowledge", {}, WATCHERS),
    ("GET", "/workorders", None, OFFICE | {R.TECHNICIAN}),
    ("GET", f"/workorders/{ORDER}", None, OFFICE | {R.TECHNICIAN}),
    ("POST", f"/workorders/{ORDER}/comments", {"text": "parts ordered"}, OFFICE | {R.TECHNICIAN}),
    ("PATCH", f"/workorders/{ORDER}", {"location": "car A"}, OFFICE),
    (
        "POST",
        "/workorders",
        {
            "site": "harbour-view",
            "title": "Noise",
            "trade": "civil",
            "requester_name": "Mr Li",
            "requester_contact": "1",
        },
        OFFICE,
    ),
    ("POST", f"/workorders/{ORDER}/accept", {}, WATCHERS | {R.TECHNICIAN}),
    ("POST", f"/workorders/{ORDER}/arrive", {}, WATCHERS | {R.TECHNICIAN}),
    ("POST", f"/workorders/{ORDER}/complete", {"result": "done"}, WATCHERS | {R.TECHNICIAN}),
    ("POST", f"/workorders/{ORDER}/verify", {"callback_note": "ok"}, OFFICE),
    ("POST", f"/workorders/{ORDER}/reopen", {"reason": "not fixed"}, OFFICE),
    ("POST", f"/workorders/{ORDER}/close", {}, OFFICE),
    (
        "POST",
        f"/workorders/{ORDER}/dispatch",
        {"assignee": "tom", "contact": "1", "eta": ETA},
        WATCHERS,
    ),
    ("POST", f"/workorders/{ORDER}/cancel", {"reason": "duplicate"}, OFFICE),
    ("POST", "/workorders/sla-check", {}, {R.ADMIN, R.SUPERVISOR}),
    ("GET", "/devices", None, WATCHERS),
    ("GET", "/devices/pump-fire/latest?site=harbour-view", None, WATCHERS | {R.TECHNICIAN}),
    ("GET", "/devices/pump-fire/history?point=outlet_pressure", None, WATCHERS | {R.TECHNICIAN}),
    ("GET", "/devices/pump-fire/operation-log", None, WATCHERS | {R.TECHNICIAN}),
    ("GET", "/reports/handover?site=harbour-view", None, WATCHERS),
    ("GET", "/maintenance/plans", None, WATCHERS),
    (
        "POST",
        "/maintenance/plans",
        {
            "site": "harbour-view",
            "title": "Lube",
            "trade": "elevator",
            "interval_days": 15,
            "first_due_at": ETA,
        },
        {R.ADMIN, R.SUPERVISOR},
    ),
    ("POST", "/maintenance/generate", {}, {R.ADMIN, R.SUPERVISOR}),
    ("GET", "/reports/sla?format=csv", None, WATCHERS),
    (
        "POST",
        "/patrol/scans",
        {
            "site": "harbour-view",
            "scans": [{"handheld": "hh-01", "tag_uid": "04A1B20011", "scanned_at": T0.isoformat()}],
        },
        {R.GUARD},  # an admin may, in principle, but has no guard id to scan as
    ),
    ("GET", "/patrol/scans?site=harbour-view", None, WATCHERS),
    ("GET", "/patrol/exceptions?site=harbour-view", None, WATCHERS),
    ("GET", f"/patrol/completion?site=harbour-view&shift=day&date={iso(0)}", None, WATCHERS),
    ("GET", "/stream?follow=false", None, WATCHERS),
]


def _call(api: Api, method: str, path: str, body: dict[str, Any] | None, user: str | None) -> Any:
    return api.client.request(method, path, json=body, headers=api.headers(user))


@pytest.mark.parametrize("role", list(Role))
def test_each_role_against_each_endpoint(api: Api, role: Role) -> None:
    api.ingest(alarm_event("alarm-1"))
    assert (
        api.post(
            f"/workorders/{ORDER}/dispatch",
            {"assignee": "tom", "contact": "1", "eta": ETA},
            user="dina",
        ).status_code
        == 200
    )
    user = BY_ROLE[role]
    outcomes = {}
    for method, path, body, allowed in ENDPOINTS:
        status = _call(api, method, path, body, user).status_code
        outcomes[(method, path)] = status
        if role in allowed:
            assert status not in (401, 403, 404), (method, path, status)
        else:
            assert status == 403, (method, path, status)
    assert any(200 <= s < 300 for s in outcomes.values())


def test_every_endpoint_needs_a_token(api: Api) -> None:
    for method, path, body, _ in ENDPOINTS:
        response = _call(api, method, path, body, None)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"


def test_technicians_see_and_change_only_their_own_orders(api: Api) -> None:
    api.ingest(alarm_event("alarm-1"))
    api.ingest(alarm_event("alarm-2", category="pressure_loss", severity="major"))
    api.post(
        f"/workorders/{ORDER}/dispatch",
        {"assignee": "tom", "contact": "1", "eta": ETA},
        user="dina",
    )
    assert [o["id"] for o in api.get("/workorders", user="tom").json()] == [ORDER]
    assert api.get("/workorders", user="tina").json() == []
    assert api.get("/workorders", params={"assignee": "tom"}, user="tina").json() == []
    assert api.get(f"/workorders/{ORDER}", user="tina").status_code == 404
    assert api.post(f"/workorders/{ORDER}/accept", user="tina").status_code == 404
    assert api.post(f"/workorders/{ORDER}/comments", {"text": "x"}, user="tina").status_code == 404
    other = order_id_for_alarm("alarm-2")  # not assigned to anyone
    assert api.get(f"/workorders/{other}", user="tom").status_code == 404
    accepted = api.post(f"/workorders/{ORDER}/accept", user="tom")
    assert accepted.status_code == 200
    # only the technician's own steps (cancel is the duty room's)
    assert accepted.json()["allowed_actions"] == ["arrive", "hand_back"]


def test_login_issues_a_short_lived_token(api: Api) -> None:
    response = api.client.post("/auth/token", data={"username": "dina", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert response.json()["expires_at"] == (T0 + timedelta(minutes=15)).isoformat().replace(
        "+00:00", "Z"
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/users/me", headers=headers).json()["role"] == "duty_engineer"
    api.clock.set(T0 + timedelta(minutes=15))
    expired = api.client.get("/users/me", headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


def test_forged_and_revoked_tokens_are_refused(api: Api) -> None:
    token = api.tokens["tom"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (
        api.client.get("/users/me", headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )
    assert api.patch("/users/tom", {"active": False}).status_code == 200
    assert api.get("/users/me", user="tom").status_code == 401
    assert api.patch("/users/tina", {"role": "guard", "guard_id": "guard-li"}).status_code == 200
    assert api.get("/workorders", user="tina").status_code == 403  # the new role, at once


def test_failed_logins_are_rate_limited(api: Api) -> None:
    def login(password: str) -> Any:
        return api.client.post("/auth/token", data={"username": "sam", "password": password})

    for _ in range(5):
        assert login("guess").status_code == 401
    limited = login(PASSWORD)  # even the right password, while limited
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) == 301
    assert (
        api.client.post("/auth/token", data={"username": "cara", "password": PASSWORD}).status_code
        == 200
    )
    api.clock.set(T0 + timedelta(minutes=5, seconds=1))
    assert login(PASSWORD).status_code == 200


def test_spraying_many_usernames_from_one_client_is_limited(api: Api) -> None:
    statuses = [
        api.client.post(
            "/auth/token", data={"username": f"user{n}", "password": "guess"}
        ).status_code
        for n in range(21)
    ]
    assert statuses == [401] * 20 + [429]


def test_unknown_users_fail_like_wrong_passwords(api: Api) -> None:
    response = api.client.post("/auth/token", data={"username": "nobody", "password": "whatever"})
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong username or password"


def test_passwords_are_salted_scrypt() -> None:
    first, second = hash_password("s3cret-pass", cost=12), hash_password("s3cret-pass", cost=12)
    assert first != second
    assert first.startswith("scrypt$12$8$1$")
    assert verify_password("s3cret-pass", first)
    assert not verify_password("s3cret-pasS", first)
    assert not verify_password("s3cret-pass", "md5$whatever")


def test_settings_refuse_the_default_secret_outside_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match="EW_SECRET_KEY is the development default"):
        Settings(environment="production")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(environment="production", secret_key="short")
    assert Settings(environment="development").secret_key.get_secret_value() == DEFAULT_SECRET
    monkeypatch.setenv("EW_ENVIRONMENT", "production")
    monkeypatch.setenv("EW_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("EW_ACCESS_TOKEN_TTL", "10m")
    from_env = Settings()
    assert from_env.access_token_ttl == timedelta(minutes=10)
    with pytest.raises(ValidationError, match="development only"):
        Settings(password_cost=12)


def test_mass_assignment_is_refused_and_changes_nothing(api: Api) -> None:
    """Fields a request model does not name are refused (422, naming the field), never
    applied: no one promotes themselves, closes an order by PATCH, or picks an order's id."""
    api.ingest(alarm_event("alarm-1"))
    api.post(
        f"/workorders/{ORDER}/dispatch",
        {"assignee": "tom", "contact": "1", "eta": ETA},
        user="dina",
    )
    # a technician clocking on cannot slip in a role
    duty = api.client.put(
        "/users/me/duty", json={"on_duty": True, "role": "admin"}, headers=api.headers("tom")
    )
    assert duty.status_code == 422
    assert duty.json()["field"] == "role"
    assert api.get("/users/me", user="tom").json()["role"] == "technician"
    # nor edit their account
    assert api.patch("/users/tom", {"role": "admin"}, user="tom").status_code == 403
    # an order's state, assignee and history move only by their actions
    for field, value in (("state", "closed"), ("assignee", "tina"), ("escalation_level", 0)):
        response = api.patch(f"/workorders/{ORDER}", {field: value}, user="dina")
        assert response.status_code == 422, field
        assert response.json()["field"] == field
    order = api.get(f"/workorders/{ORDER}", user="dina").json()
    assert (order["state"], order["assignee"]) == ("dispatched", "tom")
    # a logged report cannot choose its id, state or SLA clocks
    body = {
        "site": "harbour-view", "title": "Noise", "trade": "civil", "requester_name": "Li",
        "requester_contact": "1", "id": "WO-MINE", "state": "closed", "deadlines": {},
    }  # fmt: skip
    created = api.post("/workorders", body, user="cara")
    assert created.status_code == 422
    assert api.get("/workorders/WO-MINE", user="dina").status_code == 404
