"""An incident's timeline and review as JSON and as a printable HTML page (both languages)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape
from typing import Any

from api.models import Incident, IncidentEntry
from estatewatch.config.emergency import EmergencyPlan
from estatewatch.config.names import split_legacy

LABELS = {
    "zh-CN": {
        "timeline": "时间线",
        "checklist": "处置步骤",
        "notice": "业主通知",
        "review": "事后复盘",
        "due": "复盘截止",
        "when": "时间",
        "who": "人员",
        "what": "事项",
        "done": "已完成",
        "todo": "未完成",
        "opened": "开始",
        "closed": "结束",
    },
    "en": {
        "timeline": "Timeline",
        "checklist": "Checklist",
        "notice": "Owners' notice",
        "review": "Review",
        "due": "Review due",
        "when": "When",
        "who": "Who",
        "what": "What",
        "done": "done",
        "todo": "to do",
        "opened": "Opened",
        "closed": "Closed",
    },
}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def to_json(
    incident: Incident, entries: list[IncidentEntry], plan: EmergencyPlan | None
) -> dict[str, Any]:
    return {
        "id": incident.id,
        "site": incident.site,
        "plan": incident.plan,
        "type": incident.type,
        "title": incident.title,
        "building": incident.building,
        "state": incident.state,
        "alarm_ids": list(incident.alarm_ids),
        "opened_at": _iso(incident.opened_at),
        "opened_by": incident.opened_by,
        "closed_at": _iso(incident.closed_at),
        "closed_by": incident.closed_by,
        "review_due_at": _iso(incident.review_due_at),
        "review": incident.review,
        "reviewed_by": incident.reviewed_by,
        "reviewed_at": _iso(incident.reviewed_at),
        "owners_notice": dict(incident.owners_notice),
        "checklist": [
            {
                "step": s.id,
                "role": s.role,
                "text": s.text,
                "text_en": s.text_en,
                "done": s.id in incident.steps_done,
            }
            for s in (plan.steps if plan else [])
        ],
        "timeline": [
            {"at": e.at.isoformat(), "by": e.by, "kind": e.kind, "text": e.text, "data": e.data}
            for e in entries
        ],
    }


def to_html(
    incident: Incident,
    entries: list[IncidentEntry],
    plan: EmergencyPlan | None,
    *,
    language: str,
    tz: tzinfo,
) -> str:
    """A self-contained page that prints on A4."""
    words = LABELS.get(language, LABELS["en"])
    # A plan's name gives an incident its title, both languages joined: show the viewer's.
    en, zh = split_legacy(incident.title)
    title = zh if language == "zh-CN" else en

    def at(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"

    rows = "".join(
        f"<tr><td>{at(e.at)}</td><td>{escape(e.by)}</td><td>{escape(e.kind)}</td>"
        f"<td>{escape(e.text)}</td></tr>"
        for e in entries
    )
    steps = "".join(
        f"<li class={'done' if s.id in incident.steps_done else 'todo'}>"
        f"{escape(s.text if language == 'zh-CN' or not s.text_en else s.text_en)} "
        f"({escape(s.role)}) — {words['done'] if s.id in incident.steps_done else words['todo']}"
        "</li>"
        for s in (plan.steps if plan else [])
    )
    notice = escape(incident.owners_notice.get(language, ""))
    review = ""
    if incident.review:
        review = "".join(
            f"<dt>{escape(str(k))}</dt><dd>{escape(str(v))}</dd>"
            for k, v in incident.review.items()
        )
    return f"""<!doctype html>
<html lang="{escape(language)}"><head><meta charset="utf-8">
<title>{escape(title)} · {escape(incident.id)}</title>
<style>
body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #999;padding:4px;text-align:left;vertical-align:top}}
li.todo{{color:#a00}} @media print{{@page{{size:A4;margin:15mm}} body{{margin:0}}}}
</style></head><body>
<h1>{escape(title)}</h1>
<p>{escape(incident.id)} · {escape(incident.site)} · {escape(incident.building or "")}<br>
{words["opened"]}: {at(incident.opened_at)} · {words["closed"]}: {at(incident.closed_at)} ·
{words["due"]}: {at(incident.review_due_at)}</p>
<h2>{words["checklist"]}</h2><ul>{steps}</ul>
<h2>{words["notice"]}</h2><blockquote>{notice}</blockquote>
<h2>{words["timeline"]}</h2>
<table><tr><th>{words["when"]}</th><th>{words["who"]}</th><th></th><th>{words["what"]}</th></tr>
{rows}</table>
<h2>{words["review"]}</h2><dl>{review}</dl>
</body></html>
"""
