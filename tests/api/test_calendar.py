"""Working days in China: the library's holiday tables, a site's calendar file, and the loud
warning for a year nobody knows.

The holiday-table tests name fixed dates on purpose: a public holiday is a fixed date. They
use a year the installed library knows (2026, `chinese-calendar>=1.11`); the site-file tests
derive their dates from today."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from api.domain import sla
from api.domain.calendar import CN_YEARS, WorkCalendar
from api.sites import Sites
from estatewatch.config import SlaPolicy, WorkCalendarConfig, load_site
from estatewatch.errors import ConfigError
from tests.api.helpers import Api, make_api
from tests.dates import day, local

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXAMPLE = Path(__file__).parents[2] / "examples" / "estate.yaml"
CN = WorkCalendar.of(SlaPolicy())


@pytest.fixture(autouse=True)
def _library_knows_2026() -> None:
    assert 2026 in CN_YEARS, "chinese-calendar>=1.11 knows 2026"


# --- the library's table (fixed dates: that is what a holiday is) ---------------------------


def test_national_day_2026_and_its_make_up_days() -> None:
    assert not CN.is_working_day(date(2026, 10, 1))
    assert not CN.is_working_day(date(2026, 10, 7))  # a Wednesday, bridged
    assert CN.is_working_day(date(2026, 10, 8))
    assert CN.is_working_day(date(2026, 9, 20))  # a Sunday worked (调休)
    assert CN.is_working_day(date(2026, 10, 10))  # a Saturday worked


def test_reported_30_september_2026_is_answered_after_the_national_day_week() -> None:
    wednesday = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
    due = CN.add_working_days(wednesday, 2, SHANGHAI)
    assert due == datetime(2026, 10, 9, 10, 0, tzinfo=SHANGHAI)
    # On weekdays alone it would have fallen due on 2 October, inside the holiday.
    weekdays = WorkCalendar.of(SlaPolicy(calendar=WorkCalendarConfig(public_holidays="none")))
    assert weekdays.add_working_days(wednesday, 2, SHANGHAI).date() == date(2026, 10, 2)


def test_a_make_up_sunday_counts() -> None:
    friday = datetime(2026, 9, 18, 9, 0, tzinfo=SHANGHAI)
    assert CN.add_working_days(friday, 1, SHANGHAI).date() == date(2026, 9, 20)


def test_the_api_order_owes_its_answer_after_the_holiday(api: Api) -> None:
    created = api.post(
        "/workorders",
        {
            "site": "harbour-view",
            "title": "No hot water, T1-0802",
            "trade": "water_electric",
            "requester_name": "Ms Liu",
            "requester_contact": "139 0000 0802",
            "reported_at": "2026-09-30T02:00:00Z",  # Wednesday 10:00 in Shanghai
        },
        user="cara",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["deadlines"]["requester_answer"] == "2026-10-09T02:00:00Z"


def test_a_complaint_is_answered_in_two_working_days_too() -> None:
    assert SlaPolicy().complaint_feedback_working_days is None
    order = _Order(source="complaint", reported_at=datetime(2026, 9, 30, 2, 0, tzinfo=UTC))
    due = sla.deadlines(order, SlaPolicy(), tz=SHANGHAI)["requester_answer"]
    assert due == datetime(2026, 10, 9, 2, 0, tzinfo=UTC)
    three = SlaPolicy(complaint_feedback_working_days=3)
    assert sla.deadlines(order, three, tz=SHANGHAI)["requester_answer"].date() == date(2026, 10, 10)


# --- the site's calendar file (dates derived from today) ------------------------------------


def _site_with_calendar(tmp_path: Path, calendar_file: dict[str, object]) -> Path:
    site = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    site["sla"]["calendar"] = {"file": "holidays.yaml"}
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site, allow_unicode=True), "utf-8")
    (tmp_path / "holidays.yaml").write_text(yaml.safe_dump(calendar_file), "utf-8")
    return tmp_path / "site.yaml"


def _unknown_year_date() -> date:
    """This test week's month and day in the first year the library does not know."""
    return date(max(CN_YEARS) + 1, day(0).month, min(day(0).day, 28))


def test_the_file_adds_a_year_the_library_does_not_know(tmp_path: Path) -> None:
    holiday = _unknown_year_date()
    workday = holiday + timedelta(days=(5 - holiday.weekday()) % 7)  # a Saturday worked
    path = _site_with_calendar(
        tmp_path,
        {"years": {holiday.year: {"holidays": [holiday], "workdays": [workday]}}},
    )
    calendar = WorkCalendar.of(load_site(path).sla)
    assert calendar.knows(holiday.year)
    assert not calendar.is_working_day(holiday)
    assert calendar.is_working_day(workday)
    assert not CN.knows(holiday.year)


def test_a_local_day_off_is_skipped(tmp_path: Path) -> None:
    thursday = day(3)
    sites = Sites([load_site(_site_with_calendar(tmp_path, {"days_off": [thursday]}))])
    calendar = sites.calendar("harbour-view")
    assert not calendar.is_working_day(thursday)
    due = calendar.add_working_days(local(2, 10), 1, SHANGHAI)
    assert due.astimezone(SHANGHAI).date() > thursday


def test_a_file_date_outside_its_year_is_refused(tmp_path: Path) -> None:
    holiday = _unknown_year_date()
    path = _site_with_calendar(tmp_path, {"years": {holiday.year + 1: {"holidays": [holiday]}}})
    with pytest.raises(ConfigError, match="is not in"):
        load_site(path)


def test_a_missing_calendar_file_is_a_config_error(tmp_path: Path) -> None:
    path = _site_with_calendar(tmp_path, {})
    (tmp_path / "holidays.yaml").unlink()
    with pytest.raises(ConfigError):
        load_site(path)


# --- an unknown year is loud -----------------------------------------------------------------


def test_an_unknown_year_is_logged_once_and_guessed_from_weekdays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sites = Sites([load_site(EXAMPLE)])
    december = datetime(max(CN_YEARS), 12, 1, tzinfo=UTC)
    with caplog.at_level(logging.WARNING, logger="api.sites"):
        assert sites.calendar_gaps(december) == {"harbour-view": [max(CN_YEARS) + 1]}
        sites.calendar_gaps(december)
    assert len([r for r in caplog.records if "unknown" in r.getMessage()]) == 1
    # Mid-year, next year is not needed yet.
    assert sites.calendar_gaps(datetime(max(CN_YEARS), 6, 1, tzinfo=UTC)) == {}
    guessed = _unknown_year_date()
    assert sites.calendar("harbour-view").is_working_day(guessed) == (guessed.weekday() < 5)


def test_health_shows_the_unknown_year(tmp_path: Path) -> None:
    with make_api(tmp_path / "api.db", Sites([load_site(EXAMPLE)])) as api:
        api.clock.set(datetime(max(CN_YEARS), 12, 1, tzinfo=UTC))
        health = api.get("/health", user=None).json()
        assert health["calendar_unknown_years"] == {"harbour-view": [max(CN_YEARS) + 1]}
        api.clock.set(datetime(max(CN_YEARS), 6, 1, tzinfo=UTC))
        assert api.get("/health", user=None).json()["calendar_unknown_years"] == {}


def test_a_site_without_holidays_knows_every_year() -> None:
    plain = WorkCalendar.of(SlaPolicy(calendar=WorkCalendarConfig(public_holidays="none")))
    assert plain.unknown_years([max(CN_YEARS) + 1]) == []


# A minimal SlaSubject for the pure clock tests above.
class _Order:
    def __init__(self, *, source: str, reported_at: datetime) -> None:
        self.source = source
        self.urgency = "general"
        self.category = ""
        self.finding_priority: str | None = None
        self.reported_at = reported_at
        self.fix_due_at: datetime | None = None
        self.dispatched_at: datetime | None = None
        self.responded_at: datetime | None = None
        self.on_site_at: datetime | None = None
        self.completed_at: datetime | None = None
        self.verified_at: datetime | None = None
        self.cancelled_at: datetime | None = None
        self.requester_answered_at: datetime | None = None
        self.expected_done_at: datetime | None = None
        self.progress_at: datetime | None = None
        self.due_by: datetime | None = None
