"""Quality sampling: the weekly sample, callbacks, the report per technician and trade."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.deps import ClockDep, QualityStaff, ReaderDep, SessionDep, SitesDep
from api.domain import quality
from api.domain.errors import NotFound
from api.models import QualityCallback, QualitySample
from api.store import quality as samples
from api.workflows import quality as sampling

router = APIRouter(prefix="/quality", tags=["quality"])


class SampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: str
    week: date = Field(description="any day of the week; the sample covers Monday to Sunday")
    seed: int | None = Field(
        default=None, ge=0, le=2**62, description="to reproduce a recorded sample"
    )


class CallbackPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order_id: str
    result: str | None
    by: str | None
    at: datetime | None
    note: str


class SamplePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    site: str
    week_start: datetime
    seed: int
    population: list[str]
    order_ids: list[str]
    callbacks: list[CallbackPublic] = []


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Literal["satisfied", "not_fixed"]
    note: str = Field(default="", max_length=4000)


def _public(session: ReaderDep, sample: QualitySample) -> SamplePublic:
    public = SamplePublic.model_validate(sample)
    query = select(QualityCallback).where(QualityCallback.sample_id == sample.id)
    public.callbacks = [CallbackPublic.model_validate(c) for c in session.scalars(query)]
    return public


@router.post("/samples", status_code=status.HTTP_201_CREATED)
def take_sample(
    user: QualityStaff, data: SampleIn, session: SessionDep, sites: SitesDep, clock: ClockDep
) -> SamplePublic:
    """Draw the week's sample (once; asking again returns the recorded one)."""
    sample = sampling.take_sample(
        session,
        site=data.site,
        monday=quality.week_of(data.week),
        by=user.username,
        now=clock.now(),
        sites=sites,
        seed=data.seed,
    )
    return _public(session, sample)


@router.get("/samples/{sample_id}")
def get_sample(_: QualityStaff, sample_id: str, session: ReaderDep) -> SamplePublic:
    sample = session.get(QualitySample, sample_id)
    if sample is None:
        raise NotFound(f"no sample {sample_id!r}", field="sample_id")
    return _public(session, sample)


@router.post("/samples/{sample_id}/callbacks/{order_id}")
def record_callback(
    user: QualityStaff,
    sample_id: str,
    order_id: str,
    data: CallbackIn,
    session: SessionDep,
    sites: SitesDep,
    clock: ClockDep,
) -> dict[str, str | None]:
    """Satisfied, or not fixed: the order is reopened (or reworked) with escalation."""
    outcome = sampling.record_callback(
        session,
        sample_id=sample_id,
        order_id=order_id,
        result=data.result,
        by=user.username,
        note=data.note,
        now=clock.now(),
        sites=sites,
    )
    return {"result": data.result, "reopened": outcome.reopened.id if outcome.reopened else None}


@router.get("/report")
def report(
    _: QualityStaff, session: ReaderDep, site: str, since: datetime, until: datetime
) -> list[dict[str, object]]:
    return samples.report(session, site=site, since=since, until=until)
