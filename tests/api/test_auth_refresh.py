"""Refresh tokens: rotation, reuse detection, sign-out; and the technicians a duty engineer
dispatches to."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.helpers import PASSWORD, T0, Api, alarm_event
from tests.api.test_security import ETA, ORDER


def _sign_in(api: Api, user: str = "dina") -> dict[str, str]:
    response = api.client.post("/auth/token", data={"username": user, "password": PASSWORD})
    assert response.status_code == 200
    body: dict[str, str] = response.json()
    return body


def _refresh(api: Api, token: str) -> Any:
    return api.client.post("/auth/refresh", json={"refresh_token": token})


def test_a_refresh_token_buys_a_new_pair_once(api: Api) -> None:
    first = _sign_in(api)
    api.clock.set(T0 + timedelta(minutes=14))
    renewed = _refresh(api, first["refresh_token"])
    assert renewed.status_code == 200
    pair = renewed.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert pair["expires_at"] == (T0 + timedelta(minutes=29)).isoformat().replace("+00:00", "Z")
    me = api.client.get("/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.json()["username"] == "dina"


def test_a_reused_refresh_token_signs_out_its_whole_family(api: Api) -> None:
    first = _sign_in(api)
    second = _refresh(api, first["refresh_token"]).json()
    stolen = _refresh(api, first["refresh_token"])  # someone replays the spent token
    assert stolen.status_code == 401
    assert "already used" in stolen.json()["detail"]
    # ... and the legitimate holder's newer token is revoked with it
    assert _refresh(api, second["refresh_token"]).status_code == 401
    other = _sign_in(api)  # another sign-in is another family, untouched
    assert _refresh(api, other["refresh_token"]).status_code == 200


def test_logout_revokes_and_expiry_ends_a_refresh_token(api: Api) -> None:
    session = _sign_in(api)
    out = api.client.post("/auth/logout", json={"refresh_token": session["refresh_token"]})
    assert out.status_code == 204
    refused = _refresh(api, session["refresh_token"])
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    later = _sign_in(api)
    api.clock.set(T0 + timedelta(hours=12))
    expired = _refresh(api, later["refresh_token"])
    assert "expired" in expired.json()["detail"]


def test_a_deactivated_user_cannot_refresh(api: Api) -> None:
    session = _sign_in(api, "tom")
    assert api.patch("/users/tom", {"active": False}).status_code == 200
    assert _refresh(api, session["refresh_token"]).status_code == 401


def test_technicians_for_dispatch_on_duty_first_then_least_busy(api: Api) -> None:
    assert api.patch("/users/tom", {"trade": "elevator"}).status_code == 200
    assert api.patch("/users/tina", {"trade": "elevator"}).status_code == 200
    assert api.client.put(
        "/users/me/duty", json={"on_duty": True}, headers=api.headers("tom")
    ).json()["on_duty"]
    api.ingest(alarm_event("alarm-1"))
    dispatched = api.post(
        f"/workorders/{ORDER}/dispatch", {"assignee": "tom", "contact": "1", "eta": ETA}
    )
    assert dispatched.status_code == 200
    listed = api.get("/users/technicians", user="dina").json()
    assert [(t["username"], t["on_duty"], t["open_orders"]) for t in listed] == [
        ("tom", True, 1),
        ("tina", False, 0),
    ]
    on_duty = api.get("/users/technicians", params={"on_duty": "true"}, user="dina").json()
    assert [t["username"] for t in on_duty] == ["tom"]
    civil = api.get("/users/technicians", params={"trade": "civil"}, user="dina").json()
    assert civil == []
    guard = api.client.put("/users/me/duty", json={"on_duty": True}, headers=api.headers("gary"))
    assert guard.status_code == 403
