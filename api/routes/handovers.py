"""The signed shift handover (交接班): file, sign, read, print; the shifts that ended
unsigned."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from api.deps import (
    ClockDep,
    HandoverSigner,
    LangQuery,
    ReaderDep,
    ReportReader,
    RuntimeDep,
    SitesDep,
    SlaRunner,
)
from api.notify.handovers import notify_unsigned
from api.schemas.records import HandoverFile, HandoverPublic, HandoverSign, ShiftHandoverStatus
from api.store import handovers as store
from api.web.printable import handover_html
from api.workflows import handovers
from api.workflows.unusual import unusual_readings
from estatewatch.config.names import Lang

router = APIRouter(prefix="/handovers", tags=["handovers"])


@router.post("", response_model=HandoverPublic, status_code=201)
async def file_handover(
    user: HandoverSigner, runtime: RuntimeDep, data: HandoverFile, response: Response
) -> HandoverPublic:
    """The outgoing duty engineer files the shift's report as of its end (201); filing
    again replaces it (200) until the incoming engineer has signed (then 409)."""
    now = runtime.clock.now()
    sites = runtime.sites
    shift, day, start, end = handovers.shift_at(
        sites, site=data.site, shift=data.shift, day=data.date, now=now
    )
    config = sites.config(data.site)
    assert config is not None  # shift_at found it
    unusual = await unusual_readings(runtime.readings, config, start=start, end=min(end, now))

    def write() -> tuple[HandoverPublic, bool]:
        with runtime.db.write() as session:
            report = handovers.build_report(
                session, site=data.site, shift=shift, day=day, now=now, sites=sites,
                unusual=unusual,
            )  # fmt: skip
            return handovers.file(session, report=report, by=user.username, note=data.note,
                                  now=now)  # fmt: skip

    public, created = await asyncio.to_thread(write)
    response.status_code = 201 if created else 200
    return public


@router.get("", response_model=list[ShiftHandoverStatus])
def shift_states(
    _: ReportReader,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    site: str,
    state: Annotated[
        Literal["unsigned", "all"], Query(description="unsigned: ended without both signatures")
    ] = "all",
) -> list[ShiftHandoverStatus]:
    """Every shift that ended in the last two days (30 minutes' grace to sign), with its
    handover's state; `state=unsigned` only those without both signatures (the board)."""
    found = handovers.shift_states(session, site=site, now=clock.now(), sites=sites)
    return [s for s in found if state == "all" or s.state != "signed"]


@router.post("/check")
def check_unsigned(user: SlaRunner, runtime: RuntimeDep) -> dict[str, int]:
    """Tell the supervisors on call of each shift that ended unsigned (once per shift);
    the SLA checker runs it on every pass too."""
    user.scope.require_group("the unsigned-handover check")
    with runtime.db.write() as session:
        noticed = notify_unsigned(session, now=runtime.clock.now(), sites=runtime.sites)
    return {"noticed": noticed}


def _html(public: HandoverPublic, sites: SitesDep, lang: Lang) -> HTMLResponse:
    config = sites.config(public.site)
    name = config.site.name.pick(lang) if config else public.site
    return HTMLResponse(
        handover_html(public, lang=lang, tz=sites.tz(public.site), site_name=name),
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


@router.get("/{handover_id}.html", response_class=HTMLResponse)
def handover_page(
    _: ReportReader,
    session: ReaderDep,
    sites: SitesDep,
    handover_id: str,
    lang: LangQuery = "zh-CN",
) -> HTMLResponse:
    """The handover to print, with both signatures."""
    return _html(_get(session, handover_id), sites, lang)


def _get(session: ReaderDep, handover_id: str) -> HandoverPublic:
    return handovers.to_public(session, store.get(session, handover_id=handover_id))


@router.get("/{handover_id}", response_model=HandoverPublic)
def handover(
    _: ReportReader,
    session: ReaderDep,
    sites: SitesDep,
    handover_id: str,
    format: Annotated[Literal["json", "html"], Query()] = "json",
    lang: LangQuery = "zh-CN",
) -> HandoverPublic | HTMLResponse:
    """The handover, its report and its signatures (outgoing, and incoming once signed)."""
    public = _get(session, handover_id)
    return _html(public, sites, lang) if format == "html" else public


@router.post("/{handover_id}/sign", response_model=HandoverPublic)
def sign(
    user: HandoverSigner, runtime: RuntimeDep, handover_id: str, data: HandoverSign
) -> HandoverPublic:
    """The incoming duty engineer (not the one who filed) signs; the handover is then
    frozen: a further signature or refiling answers 409."""
    with runtime.db.write() as session:
        return handovers.sign(
            session, handover_id=handover_id, by=user.username, note=data.note,
            digest=data.digest, now=runtime.clock.now(),
        )  # fmt: skip
