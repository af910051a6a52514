"""Message text per language (zh-CN, en): what, where, since when, severity, and a link.

A message holds one or more lines (grouping: an outage's forty alarms are one message with
forty lines). Markdown goes to the robots and e-mail; plain text to SMS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

SEVERITY = {
    "zh-CN": {"critical": "紧急", "major": "重要", "minor": "次要", "warning": "提示"},
    "en": {"critical": "CRITICAL", "major": "major", "minor": "minor", "warning": "warning"},
}
WORDS = {
    "zh-CN": {
        "title": "EstateWatch 通知",
        "many": "{n} 条通知",
        "since": "自",
        "at": "位置",
        "open": "查看",
        "escalated": "升级第 {level} 级：未在规定时间内确认",
        "more": "另有 {n} 条未列出",
    },
    "en": {
        "title": "EstateWatch notice",
        "many": "{n} notices",
        "since": "since",
        "at": "at",
        "open": "open",
        "escalated": "escalation level {level}: not acknowledged in time",
        "more": "{n} more not listed",
    },
}


@dataclass(frozen=True, slots=True)
class Line:
    """One event to tell someone about."""

    severity: str
    what: str
    where: str
    since: datetime
    link: str
    escalation: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    what_zh: str | None = None
    """`what` in Chinese, for a zh-CN recipient; None: `what` for everyone."""


@dataclass(frozen=True, slots=True)
class Rendered:
    title: str
    markdown: str
    plain: str


def _lang(language: str) -> str:
    return language if language in WORDS else "en"


def _line(line: Line, lang: str, tz: tzinfo, *, markdown: bool) -> str:
    words = WORDS[lang]
    severity = SEVERITY[lang].get(line.severity, line.severity)
    since = line.since.astimezone(tz).strftime("%m-%d %H:%M")
    head = f"【{severity}】" if lang == "zh-CN" else f"[{severity}] "
    what = line.what_zh if lang == "zh-CN" and line.what_zh else line.what
    text = f"{head}{what} · {words['at']} {line.where} · {words['since']} {since}"
    if line.escalation:
        text += " · " + words["escalated"].format(level=line.escalation)
    if markdown:
        return f"- {text} [{words['open']}]({line.link})"
    return text


def render(lines: list[Line], *, language: str, tz: tzinfo, max_lines: int = 50) -> Rendered:
    """The message for `lines`, most severe first (at most `max_lines` listed)."""
    if not lines:
        raise ValueError("a message needs at least one line")
    lang = _lang(language)
    words = WORDS[lang]
    order = ["critical", "major", "minor", "warning"]
    ranked = sorted(
        lines, key=lambda x: (order.index(x.severity) if x.severity in order else 9, x.since)
    )
    shown, hidden = ranked[:max_lines], len(ranked) - max_lines
    if len(lines) == 1:
        title = f"{words['title']}: {lines[0].what}"
    else:
        title = f"{words['title']}: " + words["many"].format(n=len(lines))
    md = [f"### {title}", ""] + [_line(x, lang, tz, markdown=True) for x in shown]
    plain = [_line(x, lang, tz, markdown=False) for x in shown]
    if hidden > 0:
        md.append(words["more"].format(n=hidden))
        plain.append(words["more"].format(n=hidden))
    return Rendered(title=title, markdown="\n".join(md), plain="\n".join(plain))
