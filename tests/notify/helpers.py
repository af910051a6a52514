"""Building a site whose notifications go to the test receivers, and raising alarms
through the API's real ingestion path."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.db import Database
from api.sites import Sites
from api.store import alarms as alarm_store
from api.workflows import alarms
from estatewatch.clock import to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.config.notify import NotifyConfig
from estatewatch.contracts.payloads import AlarmEvent


def notify_config(base: str, **changes: Any) -> NotifyConfig:
    """Duty engineers on the DingTalk robot, supervisor and security lead on the webhook."""
    data: dict[str, Any] = {
        "dashboard_url": "https://ew.test",
        "channels": [
            {
                "type": "dingtalk",
                "id": "ding",
                "url": f"{base}/dingtalk?access_token=t",
                "secret_ref": "DING",
            },
            {"type": "webhook", "id": "hook", "url": f"{base}/webhook", "secret_ref": "WH"},
        ],
        "people": [
            {
                "id": "wang-duty",
                "name": "王工",
                "role": "duty_engineer",
                "phone": "13800000001",
                "channels": ["ding"],
            },
            {"id": "sun-duty", "name": "孙工", "role": "duty_engineer", "channels": ["ding"]},
            {"id": "zhang-electric", "name": "张师傅", "role": "electrician", "channels": ["hook"]},
            {"id": "liu-supervisor", "name": "刘主管", "role": "supervisor", "channels": ["hook"]},
            {
                "id": "chen-security",
                "name": "陈队长",
                "role": "security_lead",
                "language": "en",
                "channels": ["hook"],
            },
        ],
        "oncall": [
            {"role": "duty_engineer", "person": "wang-duty", "shift": "day"},
            {"role": "duty_engineer", "person": "sun-duty", "shift": "night"},
            {"role": "electrician", "person": "zhang-electric", "shift": "day"},
            {"role": "supervisor", "person": "liu-supervisor", "shift": "day"},
            {"role": "security_lead", "person": "chen-security", "shift": "day"},
        ],
        "routes": [
            {
                "id": "critical",
                "match": {"severities": ["critical"]},
                "roles": ["duty_engineer"],
                "escalation": "urgent",
            },
            {
                "id": "breaches",
                "match": {"events": ["workorder.sla_breached"]},
                "roles": ["supervisor"],
            },
        ],
        "escalations": [
            {
                "id": "urgent",
                "repeat": "15m",
                "max_repeats": 2,
                "steps": [
                    {"after": "0s", "roles": ["duty_engineer"]},
                    {"roles": ["supervisor"]},
                    {"after": "30m", "roles": ["security_lead", "supervisor"]},
                ],
            },
        ],
        "grouping": {"window": "30s"},
        "retry_backoff": "5s",
        "max_attempts": 4,
    }
    data.update(changes)
    return NotifyConfig.model_validate(data)


def site_with(example: SiteConfig, notify: NotifyConfig, **changes: Any) -> Sites:
    return Sites([example.model_copy(update={"notifications": notify, **changes})])


def alarm_raised(
    sites: Sites,
    *,
    n: int,
    at: datetime,
    category: str = "outage",
    severity: str = "critical",
    building: str = "podium",
    device: str = "power-room-1",
    title: str = "配电房停电",
) -> AlarmEvent:
    alarm_id = f"{device}.{category}.{n}"
    return AlarmEvent.model_validate(
        {
            "event_id": f"{alarm_id}:1",
            "alarm_id": alarm_id,
            "revision": 1,
            "event": "raised",
            "site": sites.ids[0],
            "rule": f"power.{category}",
            "category": category,
            "severity": severity,
            "target_kind": "device",
            "target": device,
            "device_kind": "power_room",
            "building": building,
            "room": "power-room",
            "title": f"{title} #{n}",
            "raised_at": to_epoch_ms(at),
            "ts": to_epoch_ms(at),
            "active": True,
        }
    )


def raise_alarm(db: Database, sites: Sites, *, n: int, at: datetime, **fields: Any) -> str:
    event = alarm_raised(sites, n=n, at=at, **fields)
    with db.write() as session:
        alarms.on_alarm_event(session, event, now=at, sites=sites)
    return event.alarm_id


def raise_storm(db: Database, sites: Sites, *, count: int, at: datetime) -> None:
    """`count` outage alarms in one batch, as the API's consumer stores a burst."""
    events = [alarm_raised(sites, n=n, at=at) for n in range(count)]
    with db.write() as session:
        alarms.on_alarm_events(session, events, now=at, sites=sites)


def acknowledge(db: Database, alarm_id: str, *, by: str, at: datetime) -> None:
    with db.write() as session:
        alarm = alarm_store.get(session, alarm_id=alarm_id, for_update=True)
        alarms.acknowledge(session, alarm=alarm, by=by, note="on my way", now=at)
