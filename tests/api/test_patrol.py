"""Patrol: rounds of a shift (pure), guards syncing late batches with findings over HTTP,
scans and exceptions from the gateway over MQTT."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from api import inbound
from api.domain import patrol as rounds
from api.models import OutboxMessage
from api.store.workorders import order_id_for_scan
from estatewatch.clock import to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import PatrolException, PatrolScan, stable_id
from tests.api.helpers import SITE, T0, Api
from tests.dates import day, iso, utc

SHANGHAI = ZoneInfo("Asia/Shanghai")
EQUIPMENT_ROUND = [
    ("pump-room", "04A1B20011"),
    ("fire-pump-room", "04A1B20012"),
    ("generator-room", "04A1B20016"),
    ("power-room-1", "04A1B20013"),
    ("power-room-2", "04A1B20014"),
    ("fire-control", "04A1B20015"),
    ("t1-lift-machine", "04A1B20017"),
]
ROUND_START = utc(0, 8, 30)  # 16:30 in Shanghai


def _shift(site: SiteConfig, name: str):  # type: ignore[no-untyped-def]
    return next(s for s in site.shifts if s.id == name)


def test_a_night_shift_runs_past_midnight(example_site: SiteConfig) -> None:
    night = _shift(example_site, "night")
    start, end = rounds.shift_bounds(night, day(0), SHANGHAI)
    assert (start.isoformat(), end.isoformat()) == (
        f"{iso(0)}T20:00:00+08:00",
        f"{iso(1)}T08:00:00+08:00",
    )
    plan = rounds.rounds_of_shift(example_site, night, day(0), SHANGHAI)
    towers = [(r.start.date(), f"{r.start:%H:%M}") for r in plan if r.route == "towers-round"]
    assert towers == [(day(0), "21:00"), (day(1), "00:30"), (day(1), "04:00")]
    assert all(start <= r.start < end for r in plan)
    at_3am = utc(0, 19)  # 03:00 on the 3rd, local
    current = rounds.shift_of(example_site, at_3am, SHANGHAI)
    assert current is not None
    assert (current[0].id, current[1]) == ("night", day(0))


def test_completion_counts_scans_in_the_window_and_their_order() -> None:
    plan = [rounds.Round("r", "R", ("a", "b", "c"), True, T0, T0 + timedelta(hours=1))]
    scans = [
        rounds.ScanFact("b", T0 + timedelta(minutes=5), "g1"),
        rounds.ScanFact("a", T0 + timedelta(minutes=9), "g1"),
        rounds.ScanFact("c", T0 + timedelta(minutes=61), "g1"),  # after the window
        rounds.ScanFact("a", T0 - timedelta(minutes=1), "g2"),  # before it
    ]
    [result] = rounds.completion(plan, scans)
    assert (result.scanned, result.missed, result.out_of_order) == (["b", "a"], ["c"], True)
    assert (result.percent, result.complete, result.guards) == (66.7, False, ["g1"])


def _batch(minutes_apart: float = 2.0, **finding_on: dict[str, object]) -> dict[str, object]:
    scans = []
    for i, (checkpoint, tag) in enumerate(EQUIPMENT_ROUND):
        at = ROUND_START + timedelta(minutes=1 + i * minutes_apart)
        scan: dict[str, object] = {
            "handheld": "hh-01",
            "tag_uid": tag.lower(),
            "scanned_at": at.isoformat(),
            "offline": True,
        }
        if checkpoint in finding_on:
            scan["finding"] = finding_on[checkpoint]
        scans.append(scan)
    return {"site": SITE, "scans": scans}


def test_a_late_synced_batch_completes_the_round_and_its_finding_becomes_one_order(
    api: Api,
) -> None:
    api.clock.set(ROUND_START + timedelta(hours=2))  # synced from the basement two hours later
    finding = {"description": "Fire pump room door does not latch", "priority": "immediate"}
    batch = _batch(**{"fire-pump-room": finding})
    first = api.post("/patrol/scans", batch, user="gary")
    assert first.status_code == 200, first.json()
    assert [r["status"] for r in first.json()] == ["accepted"] * 7
    again = api.post("/patrol/scans", batch, user="gary")
    assert [r["status"] for r in again.json()] == ["duplicate"] * 7

    order_id = first.json()[1]["work_order_id"]
    order = api.get(f"/workorders/{order_id}", user="dina").json()
    scanned_at = ROUND_START + timedelta(minutes=3)
    assert (order["source"], order["trade"], order["urgency"], order["created_by"]) == (
        "finding",
        "fire",
        "urgent",
        "guard-zhang",  # the guard's roster id, as the gateway reports it too
    )
    assert order["deadlines"]["fix"] == (scanned_at + timedelta(hours=1)).isoformat().replace(
        "+00:00", "Z"
    )
    assert len(api.get("/workorders", user="dina").json()) == 1

    completion = api.get(
        "/patrol/completion",
        params={"site": SITE, "shift": "day", "date": iso(0)},
        user="dina",
    )
    assert completion.status_code == 200
    equipment = [r for r in completion.json()["rounds"] if r["route"] == "equipment-round"]
    assert [(r["start"][11:16], r["percent"], r["out_of_order"]) for r in equipment] == [
        ("08:30", 0.0, False),
        ("16:30", 100.0, False),
    ]
    scans = api.get("/patrol/scans", params={"site": SITE}, user="dina").json()
    assert len(scans) == 7
    assert all(s["synced_late"] and s["guard"] == "guard-zhang" for s in scans)


def test_the_current_shift_is_the_default(api: Api) -> None:
    body = api.get("/patrol/completion", params={"site": SITE}, user="dina").json()
    assert (body["shift"], body["date"]) == ("day", iso(0))  # T0 is 16:00 in Shanghai


def test_unknown_tags_are_exceptions_for_the_duty_room(api: Api) -> None:
    batch = {
        "site": SITE,
        "scans": [{"handheld": "hh-01", "tag_uid": "DEADBEEF00", "scanned_at": T0.isoformat()}],
    }
    result = api.post("/patrol/scans", batch, user="gary").json()
    assert [(r["status"], r["reason"]) for r in result] == [("exception", "unknown tag")]
    found = api.get(
        "/patrol/exceptions",
        params={"site": SITE, "since": (T0 - timedelta(hours=1)).isoformat()},
        user="dina",
    ).json()
    assert [(e["kind"], e["tag_uid"], e["guard"]) for e in found] == [
        ("unknown_tag", "DEADBEEF00", "guard-zhang")
    ]


def test_a_finding_must_be_well_formed(api: Api) -> None:
    batch = _batch(**{"pump-room": {"description": "crack in tank", "priority": "by_deadline"}})
    response = api.post("/patrol/scans", batch, user="gary")
    assert response.status_code == 422
    assert response.json()["field"].startswith("scans.0.finding")


def test_only_guards_with_a_roster_entry_submit(api: Api) -> None:
    assert api.post("/patrol/scans", _batch(), user="ada").status_code == 403  # no guard_id
    assert api.patch("/users/gary", {"guard_id": "guard-nobody"}).status_code == 200
    refused = api.post("/patrol/scans", _batch(), user="gary")
    assert refused.status_code == 422
    assert refused.json()["field"] == "site"


def test_gateway_scans_and_exceptions_over_mqtt_are_kept_once(api: Api) -> None:
    scan = PatrolScan(
        site=SITE,
        gateway="gw-harbour-1",
        seq=7,
        scan_id=stable_id("hh-02", "04A1B20018", to_epoch_ms(T0)),
        handheld="hh-02",
        guard="guard-li",
        tag_uid="04A1B20018",
        checkpoint="main-gate",
        building="podium",
        scanned_at=to_epoch_ms(T0),
        received_at=to_epoch_ms(T0),
        source="mqtt",
        verified="hmac",
        finding={
            "description": "Gate barrier arm bent",
            "priority": "by_deadline",
            "due_at": to_epoch_ms(T0 + timedelta(days=3)),
        },
    )
    refused = PatrolException(
        site=SITE,
        gateway="gw-harbour-1",
        seq=3,
        kind="bad_signature",
        reason="HMAC mismatch",
        received_at=to_epoch_ms(T0),
        source="mqtt",
        handheld="hh-03",
    )
    with api.runtime.db.write() as session:
        outcomes = [
            inbound.apply(session, m, now=T0, sites=api.runtime.sites)
            for m in (scan, scan, refused, refused)
        ]
    assert outcomes == ["applied", "duplicate", "applied", "duplicate"]
    order = api.get(f"/workorders/{order_id_for_scan(scan.scan_id)}").json()
    assert (order["trade"], order["department"], order["urgency"]) == (
        "security",
        "security",
        "general",
    )
    assert order["deadlines"]["fix"] == (T0 + timedelta(days=3)).isoformat().replace("+00:00", "Z")
    found = api.get("/patrol/exceptions", params={"site": SITE}).json()
    assert [e["kind"] for e in found] == ["bad_signature"]


def _outbox(api: Api) -> list[tuple[str, dict[str, object]]]:
    with api.runtime.db.read() as session:
        found = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(m.topic, json.loads(m.payload)) for m in found if "/patrol/" in m.topic]


def test_phone_scans_are_published_once_for_the_rules_engine(api: Api) -> None:
    """What the API keeps it publishes on the gateway's topics, in the same transaction; a
    batch synced again (or an MQTT redelivery of its own message) publishes nothing more."""
    api.clock.set(ROUND_START + timedelta(hours=2))
    batch = _batch()
    api.post("/patrol/scans", batch, user="gary")
    api.post("/patrol/scans", batch, user="gary")
    published = _outbox(api)
    assert [t for t, _ in published] == [f"ew/v1/{SITE}/patrol/scan/http"] * 7
    first = PatrolScan.model_validate(published[0][1])
    assert (first.checkpoint, first.guard, first.synced_late) == ("pump-room", "guard-zhang", True)
    with api.runtime.db.write() as session:  # its own message, consumed back from the broker
        assert inbound.apply(session, first, now=T0, sites=api.runtime.sites) == "duplicate"


def test_a_phone_unknown_tag_is_published_as_a_patrol_exception(api: Api) -> None:
    batch = {
        "site": SITE,
        "scans": [{"handheld": "hh-01", "tag_uid": "DEADBEEF00", "scanned_at": T0.isoformat()}],
    }
    api.post("/patrol/scans", batch, user="gary")
    api.post("/patrol/scans", batch, user="gary")
    [(topic, body)] = _outbox(api)
    assert topic == f"ew/v1/{SITE}/patrol/exception/http"
    exc = PatrolException.model_validate(body)
    assert (exc.kind, exc.tag_uid, exc.guard) == ("unknown_tag", "DEADBEEF00", "guard-zhang")
    with api.runtime.db.write() as session:
        assert inbound.apply(session, exc, now=T0, sites=api.runtime.sites) == "duplicate"
    assert len(api.get("/patrol/exceptions", params={"site": SITE}, user="dina").json()) == 1


def test_an_early_scan_is_refused_saying_when_the_round_opens(api: Api) -> None:
    early = ROUND_START - timedelta(minutes=10)  # the equipment round opens at 16:30
    api.clock.set(early)
    tag = EQUIPMENT_ROUND[0][1]
    batch = {
        "site": SITE,
        "scans": [{"handheld": "hh-01", "tag_uid": tag, "scanned_at": early.isoformat()}],
    }
    [result] = api.post("/patrol/scans", batch, user="gary").json()
    assert result["status"] == "early"
    assert result["opens_at"] == ROUND_START.isoformat().replace("+00:00", "Z")
    assert "16:30" in result["reason"]
    assert _outbox(api) == []
    assert api.get("/patrol/scans", params={"site": SITE}, user="dina").json() == []
