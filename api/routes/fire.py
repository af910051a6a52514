"""The fire alarm record a fire control room keeps (GB 25506: records kept and printable):
`GET /fire/records` as JSON, CSV or a printable page, in zh-CN or en."""

from __future__ import annotations

import csv
import html
import io
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from api.deps import ClockDep, LangQuery, ReaderDep, ReportReader, SitesDep
from api.domain.errors import InvalidInput
from api.routes.downloads import csv_download
from api.schemas.common import Moment
from api.store import fire
from estatewatch.config.names import Lang, in_language

router = APIRouter(prefix="/fire", tags=["fire"])

MAX_RECORDS = 50_000
"""One answer at most; a record of a year of a large estate stays well below it."""


class FireRecord(BaseModel):
    raised_at: datetime
    alarm_id: str
    device: str
    rule: str
    severity: str
    what: str
    what_zh: str | None = None
    where: str | None
    state: str
    acknowledged_by: str | None
    cleared_at: datetime | None
    occurrences: int
    order_id: str | None
    order_state: str | None
    order_result: str | None


_COLUMNS = {
    "en": ["Raised", "Device", "What", "Zone / location", "State", "Acknowledged by",
           "Cleared", "Times", "Work order", "Order state", "Result"],
    "zh-CN": ["报警时间", "设备", "事件", "回路/位置", "状态", "确认人", "恢复时间", "次数",
              "工单", "工单状态", "处理结果"],
}  # fmt: skip
_TITLE = {"en": "Fire alarm record", "zh-CN": "消防报警记录"}


def _rows(records: list[FireRecord], tz: object, lang: Lang) -> list[list[str]]:
    def local(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else ""  # type: ignore[arg-type]

    return [
        [
            local(r.raised_at),
            r.device,
            in_language(r.what, r.what_zh, lang),
            r.where or "",
            r.state,
            r.acknowledged_by or "",
            local(r.cleared_at),
            str(r.occurrences),
            r.order_id or "",
            r.order_state or "",
            r.order_result or "",
        ]
        for r in records
    ]


@router.get(
    "/records",
    response_model=list[FireRecord],
    responses={200: {"content": {"text/csv": {}, "text/html": {}}}},
)
def records(
    _: ReportReader,
    session: ReaderDep,
    sites: SitesDep,
    clock: ClockDep,
    site: str,
    since: Annotated[Moment | None, Query(description="default: 30 days ago")] = None,
    until: Annotated[Moment | None, Query(description="default: now")] = None,
    format: Annotated[Literal["json", "csv", "html"], Query()] = "json",
    lang: LangQuery = "zh-CN",
) -> list[FireRecord] | Response:
    """Every fire alarm of the site's panels and fire sensors, oldest first, with the work
    order each opened: what the fire control room must keep and print."""
    end = until or clock.now()
    start = since or end - timedelta(days=30)
    if start >= end:
        raise InvalidInput("since must be before until", field="since")
    rows = fire.records(session, site=site, since=start, until=end, limit=MAX_RECORDS + 1)
    if len(rows) > MAX_RECORDS:
        raise InvalidInput(
            f"more than {MAX_RECORDS} records: ask for a shorter range", field="since"
        )
    found = [
        FireRecord(
            raised_at=a.raised_at,
            alarm_id=a.alarm_id,
            device=a.target,
            rule=a.rule,
            severity=a.severity,
            what=a.title,
            what_zh=a.title_zh,
            where=str(a.value) if a.value is not None else None,
            state=a.state,
            acknowledged_by=a.acknowledged_by,
            cleared_at=a.cleared_at,
            occurrences=a.occurrences,
            order_id=order_id,
            order_state=order_state,
            order_result=result,
        )
        for a, order_id, order_state, result in rows
    ]
    if format == "json":
        return found
    table = _rows(found, sites.tz(site), lang)
    name = f"fire-records-{site}-{start:%Y%m%d}-{end:%Y%m%d}"
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(_COLUMNS[lang])
        writer.writerows(table)
        return csv_download(out.getvalue(), name)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS[lang])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in table
    )
    title = f"{_TITLE[lang]} · {html.escape(site)} · {start:%Y-%m-%d} – {end:%Y-%m-%d}"
    page = (
        f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{title}</title>'
        "<style>body{font:12px sans-serif}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #888;padding:2px 4px}thead{display:table-header-group}"
        "@media print{tr{page-break-inside:avoid}}</style>"
        f"<h1>{title}</h1><p>{len(table)}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></html>"
    )
    return HTMLResponse(page)
