"""The fire alarm record: every fire alarm kept with its work order, 10 000 and more,
exportable (CSV) and printable (HTML), in both languages."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from api.models import Alarm
from tests.api.helpers import SITE, T0, Api, alarm_event

MANY = 10_000


def _fire_alarms(api: Api, n: int) -> None:
    with api.runtime.db.write() as session:
        session.add_all(
            Alarm(
                alarm_id=f"fire-{i}",
                site=SITE,
                rule="fire.alarm",
                category="fire_alarm",
                severity="critical",
                severity_rank=0,
                target_kind="device",
                target="fire-panel-1",
                device_kind="fire_panel",
                building="t1",
                room="fire-control",
                title=f"FIRE ALARM zone {101 + i % 7}",
                message="",
                state="closed",
                last_event="closed",
                revision=3,
                raised_at=T0 - timedelta(days=20) + timedelta(minutes=i),
                last_event_at=T0,
                active=False,
                acknowledged=True,
                acknowledged_by="dina",
                cleared_at=T0 - timedelta(days=20) + timedelta(minutes=i, seconds=30),
                occurrences=1,
                value=101 + i % 7,
                details={},
                updated_at=T0,
            )
            for i in range(n)
        )


def test_ten_thousand_fire_records_export_and_print(api: Api) -> None:
    _fire_alarms(api, MANY)
    api.ingest(alarm_event("fire-now", category="fire_alarm", device_kind="fire_panel",
                           target="fire-panel-1", rule="fire.alarm"))  # fmt: skip
    api.ingest(alarm_event("lift", category="entrapment"))  # not a fire record
    params = {"site": SITE, "since": (T0 - timedelta(days=30)).isoformat(),
              "until": (T0 + timedelta(minutes=1)).isoformat()}  # fmt: skip
    found = api.get("/fire/records", params=params, user="sam").json()
    assert len(found) == MANY + 1
    assert found[0]["alarm_id"] == "fire-0"
    newest = found[-1]
    assert (newest["alarm_id"], newest["order_state"]) == ("fire-now", "new")
    assert newest["order_id"] is not None

    exported = api.get("/fire/records", params={**params, "format": "csv"}, user="sam")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][0] == "报警时间"
    assert len(rows) == MANY + 2

    printed = api.get(
        "/fire/records", params={**params, "format": "html", "lang": "en"}, user="sam"
    )
    assert printed.headers["content-type"].startswith("text/html")
    assert "Fire alarm record" in printed.text
    assert printed.text.count("<tr>") == MANY + 2


def test_fire_records_are_for_those_who_read_reports(api: Api) -> None:
    assert api.get("/fire/records", params={"site": SITE}, user="tom").status_code == 403
    assert api.get("/fire/records", params={"site": SITE}, user="dina").status_code == 200
