"""Working days and the service standards: the site's calendar and its SLA policy."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, Self

from pydantic import Field, model_validator

from estatewatch.config.base import StrictModel
from estatewatch.durations import Duration


class CalendarYear(StrictModel):
    """One year's public holidays as the State Council publishes them (国务院办公厅关于部分
    节假日安排的通知, usually in November for the next year)."""

    holidays: list[date] = Field(
        default_factory=list, description="days off: the holidays and the days bridged to them"
    )
    workdays: list[date] = Field(
        default_factory=list, description="make-up working days (调休上班), usually a weekend"
    )


class CalendarOverride(StrictModel):
    """A site's own calendar: years the holiday library does not know yet (or corrects),
    and the site's local days off. This is also the model of the per-site calendar file."""

    years: dict[int, CalendarYear] = Field(default_factory=dict)
    days_off: list[date] = Field(
        default_factory=list, description="the site's own days off (a local holiday)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for year, schedule in self.years.items():
            for day in [*schedule.holidays, *schedule.workdays]:
                if day.year != year:
                    raise ValueError(f"years.{year}: {day.isoformat()} is not in {year}")
            both = set(schedule.holidays) & set(schedule.workdays)
            if both:
                raise ValueError(
                    f"years.{year}: {min(both).isoformat()} is both a holiday and a workday"
                )
        return self


class WorkCalendarConfig(CalendarOverride):
    """Which days are working days (docs/configuration.md#working-days)."""

    public_holidays: Literal["cn", "none"] = Field(
        default="cn",
        description="cn: mainland China's public holidays and make-up working days from the "
        "chinese-calendar library; none: the weekly working_days only",
    )
    file: str | None = Field(
        default=None,
        description="a YAML calendar file (years, days_off), relative to the site file; "
        "merged with the years and days_off given here",
    )

    def merged(self, other: CalendarOverride) -> WorkCalendarConfig:
        """This config with `other`'s years and days off added (this config's own years
        win over the file's for the same year)."""
        return self.model_copy(
            update={
                "years": {**other.years, **self.years},
                "days_off": sorted({*other.days_off, *self.days_off}),
            }
        )


class SlaPolicy(StrictModel):
    """The service standards of domain.md; every figure is the industry default and may be
    set per site."""

    urgent_response: Duration = timedelta(minutes=15)
    dispatch: Duration = timedelta(minutes=30)
    entrapment_on_site: Duration = timedelta(minutes=30)
    general_progress: Duration = timedelta(hours=24)
    callback: Duration = timedelta(hours=24)
    urgent_completion: Duration = Field(
        default=timedelta(hours=4),
        description="an urgent order's expected completion when accepted without a done_by",
    )
    general_completion: Duration = Field(
        default=timedelta(hours=72),
        description="a general order's expected completion when accepted without a done_by",
    )
    requester_answer_working_days: int = Field(
        default=2, ge=1, description="whatever happens, the requester hears back (every kind)"
    )
    complaint_feedback_working_days: int | None = Field(
        default=None, ge=1, description="None: requester_answer_working_days"
    )
    immediate_finding_fix: Duration = timedelta(hours=1)
    guard_report_interval: Duration = timedelta(hours=1)
    coordination_department: str = Field(
        default="management",
        min_length=1,
        max_length=64,
        description="the department a needs-coordination finding (需协调) is routed to",
    )
    coordination_answer: Duration = Field(
        default=timedelta(hours=24),
        description="a needs-coordination finding taken on (accepted) by its department",
    )
    emergency_review: Duration = timedelta(hours=24)
    quality_sample_percent: float = Field(default=20.0, gt=0, le=100)
    working_days: list[int] = Field(
        default=[0, 1, 2, 3, 4], description="ISO weekday numbers from 0 = Monday"
    )
    calendar: WorkCalendarConfig = WorkCalendarConfig()
