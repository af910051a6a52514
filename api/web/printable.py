"""Printable HTML of the records (a signed handover, the monthly report), in zh-CN or en.

Plain HTML with its own small style sheet inline in a `<style>` element (the page is a
document to print or archive, not part of the dashboard); every value is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from html import escape

from api.schemas.records import HandoverPublic, MonthlyReport
from api.schemas.workorder import WorkOrderPublic
from estatewatch.config.names import Lang, in_language, name_in

TEXT: dict[str, tuple[str, str]] = {
    # key: (zh-CN, en)
    "handover": ("交接班记录", "Shift handover"),
    "pm_sheet": ("保养记录单", "Preventive maintenance record"),
    "pm_device": ("设备", "Device"),
    "pm_due_by": ("应完成日期", "Due by"),
    "pm_completed": ("完成时间", "Completed"),
    "pm_result": ("保养结果", "Result"),
    "pm_checklist": ("检查项目", "Checklist"),
    "parts_used": ("所用配件", "Parts used"),
    "part_name": ("配件", "Part"),
    "part_quantity": ("数量", "Quantity"),
    "part_unit": ("单位", "Unit"),
    "part_by": ("登记人", "Recorded by"),
    "pm_item": ("项目", "Item"),
    "pm_ok": ("结果", "Result"),
    "pm_note": ("说明", "Note"),
    "pm_pass": ("合格", "Pass"),
    "pm_fail": ("不合格", "Fail"),
    "pm_signature": ("维修技师签名", "Technician's signature"),
    "pm_typed": ("（确认签名，无手写）", "(confirmed, not drawn)"),
    "pm_unsigned": ("尚未签名完成", "Not yet completed and signed"),
    "monthly": ("月度报告", "Monthly report"),
    "site": ("小区", "Site"),
    "shift": ("班次", "Shift"),
    "period": ("时段", "Period"),
    "as_of": ("截至", "As of"),
    "open_alarms": ("未关闭告警", "Open alarms"),
    "open_orders": ("未完成工单", "Open work orders"),
    "breaches": ("本班超时", "SLA breaches of the shift"),
    "patrol": ("巡逻完成情况", "Patrol completion"),
    "incidents": ("应急事件", "Incidents"),
    "unusual": ("异常读数", "Unusual readings"),
    "out_of_band": ("超出正常范围", "Out of band"),
    "near_threshold": ("接近限值", "Near the threshold"),
    "offline": ("离线设备", "Devices offline"),
    "no_readings": (
        "读数库未响应，仅列网关状态",
        "No readings store answered: gateway status only",
    ),
    "signatures": ("签字", "Signatures"),
    "outgoing": ("交班人", "Outgoing"),
    "incoming": ("接班人", "Incoming"),
    "unsigned": ("接班人未签字", "Not yet signed by the incoming shift"),
    "frozen": ("双方已签字，记录已锁定", "Signed by both shifts: frozen"),
    "none": ("无", "None"),
    "time": ("时间", "Time"),
    "title": ("内容", "Title"),
    "state": ("状态", "State"),
    "device": ("设备", "Device"),
    "point": ("测点", "Point"),
    "value": ("数值", "Value"),
    "limit": ("限值", "Limit"),
    "basis": ("依据", "Basis"),
    "clocks": ("时限", "Clocks"),
    "route": ("路线", "Route"),
    "percent": ("完成率", "Done"),
    "missed": ("漏检点", "Missed"),
    "from_to": ("起止", "From – to"),
    "minutes": ("分钟", "Minutes"),
    "note": ("备注", "Note"),
    "digest": ("报告摘要 SHA-256", "Report digest SHA-256"),
    "orders": ("工单数", "Work orders"),
    "sla": ("时限达标率", "SLA compliance"),
    "clock": ("时限", "Clock"),
    "met": ("达标", "Met"),
    "breached": ("超时", "Breached"),
    "compliance": ("达标率", "Compliance"),
    "faults": ("故障", "Faults"),
    "repeats": ("重复故障", "Repeats"),
    "mtbf": ("平均故障间隔（小时）", "MTBF (h)"),
    "mttr": ("平均修复时间（小时）", "MTTR (h)"),
    "guard": ("保安", "Guard"),
    "scans": ("打卡", "Scans"),
    "rounds": ("轮次", "Rounds"),
    "complete": ("完成", "Complete"),
    "maintenance": ("预防性维护", "Preventive maintenance"),
    "planned": ("计划", "Planned"),
    "done": ("完成", "Done"),
    "quality": ("品质抽检与回访", "Quality samples and callbacks"),
    "samples": ("抽检", "Samples"),
    "callbacks": ("回访", "Callbacks"),
    "satisfied": ("满意", "Satisfied"),
    "reopened": ("返修", "Reopened"),
}

STYLE = (
    "body{font:14px/1.5 system-ui,'Noto Sans CJK SC',sans-serif;margin:2em;color:#111}"
    "table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}"
    "th{background:#eee}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}"
    ".sig{display:inline-block;min-width:16em;margin-right:2em}"
    "@media print{body{margin:0}}"
)


class _Doc:
    def __init__(self, lang: Lang, tz: tzinfo) -> None:
        self.lang, self.tz = lang, tz
        self.parts: list[str] = []

    def t(self, key: str) -> str:
        zh, en = TEXT[key]
        return zh if self.lang == "zh-CN" else en

    def time(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    def h(self, level: int, key: str) -> None:
        self.parts.append(f"<h{level}>{escape(self.t(key))}</h{level}>")

    def p(self, text: str) -> None:
        self.parts.append(f"<p>{escape(text)}</p>")

    def table(self, head: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        body = [
            "<tr>" + "".join(f"<td>{escape('' if c is None else str(c))}</td>" for c in row)
            for row in rows
        ]
        if not body:
            self.p(self.t("none"))
            return
        heads = "".join(f"<th>{escape(self.t(k))}</th>" for k in head)
        self.parts.append(f"<table><tr>{heads}</tr>{''.join(body)}</table>")

    def html(self, title: str) -> str:
        return (
            f'<!doctype html><html lang="{self.lang}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            + "".join(self.parts)
            + "</body></html>"
        )


def _unusual(doc: _Doc, h: HandoverPublic) -> None:
    unusual = h.report.unusual
    doc.h(2, "unusual")
    if not unusual.available:
        doc.p(doc.t("no_readings"))
    for key, found in (
        ("out_of_band", unusual.out_of_band),
        ("near_threshold", unusual.near_threshold),
    ):
        doc.h(3, key)
        doc.table(
            ["device", "point", "value", "limit", "basis"],
            ([_name(f.device_name, doc.lang), f.point, f"{f.value:g} {f.unit}", f"{f.limit:g}",
              f.basis]
             for f in found),
        )  # fmt: skip
    doc.h(3, "offline")
    doc.table(
        ["device", "from_to", "minutes"],
        ([_name(s.device_name, doc.lang), f"{doc.time(s.start)} – {doc.time(s.end)}", s.minutes]
         for s in unusual.offline),
    )  # fmt: skip


def _name(name: str, lang: str) -> str:
    """A name of the site file (both languages joined) in `lang`."""
    return name_in(name, lang)


def handover_html(h: HandoverPublic, *, lang: Lang, tz: tzinfo, site_name: str) -> str:
    r = h.report
    doc = _Doc(lang, tz)
    doc.h(1, "handover")
    doc.p(f"{doc.t('site')}: {site_name} · {doc.t('shift')}: {r.shift} {r.date}")
    doc.p(f"{doc.t('period')}: {doc.time(r.start)} – {doc.time(r.end)} · "
          f"{doc.t('as_of')}: {doc.time(r.as_of)}")  # fmt: skip
    doc.h(2, "open_alarms")
    doc.table(
        ["time", "title", "state"],
        (
            [
                doc.time(a.raised_at),
                in_language(a.title, a.title_zh, lang),
                f"{a.severity} {a.state}",
            ]
            for a in r.open_alarms
        ),
    )
    doc.h(2, "open_orders")
    doc.table(
        ["time", "title", "state", "clocks"],
        (
            [doc.time(o.reported_at), in_language(o.title, o.title_zh, lang),
             f"{o.state} {o.assignee or ''}",
             "; ".join(f"{c.clock} {doc.time(c.due_at)} {c.status}" for c in o.clocks)]
            for o in r.open_orders
        ),
    )  # fmt: skip
    doc.h(2, "breaches")
    doc.table(
        ["time", "title", "clock"],
        ([doc.time(b.detected_at), b.order_id, b.clock] for b in r.breaches),
    )
    doc.h(2, "patrol")
    doc.table(
        ["route", "time", "percent", "missed"],
        ([_name(x.route_name, lang), doc.time(x.start), f"{x.percent:g} %",
          ", ".join(x.missed)]
         for x in r.patrol.rounds),
    )  # fmt: skip
    doc.h(2, "incidents")
    doc.table(
        ["time", "title", "state"],
        ([doc.time(i.opened_at), i.title, i.state] for i in r.incidents),
    )
    _unusual(doc, h)
    doc.h(2, "signatures")
    for s in h.signatures:
        doc.parts.append(
            f'<p class="sig">{escape(doc.t(s.role))}: <strong>{escape(s.name)}</strong> '
            f"({escape(s.by)}) {escape(doc.time(s.at))}"
            + (f"<br>{escape(doc.t('note'))}: {escape(s.note)}" if s.note else "")
            + "</p>"
        )
    doc.p(doc.t("frozen") if h.frozen else doc.t("unsigned"))
    doc.p(f"{doc.t('digest')}: {h.digest}")
    return doc.html(f"{doc.t('handover')} {r.date} {r.shift}")


def monthly_html(m: MonthlyReport, *, lang: Lang, tz: tzinfo, site_name: str) -> str:
    doc = _Doc(lang, tz)
    doc.h(1, "monthly")
    doc.p(f"{doc.t('site')}: {site_name} · {m.month} · {doc.t('orders')}: {m.orders}")
    doc.h(2, "sla")
    doc.table(
        ["clock", "met", "breached", "compliance"],
        ([c.clock, c.met, c.breached,
          "" if c.compliance_percent is None else f"{c.compliance_percent:g} %"]
         for c in m.sla),
    )  # fmt: skip
    doc.h(2, "faults")
    doc.p(f"{doc.t('faults')}: {m.faults.faults} · {doc.t('repeats')}: {m.faults.repeats}")
    doc.table(
        ["device", "faults", "repeats", "mtbf", "mttr"],
        ([g.key, g.faults, g.repeats, g.mtbf_hours, g.mttr_hours] for g in m.faults.groups),
    )
    doc.h(2, "patrol")
    doc.table(
        ["route", "rounds", "complete", "percent"],
        ([_name(r.route_name, lang), r.rounds, r.complete_rounds, f"{r.percent:g} %"]
         for r in m.patrol_by_route),
    )  # fmt: skip
    doc.table(
        ["guard", "scans", "rounds", "complete"],
        ([g.guard, g.scans, g.rounds, g.complete_rounds] for g in m.patrol_by_guard),
    )
    doc.h(2, "maintenance")
    pm = m.maintenance
    doc.table(
        ["planned", "done", "percent"],
        [[pm.planned, pm.done, "" if pm.percent is None else f"{pm.percent:g} %"]],
    )
    doc.h(2, "quality")
    q = m.quality
    doc.table(
        ["samples", "callbacks", "satisfied", "reopened"],
        [[q.samples, q.callbacks, q.satisfied, q.reopened]],
    )
    return doc.html(f"{doc.t('monthly')} {m.month}")


def maintenance_html(order: WorkOrderPublic, *, lang: Lang, tz: tzinfo, site_name: str) -> str:
    """A PM order's record to print: its checklist as answered and the signature."""
    doc = _Doc(lang, tz)
    doc.h(1, "pm_sheet")
    doc.p(f"{doc.t('site')}: {site_name} · {order.id} · {order.title}")
    due, done = doc.time(order.due_by), doc.time(order.completed_at)
    doc.p(
        f"{doc.t('pm_device')}: {order.device or ''} · {doc.t('pm_due_by')}: {due} · "
        f"{doc.t('pm_completed')}: {done}"
    )
    doc.p(f"{doc.t('pm_result')}: {order.result or ''}")
    doc.h(2, "pm_checklist")
    verdict = {True: doc.t("pm_pass"), False: doc.t("pm_fail"), None: ""}
    doc.table(
        ["pm_item", "pm_ok", "pm_note"],
        ([c.item, verdict[c.ok], c.note] for c in order.checklist or []),
    )
    doc.h(2, "parts_used")
    doc.table(
        ["part_name", "part_quantity", "part_unit", "pm_note", "part_by"],
        ([p.name, f"{p.quantity:g}", p.unit, p.note, p.by] for p in order.parts_used),
    )
    doc.h(2, "pm_signature")
    signed = order.signature
    if signed is None:
        doc.p(doc.t("pm_unsigned"))
    else:
        doc.p(f"{signed.name} ({signed.by}) · {doc.time(signed.at)}")
        if signed.image is not None:  # a PNG data URL, checked on the way in
            doc.parts.append(
                f'<p><img alt="" style="max-height:6em" src="{escape(signed.image)}"></p>'
            )
        else:
            doc.p(doc.t("pm_typed"))
    return doc.html(f"{doc.t('pm_sheet')} {order.id}")
