"""Both languages through the API: JSON carries each text and name in English and Chinese
(`title`/`title_zh`, `name_en`/`name_zh`) and the page picks; a document the server writes
(CSV, printable HTML) follows the request's `lang`."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from api.models import OutboxMessage
from api.store.workorders import order_id_for_alarm
from estatewatch.clock import to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import AlarmEvent, WorkOrderEvent
from tests.api.helpers import SITE, T0, Api, alarm_event
from tests.rules.driver import Driver

ZH_TITLE = "2号楼A梯困人：非平层停梯"
EN_TITLE = "Entrapment in Tower 2 car A: stopped between floors"


def _entrapment(site: SiteConfig) -> AlarmEvent:
    """The rules engine's own entrapment alarm on elevator-3, raised at T0."""
    d = Driver(site, start=to_epoch_ms(T0) - 2_000)
    d.reading("elevator-3", fault_code=31, running=False, leveled=False, in_service=True)
    d.tick(2)
    return next(e for e in d.events if e.rule == "elevator.entrapment")


def _handover_titles(api: Api, lang: str) -> list[str]:
    params = {"site": SITE, "format": "csv", "lang": lang}
    text = api.get("/reports/handover", params=params, user="sam").text
    return [r["title"] for r in csv.DictReader(io.StringIO(text)) if r["section"] != "device"]


def test_a_zh_viewer_and_an_en_viewer_each_get_their_names_and_texts(
    api: Api, example_site: SiteConfig
) -> None:
    event = _entrapment(example_site)
    api.ingest(event)
    [alarm] = api.get("/alarms", user="dina").json()
    assert (alarm["title"], alarm["title_zh"]) == (EN_TITLE, ZH_TITLE)
    assert "30分钟内到场" in alarm["message_zh"]
    # the order the alarm opened carries both, and so does its MQTT event
    order = api.get(f"/workorders/{order_id_for_alarm(event.alarm_id)}", user="dina").json()
    assert (order["title"], order["title_zh"]) == (EN_TITLE, ZH_TITLE)
    with api.runtime.db.read() as session:
        published = [
            WorkOrderEvent.model_validate_json(m.payload)
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.topic.contains("/workorder/"))
            )
        ]
    assert published[0].title_zh == ZH_TITLE
    # names: each object of the layout in both languages, enum texts too
    layout = api.get("/web/layout", user="dina").json()["sites"][0]
    car = next(d for d in layout["devices"] if d["id"] == "elevator-3")
    assert (car["name_zh"], car["name_en"]) == ("2号楼A梯", "Tower 2 car A")
    fault = next(p for p in car["points"] if p["name"] == "fault_code")
    assert (fault["enum"]["31"], fault["enum_zh"]["31"]) == ("stopped between floors", "非平层停梯")
    tower = next(b for b in layout["buildings"] if b["id"] == "t2")
    assert (tower["name_zh"], tower["name_en"]) == ("二号楼", "Tower 2")
    door = next(c for c in layout["checkpoints"] if c["id"] == "pump-room")
    assert (door["name_zh"], door["name_en"]) == ("生活泵房门", "Domestic pump room door")
    assert {r["name_zh"] for r in layout["routes"]} >= {"楼栋巡逻", "设备房巡检"}
    # documents follow the request's language
    api.clock.set(T0 + timedelta(minutes=5))
    assert ZH_TITLE in _handover_titles(api, "zh-CN")
    assert EN_TITLE in _handover_titles(api, "en")
    assert ZH_TITLE not in _handover_titles(api, "en")


def test_an_alarm_from_an_older_producer_shows_its_one_text_in_both(api: Api) -> None:
    api.ingest(alarm_event("old", title="Entrapment in Tower 2 car A"))
    [alarm] = api.get("/alarms").json()
    assert (alarm["title"], alarm["title_zh"], alarm["message_zh"]) == (
        "Entrapment in Tower 2 car A",
        None,
        None,
    )
    api.clock.set(T0 + timedelta(minutes=5))
    assert "Entrapment in Tower 2 car A" in _handover_titles(api, "zh-CN")


def test_a_persons_new_title_replaces_both_languages(api: Api, example_site: SiteConfig) -> None:
    event = _entrapment(example_site)
    api.ingest(event)
    order_id = order_id_for_alarm(event.alarm_id)
    changed = api.patch(f"/workorders/{order_id}", {"title": "困人，已通知维保"}, user="dina")
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], changed.json()["title_zh"]) == ("困人，已通知维保", None)
