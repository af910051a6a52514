"""Pure logic, table-tested: on-call rota, rule matching, maintenance windows, escalation
levels, backoff, message text."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from api.notify import escalation, outbox, routing
from api.notify.routing import Subject
from api.notify.templates import Line, render
from estatewatch.config import SiteConfig
from estatewatch.config.notify import EscalationChain, EventKind, OnCallRole
from tests.dates import day, iso, local, utc
from tests.notify.helpers import notify_config

SHANGHAI = ZoneInfo("Asia/Shanghai")


def subject(**changes: object) -> Subject:
    base: dict[str, object] = dict(
        kind="alarm",
        event=EventKind.ALARM,
        id="a1",
        site="harbour-view",
        severity="critical",
        category="outage",
        device_kind="power_room",
        device="power-room-1",
        building="podium",
        where="podium",
        what="停电",
        since=utc(0, 8),
        link="https://ew.test/alarms/a1",
    )
    base.update(changes)
    return Subject(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (local(0, 9, tz=None), ["wang-duty"]),  # Monday day shift
        (local(0, 20, tz=None), ["sun-duty"]),  # night shift starts at 20:00
        (local(1, 2, 30, tz=None), ["sun-duty"]),  # after midnight: still Monday's night
        (local(1, 7, 59, tz=None), ["sun-duty"]),
        (local(1, 8, tz=None), ["wang-duty"]),
    ],
)
def test_who_is_on_call(example_site: SiteConfig, local: datetime, expected: list[str]) -> None:
    config = notify_config("http://x")
    now = local.replace(tzinfo=SHANGHAI)
    got = routing.on_call(config, example_site.shifts, OnCallRole.DUTY_ENGINEER, now, SHANGHAI)
    assert got == expected


def test_weekday_limits_the_rota(example_site: SiteConfig) -> None:
    config = notify_config(
        "http://x",
        oncall=[
            {"role": "supervisor", "person": "liu-supervisor", "shift": "night", "weekdays": [4]},
        ],
    )
    friday_night = local(5, 1)  # Saturday 01:00: Friday's night
    saturday_night = local(6, 1)
    role = OnCallRole.SUPERVISOR
    assert routing.on_call(config, example_site.shifts, role, friday_night, SHANGHAI) == [
        "liu-supervisor"
    ]
    assert routing.on_call(config, example_site.shifts, role, saturday_night, SHANGHAI) == []


@pytest.mark.parametrize(
    ("changes", "rules"),
    [
        ({}, ["critical"]),
        ({"severity": "minor"}, []),
        ({"event": EventKind.WORKORDER_SLA_BREACHED, "severity": "major"}, ["breaches"]),
    ],
)
def test_rules_match(changes: dict[str, object], rules: list[str]) -> None:
    config = notify_config("http://x")
    assert [r.id for r in routing.rules_for(config, subject(**changes))] == rules


def test_a_maintenance_window_silences_its_device_only() -> None:
    window = {
        "device": "power-room-1",
        "start": f"{iso(0)}T07:00:00Z",
        "end": f"{iso(0)}T09:00:00Z",
    }
    config = notify_config("http://x", maintenance=[window])
    inside = utc(0, 8)
    assert routing.silenced(config, subject(), inside)
    assert not routing.silenced(config, subject(device="power-room-2"), inside)
    assert not routing.silenced(config, subject(), inside + timedelta(hours=1))


def test_escalation_levels_default_to_the_sla() -> None:
    chain = EscalationChain.model_validate(
        {
            "id": "c",
            "repeat": "10m",
            "max_repeats": 2,
            "steps": [{"after": "0s"}, {}, {"after": "40m"}],
        }
    )
    urgent = timedelta(minutes=15)
    dues = [lv.due for lv in escalation.levels(chain, urgent)]
    assert dues == [timedelta(minutes=m) for m in (0, 15, 40, 50, 60)]
    assert [lv.number for lv in escalation.due_levels(chain, urgent, timedelta(minutes=45))] == [
        0,
        1,
        2,
    ]
    assert escalation.next_due(chain, urgent, timedelta(minutes=60)) is None


def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    base = timedelta(seconds=5)
    waits = [outbox.backoff(n, base, rng) for n in range(1, 15)]
    assert timedelta(seconds=2.5) <= waits[0] <= timedelta(seconds=5)
    assert waits[3] > waits[0]
    assert max(waits) <= outbox.MAX_BACKOFF
    assert len({w for w in waits[-4:]}) == 4  # capped retries still spread out


def test_message_text_in_both_languages() -> None:
    line = Line(
        "critical",
        "1号配电房停电",
        "裙楼",
        utc(0, 8),
        "https://ew.test/alarms/a1",
        escalation=1,
    )
    zh = render([line], language="zh-CN", tz=SHANGHAI)
    en = render([line, line], language="en", tz=SHANGHAI, max_lines=1)
    assert f"【紧急】1号配电房停电 · 位置 裙楼 · 自 {day(0):%m-%d} 16:00 · 升级第 1 级" in zh.plain
    assert "(https://ew.test/alarms/a1)" in zh.markdown
    assert en.title == "EstateWatch notice: 2 notices"
    assert en.plain.endswith("1 more not listed")


def test_each_recipient_reads_the_alarm_title_in_their_language() -> None:
    line = Line(
        "critical",
        "Power outage at LV power room 1",
        "podium",
        utc(0, 8),
        "https://ew.test/alarms/a1",
        what_zh="1号配电房停电",
    )
    assert "1号配电房停电 · 位置" in render([line], language="zh-CN", tz=SHANGHAI).plain
    english = render([line], language="en", tz=SHANGHAI).plain
    assert "Power outage at LV power room 1 · " in english
    assert "停电" not in english
    kept = outbox.line_of(outbox.line_data(line))  # through the outbox row and back
    assert kept.what_zh == "1号配电房停电"


def test_the_duty_roster_is_on_call(example_site: SiteConfig, tmp_path: Path) -> None:
    """With no on-call entries at all, the roster in force says who is on call: the duty
    engineer on shift, and a technician as the maintainer of their trade (issue #16); an
    edited roster replaces the site file's."""
    from api.db import Database
    from api.notify.queue import people_for
    from api.schemas.user import UserCreate
    from api.store import roster as roster_store
    from api.workflows import users
    from estatewatch.config.site import RosterEntry

    site = example_site.model_copy(
        update={"notifications": notify_config("http://x").model_copy(update={"oncall": []})}
    )
    db = Database(str(tmp_path / "store.db"))
    db.migrate()
    monday_9 = local(0, 9, tz=None).replace(tzinfo=SHANGHAI)
    with db.write() as session:
        for name, role, trade in [
            ("wang-duty", "duty_engineer", None),
            ("li-elevator", "technician", "elevator"),
            ("zhang-electric", "technician", "water_electric"),
        ]:
            data = UserCreate(username=name, password="a long passphrase", role=role, trade=trade)
            users.create(session, data=data, cost=4, now=monday_9)

        def who(role: OnCallRole) -> list[str]:
            return people_for(site, roles=[role], people=[], now=monday_9, tz=SHANGHAI,
                              session=session)  # fmt: skip

        assert who(OnCallRole.DUTY_ENGINEER) == ["wang-duty"]
        assert who(OnCallRole.ELEVATOR_MAINTAINER) == ["li-elevator"]
        assert who(OnCallRole.ELECTRICIAN) == ["zhang-electric"]
        # Without a session (no roster at hand) only the on-call entries count: none here.
        assert people_for(site, roles=[OnCallRole.DUTY_ENGINEER], people=[], now=monday_9,
                          tz=SHANGHAI) == []  # fmt: skip
        edited = [RosterEntry(role="duty_engineer", person="sun-duty", shift="day")]
        roster_store.replace(session, site=site.site.id, entries=edited, by="ada", at=monday_9)
        session.info.pop("ew_rostered", None)  # a new unit of work reads it afresh
        assert who(OnCallRole.DUTY_ENGINEER) == ["sun-duty"]
        assert who(OnCallRole.ELEVATOR_MAINTAINER) == []
