"""Estate-scoped access: two estates on one API, and a user of each role scoped to estate A.

Every operation of the OpenAPI document is walked (a new endpoint is covered without a line
here, and one the walk cannot classify fails the test): B's objects by id answer 404 before
anything runs; a `site` of B in the query or the body answers 404; no list, report, export or
stream answer carries anything of B; B's alarm and order are unchanged afterwards. The same
calls by a group user do show B, so the walk is not looking at empty answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api.domain.permissions import Role
from api.models import WorkOrder
from api.schemas.user import UserCreate
from api.security import issue_token
from api.sites import Sites
from api.workflows import users as user_flows
from estatewatch.config import SiteConfig
from tests.api.helpers import PASSWORD, SITE, Api, alarm_event, make_api
from tests.api.test_maintenance import PLAN
from tests.api.test_photos import PNG
from tests.dates import iso, utc

A, B = SITE, "estate-b"
PHOTO = "ph_00000000000000bb"
SCOPED = {role: f"a-{role.value}" for role in Role}
"""One user per role, of estate A only."""
GROUP = "ada"  # an admin of every estate

# Operations that name no estate and no object: the caller's own account, signing in, health;
# and the
# runs across every estate that only a group user may start (403 for the others).
# /health names the sites served (their calendars), to monitoring without a sign-in.
OWN = {("GET", "/health"), ("GET", "/users/me"), ("PUT", "/users/me/duty"), ("POST", "/auth/token"),
       ("POST", "/auth/refresh"), ("POST", "/auth/logout")}  # fmt: skip
GROUP_WIDE = {("POST", "/workorders/sla-check"), ("POST", "/handovers/check"),
              ("POST", "/maintenance/generate")}  # fmt: skip

# Values of required query parameters, so a list answers with data, not a 422.
QUERY = {
    "since": utc(-30).isoformat(),
    "until": utc(30).isoformat(),
    "month": iso(0)[:7],
    "date": iso(0),
    "shift": "day",
    "week": iso(0),
    "format": "json",
    "follow": "false",
    "after": "0",  # the stream from its first change
}


@dataclass
class World:
    api: Api
    ids: dict[str, str]
    """B's objects: path parameter name → id."""


def _estate_b(example: SiteConfig) -> SiteConfig:
    # Validated, as a site file is read: its name in both languages.
    info = {**example.site.model_dump(), "id": B, "name": {"en": "Estate B", "zh": "乙小区"}}
    site = type(example.site).model_validate(info)
    return example.model_copy(update={"site": site})


def _seed_b(api: Api) -> dict[str, str]:
    api.ingest(alarm_event("b-alarm", site=B))
    api.ingest(alarm_event("a-alarm", site=A))
    (order,) = [o for o in api.get("/workorders", user=GROUP).json() if o["site"] == B]
    headers = {**api.headers(GROUP), "Content-Type": "image/png"}
    assert api.client.put(f"/photos/{PHOTO}", content=PNG, headers=headers).status_code == 201
    with api.runtime.db.write() as session:
        row = session.get(WorkOrder, order["id"])
        assert row is not None
        row.photo_refs = [PHOTO]
    created = {
        "incident_id": api.post("/incidents", {"site": B, "plan": "fire"}, user="dina"),
        "handover_id": api.post("/handovers", {"site": B}, user="dina"),
        "sample_id": api.post("/quality/samples", {"site": B, "week": iso(-7)}, user="sam"),
        "plan_id": api.post("/maintenance/plans", {**PLAN, "site": B}, user="sam"),
    }
    ids = {name: answer.json()["id"] for name, answer in created.items()}
    for name, answer in created.items():
        assert answer.status_code == 201, (name, answer.text)
    return {**ids, "alarm_id": "b-alarm", "order_id": order["id"], "ref": PHOTO,
            "username": "b-dina", "device": "elevator-1", "step": "0"}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, example_site: SiteConfig) -> Iterator[World]:
    sites = Sites([example_site, _estate_b(example_site)])
    with make_api(tmp_path_factory.mktemp("estates") / "api.db", sites) as api:
        people = {name: (role, [A]) for role, name in SCOPED.items()}
        people["b-dina"] = (Role.DUTY_ENGINEER, [B])
        with api.runtime.db.write() as session:
            for name, (role, estates) in people.items():
                guard = "guard-zhang" if role is Role.GUARD else None
                data = UserCreate(username=name, password=PASSWORD, role=role, guard_id=guard,
                                  estates=estates)  # fmt: skip
                cost = api.runtime.settings.password_cost
                user_flows.create(session, data=data, cost=cost, now=api.clock.now(),
                                  known_sites=sites.ids)  # fmt: skip
        for name, (role, _) in people.items():
            api.tokens[name], _ = issue_token(username=name, role=role,
                secret=api.runtime.secret, now=api.clock.now(), ttl=timedelta(days=30))  # fmt: skip
        yield World(api, _seed_b(api))


def _operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    spec = api.app.openapi()
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


def _body_fields(api: Api, operation: dict[str, Any]) -> set[str]:
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = schema.get("schema", {}).get("$ref", "")
    found = api.app.openapi()["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    return set(found.get("properties", {}))


def _query(operation: dict[str, Any], site: str) -> dict[str, str]:
    params = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
    query = {n: v for n, v in QUERY.items() if n in params}
    if "site" in params:
        query["site"] = site
    return query


def _call(api: Api, user: str, method: str, path: str, query: dict[str, str], body: Any) -> Any:
    return api.client.request(method, path, params=query, json=body, headers=api.headers(user))


def _leaks(text: str, ids: dict[str, str]) -> list[str]:
    markers = {B, "b-alarm", ids["order_id"], ids["incident_id"], ids["handover_id"],
               ids["sample_id"], ids["plan_id"], PHOTO, "b-dina"}  # fmt: skip
    return sorted(m for m in markers if m in text)


def _check(world: World, user: str, method: str, path: str, operation: dict[str, Any]) -> str:
    """What is wrong with this operation for this A user ('' when nothing); raises when the
    operation fits none of the cases the walk knows."""
    api, ids = world.api, world.ids
    params = re.findall(r"{(\w+)}", path)
    fields = _body_fields(api, operation)
    if params:  # B's objects by id
        unknown = [p for p in params if p not in ids]
        assert not unknown, f"{method} {path}: add B's {unknown} to the walk"
        target = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)
        answer = _call(api, user, method, target, _query(operation, B), {})
        return "" if answer.status_code == 404 else f"{answer.status_code} {answer.text[:120]}"
    if (method, path) in GROUP_WIDE:
        answer = _call(api, user, method, path, {}, {})
        return "" if answer.status_code in (401, 403) else f"{answer.status_code}: ran group-wide"
    if (method, path) in OWN or path == "/users":
        return ""  # /users: its own test below
    names_site = "site" in fields or any(
        p["name"] == "site" for p in operation.get("parameters", [])
    )
    problems = []
    if names_site:  # B named outright
        answer = _call(api, user, method, path, _query(operation, B), {"site": B})
        if answer.status_code != 404:
            problems.append(f"site={B}: {answer.status_code} {answer.text[:120]}")
    if method == "GET":  # a list, report, export or the stream: nothing of B in it
        answer = _call(api, user, method, path, _query(operation, A), None)
        if leaked := _leaks(answer.text, ids):
            problems.append(f"shows {leaked}")
    elif not names_site:
        raise AssertionError(f"{method} {path}: names no estate; classify it in the walk")
    return "; ".join(problems)


@pytest.mark.parametrize("role", list(Role))
def test_an_estate_user_of_every_role_reaches_nothing_of_another_estate(
    world: World, role: Role
) -> None:
    user = SCOPED[role]
    failures = [
        f"{method} {path}: {problem}"
        for method, path, operation in _operations(world.api)
        if (problem := _check(world, user, method, path, operation))
    ]
    assert failures == [], "\n".join(failures)
    order = world.api.get(f"/workorders/{world.ids['order_id']}", user=GROUP).json()
    assert order["state"] == "new"  # nothing the walk sent changed B's order
    assert world.api.get("/alarms/b-alarm", user=GROUP).json()["state"] == "active"


def test_the_walk_covers_every_operation_and_a_group_user_sees_both_estates(
    world: World,
) -> None:
    api = world.api
    operations = {(m, p) for m, p, _ in _operations(api)}
    assert len(operations) > 60
    for path in ("/alarms", "/workorders", "/incidents", "/maintenance/plans", "/stream",
                 "/reports/sla", "/group/overview", "/users"):  # fmt: skip
        answer = api.get(path, user=GROUP, params=QUERY)
        assert answer.status_code == 200, (path, answer.text)
        assert B in answer.text or "b-dina" in answer.text, path
    photo = api.get(f"/photos/{PHOTO}", user=GROUP)
    assert photo.status_code == 200


def test_a_scoped_admin_manages_only_their_estates_users(world: World) -> None:
    api, admin = world.api, SCOPED[Role.ADMIN]
    names = {u["username"] for u in api.get("/users", user=admin).json()}
    assert "b-dina" not in names
    assert "ada" not in names
    assert SCOPED[Role.GUARD] in names
    new = {"username": "a-new", "password": PASSWORD, "role": "technician"}
    group = api.post("/users", new, user=admin)
    assert group.status_code == 422
    assert group.json()["field"] == "estates"
    foreign = api.post("/users", {**new, "estates": [B]}, user=admin)
    assert foreign.status_code == 422
    assert B in foreign.json()["detail"]
    unknown = api.post("/users", {**new, "estates": ["atlantis"]}, user=GROUP)
    assert unknown.status_code == 422
    assert "atlantis" in unknown.json()["detail"]
    made = api.post("/users", {**new, "estates": [A]}, user=admin)
    assert made.status_code == 201
    assert made.json()["estates"] == [A]
    moved = api.patch("/users/a-new", {"estates": [A, B]}, user=GROUP)
    assert moved.status_code == 200
    assert moved.json()["estates"] == [A, B]
    assert api.patch("/users/a-new", {"full_name": "x"}, user=admin).status_code == 200


def test_the_group_overview_shows_each_users_estates_most_urgent_first(world: World) -> None:
    api = world.api
    both = api.get("/group/overview", user=GROUP).json()
    assert {e["site"] for e in both["estates"]} == {A, B}
    first = both["estates"][0]
    assert first["critical_alarms"] == 1
    assert first["attention"] == "critical"
    mine = api.get("/group/overview", user=SCOPED[Role.DUTY_ENGINEER]).json()
    assert [e["site"] for e in mine["estates"]] == [A]
    assert api.get("/group/overview", user=SCOPED[Role.GUARD]).status_code == 403


def test_an_estate_user_of_one_estate_sees_its_own_objects(world: World) -> None:
    api, dina = world.api, SCOPED[Role.DUTY_ENGINEER]
    assert [a["alarm_id"] for a in api.get("/alarms", user=dina).json()] == ["a-alarm"]
    assert api.get("/alarms/a-alarm", user=dina).status_code == 200
    assert api.get("/alarms/b-alarm", user="b-dina").status_code == 200
    assert api.get("/alarms/a-alarm", user="b-dina").status_code == 404


def test_add_user_takes_repeated_estates_and_names_an_unknown_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.db import Database
    from api.models import User
    from estatewatch.cli import main
    from tests.conftest import EXAMPLE_SITE

    monkeypatch.setenv("EW_NEW_PASSWORD", PASSWORD)
    database = str(tmp_path / "cli.db")
    base = ["api", "add-user", "--database", database, "--dev", "--site", str(EXAMPLE_SITE)]
    assert main([*base, "li", "--role", "technician", "--estate", "atlantis"]) == 1
    assert "'atlantis'" in capsys.readouterr().err
    assert main([*base, "li", "--role", "technician", "--estate", A, "--estate", A]) == 0
    db = Database(database)
    with db.read() as session:
        user = session.get(User, "li")
        assert user is not None
        assert user.estates == [A]
    db.dispose()


def test_a_technicians_own_stream_stays_in_their_estate(world: World) -> None:
    """`/stream?mine=true` (issue #25) is narrowed to the technician's estates like every
    stream; and an order of B cannot be dispatched to a technician of A at all (they could
    not read their own job): a 422 naming the assignee."""
    api, tech = world.api, SCOPED[Role.TECHNICIAN]
    report = {"title": "Tap drips", "trade": "water_electric", "requester_name": "Mrs Chen",
              "requester_contact": "139"}  # fmt: skip
    eta = (api.clock.now() + timedelta(minutes=20)).isoformat()
    dispatch = {"assignee": tech, "contact": "138", "eta": eta}
    ids = {}
    for site in (A, B):
        made = api.post("/workorders", {**report, "site": site}, user=GROUP)
        assert made.status_code == 201, made.text
        ids[site] = made.json()["id"]
        sent = api.post(f"/workorders/{ids[site]}/dispatch", dispatch, user=GROUP)
        if site == A:
            assert sent.status_code == 200, sent.text
        else:
            assert sent.status_code == 422, sent.text
            assert sent.json()["field"] == "assignee"
    answer = api.get("/stream", user=tech, params={"mine": "true", "follow": "false", "after": "0"})
    assert answer.status_code == 200, answer.text
    assert ids[A] in answer.text
    assert ids[B] not in answer.text
    assert _leaks(answer.text, world.ids) == []
