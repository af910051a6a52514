"""Test helpers: building AlarmEvents, and running the app with a user of each role."""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api.app import create_app
from api.domain.permissions import Role
from api.runtime import Runtime
from api.schemas.user import UserCreate
from api.security import issue_token
from api.settings import Settings
from api.sites import Sites
from api.store import users
from api.workflows import users as user_flows
from estatewatch.clock import FakeClock, to_epoch_ms
from estatewatch.contracts.payloads import AlarmEvent
from estatewatch.readings import ReadingStore
from tests.dates import utc

with warnings.catch_warnings():
    # Starlette 1.x prefers `httpx2` and warns when only httpx (the project's dependency) is
    # installed; with `httpx2` installed this filter is moot.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

T0 = utc(0, 8)  # a Monday, 16:00 in Asia/Shanghai
PASSWORD = "correct horse battery"
SITE = "harbour-view"

# One user per role; two technicians, so object-level checks have someone to fail on.
USERS: dict[str, tuple[Role, str | None]] = {
    "ada": (Role.ADMIN, None),
    "sam": (Role.SUPERVISOR, None),
    "dina": (Role.DUTY_ENGINEER, None),
    "tom": (Role.TECHNICIAN, None),
    "tina": (Role.TECHNICIAN, None),
    "gary": (Role.GUARD, "guard-zhang"),
    "cara": (Role.CUSTOMER_SERVICE, None),
}
BY_ROLE = {role: name for name, (role, _) in reversed(USERS.items())}


def alarm_event(
    alarm_id: str = "alarm-1",
    revision: int = 1,
    event: str = "raised",
    *,
    category: str = "entrapment",
    severity: str = "critical",
    raised_at: datetime = T0,
    ts: datetime | None = None,
    active: bool = True,
    acknowledged: bool = False,
    site: str = SITE,
    **fields: Any,
) -> AlarmEvent:
    defaults: dict[str, Any] = {
        "rule": f"test.{category}",
        "target_kind": "device",
        "target": "elevator-3",
        "device_kind": "elevator",
        "building": "t2",
        "room": "machine-room",
        "title": f"{category} at elevator-3",
    }
    defaults.update(fields)
    return AlarmEvent(
        event_id=f"{alarm_id}:{revision}",
        alarm_id=alarm_id,
        revision=revision,
        event=event,
        site=site,
        category=category,
        severity=severity,
        raised_at=to_epoch_ms(raised_at),
        ts=to_epoch_ms(ts or raised_at + timedelta(seconds=revision - 1)),
        active=active,
        acknowledged=acknowledged,
        **defaults,
    )


def settings_for(database: Path | str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "development",
        "database_url": str(database),
        # Beside the database file; a PostgreSQL URL has no folder, so a temporary one.
        "photo_dir": (
            Path(tempfile.mkdtemp(prefix="ew-photos-"))
            if "://" in str(database)
            else Path(str(database)).parent / "photos"
        ),
        "password_cost": 12,  # scrypt N=4096: fast enough for tests, refused in production
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Api:
    app: FastAPI
    client: TestClient
    clock: FakeClock
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def get(self, path: str, user: str | None = "ada", **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(user), **kw)

    def post(self, path: str, json: Any = None, user: str | None = "ada", **kw: Any) -> Any:
        return self.client.post(
            path, json=json if json is not None else {}, headers=self.headers(user), **kw
        )

    def put(self, path: str, json: Any, user: str | None = "ada", **kw: Any) -> Any:
        return self.client.put(path, json=json, headers=self.headers(user), **kw)

    def patch(self, path: str, json: Any, user: str | None = "ada") -> Any:
        return self.client.patch(path, json=json, headers=self.headers(user))

    def ingest(self, event: AlarmEvent) -> str:
        from api import inbound

        with self.runtime.db.write() as session:
            return inbound.apply(session, event, now=self.clock.now(), sites=self.runtime.sites)


def seed_users(runtime: Runtime) -> None:
    with runtime.db.write() as session:
        for name, (role, guard_id) in USERS.items():
            if users.get(session, username=name) is None:
                data = UserCreate(username=name, password=PASSWORD, role=role, guard_id=guard_id)
                user_flows.create(session, data=data, cost=runtime.settings.password_cost, now=T0)


@contextlib.contextmanager
def make_api(
    database: Path | str,
    sites: Sites,
    *,
    clock: FakeClock | None = None,
    readings: ReadingStore | None = None,
    **settings: Any,
) -> Iterator[Api]:
    clock = clock or FakeClock(T0)
    app = create_app(
        settings_for(database, **settings), clock=clock, sites=sites, readings=readings
    )
    with TestClient(app) as client:
        running = Api(app, client, clock)
        seed_users(running.runtime)
        for name, (role, _) in USERS.items():
            running.tokens[name], _ = issue_token(
                username=name,
                role=role,
                secret=running.runtime.secret,
                now=clock.now(),
                ttl=timedelta(days=30),  # tests move the FakeClock by days
            )
        yield running


def parse_sse(lines: list[str]) -> list[dict[str, str]]:
    """Server-Sent Events from the lines of a stream (comments dropped)."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in lines:
        if not line:
            if current:
                events.append(current)
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            current[name] = value[1:] if value.startswith(" ") else value
    if current:
        events.append(current)
    return events
