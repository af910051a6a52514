"""Usage-based preventive maintenance: a plan follows a device's run-hours counter from the
readings store and opens one order each time the counter passes its interval."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from api.domain.usage import usage_step
from api.runtime import Runtime
from api.sites import Sites
from api.tasks import MaintenanceGenerator
from estatewatch.clock import to_epoch_ms
from estatewatch.readings.sqlite import SqliteReadingStore
from estatewatch.readings.sqlite_schema import Point
from tests.api.helpers import SITE, T0, Api, make_api

PUMP = "pump-domestic-low"
TAGS = {"building": "podium", "device": PUMP, "room": "pump-room", "site": SITE}
PLAN = {
    "site": SITE,
    "title": "Pump set service every 500 run hours (水泵保养)",
    "trade": "water_electric",
    "device": PUMP,
    "building": "podium",
    "counter_point": "run_hours",
    "counter_interval": 500,
}


@pytest.mark.parametrize(
    ("threshold", "last", "value", "next_at", "due"),
    [
        (None, None, 9000.0, 9500.0, False),  # first sight: one interval from now
        (9500.0, 9400.0, 9499.0, 9500.0, False),
        (9500.0, 9499.0, 9500.0, 10000.0, True),  # reached
        (9500.0, 9400.0, 9720.0, 10220.0, True),  # passed while unread: from this reading
        (9500.0, 9400.0, 12.0, 512.0, False),  # counter reset: start again
    ],
)
def test_usage_step(
    threshold: float | None, last: float | None, value: float, next_at: float, due: bool
) -> None:
    step = usage_step(interval=500, threshold=threshold, last=last, value=value)
    assert (step.next_at, step.due) == (next_at, due)


async def _write_hours(path: Path, hours: float, at_ms: int) -> None:
    async with SqliteReadingStore(path) as store:  # as `estatewatch ingest --sqlite` does
        await store.write([Point("water_pump_set", TAGS, {"run_hours": hours}, at_ms)])


@pytest.fixture
def api(tmp_path: Path, sites: Sites) -> Iterator[Api]:
    path = tmp_path / "readings.db"
    with make_api(tmp_path / "api.db", sites, readings_url=f"sqlite:{path}") as running:
        running.readings_path = path  # type: ignore[attr-defined]
        yield running


def _generator(rt: Runtime) -> MaintenanceGenerator:
    every = rt.settings.sla_check_interval
    return MaintenanceGenerator(rt.db, rt.sites, rt.clock, rt.readings, interval=every)


def _pass(api: Api, hours: float, minutes: int) -> int:
    """The pump reports `hours`; the maintenance generator reads the counters and runs one
    pass."""
    api.clock.set(T0 + timedelta(minutes=minutes))
    path: Path = api.readings_path  # type: ignore[attr-defined]
    asyncio.run(_write_hours(path, hours, to_epoch_ms(api.clock.now())))
    checker = _generator(api.runtime)
    # In the app's own event loop, where its readings store lives.
    assert api.client.portal is not None
    counters = api.client.portal.call(checker.read_counters)
    before = len(api.get("/workorders", params={"site": SITE}, user="dina").json())
    checker.run_once(counters)
    return len(api.get("/workorders", params={"site": SITE}, user="dina").json()) - before


def test_a_usage_plan_opens_an_order_each_interval_of_run_hours(api: Api) -> None:
    created = api.post("/maintenance/plans", PLAN, user="sam")
    assert created.status_code == 201, created.text
    assert created.json()["interval_days"] is None
    assert _pass(api, 9000, 1) == 0  # first sight: due at 9500 h
    [plan] = api.get("/maintenance/plans", user="dina").json()
    assert (plan["counter_value"], plan["counter_next"]) == (9000, 9500)
    assert _pass(api, 9499, 2) == 0
    assert _pass(api, 9500, 3) == 1
    assert _pass(api, 9500, 4) == 0  # the same reading again opens nothing more
    [plan] = api.get("/maintenance/plans", user="dina").json()
    assert plan["counter_next"] == 10000
    order = api.get(f"/workorders/{plan['last_order_id']}", user="dina").json()
    assert (order["source"], order["device"]) == ("maintenance", PUMP)
    assert order["trade"] == "water_electric"
    assert _pass(api, 10001, 5) == 1


def test_calendar_or_usage_whichever_comes_first(api: Api) -> None:
    both = {**PLAN, "interval_days": 90, "first_due_at": (T0 + timedelta(days=90)).isoformat()}
    assert api.post("/maintenance/plans", both, user="sam").status_code == 201
    _pass(api, 9000, 1)
    assert _pass(api, 9600, 2) == 1  # usage first: serviced now, so the calendar restarts
    [plan] = api.get("/maintenance/plans", user="dina").json()
    assert plan["next_due_at"].startswith((T0 + timedelta(minutes=2, days=90)).date().isoformat())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"counter_interval": None}, "counter_interval"),
        ({"counter_point": None, "counter_interval": None}, None),  # no schedule at all
        ({"device": None}, None),
        ({"counter_interval": -5}, "counter_interval"),
    ],
)
def test_a_plan_without_a_usable_schedule_is_refused(
    api: Api, change: dict[str, object], field: str | None
) -> None:
    response = api.post("/maintenance/plans", {**PLAN, **change}, user="sam")
    assert response.status_code == 422
    if field is not None:
        assert field in response.text


def test_without_a_readings_store_usage_plans_wait(tmp_path: Path, sites: Sites) -> None:
    with make_api(tmp_path / "api.db", sites) as api:
        assert api.post("/maintenance/plans", PLAN, user="sam").status_code == 201
        assert api.client.portal is not None
        assert api.client.portal.call(_generator(api.runtime).read_counters) == {}
