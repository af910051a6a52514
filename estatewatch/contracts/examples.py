"""One realistic example of every payload, for docs, tests and anyone writing a producer."""

from __future__ import annotations

from estatewatch.contracts.payloads import (
    AlarmCommand,
    AlarmEvent,
    DeadLetter,
    DeviceStatus,
    GatewayHealth,
    GatewayState,
    HandheldScan,
    IncidentEvent,
    NotificationEvent,
    PatrolException,
    PatrolScan,
    Payload,
    TelemetryBatch,
    WorkOrderEvent,
    stable_id,
)
from estatewatch.contracts.roster import DutyRoster, RosterLine

T0 = 1_793_664_000_000  # 2026-11-02 00:00 UTC (08:00 in Shanghai)
SITE = "harbour-view"
GATEWAY = "gw-harbour-1"
ALARM_ID = stable_id(SITE, "elevator.entrapment", "elevator-3", T0 + 5_000)

EXAMPLES: dict[str, Payload] = {
    "telemetry": TelemetryBatch.model_validate(
        {
            "site": SITE,
            "gateway": GATEWAY,
            "seq": 48213,
            "readings": [
                {
                    "device": "pump-domestic-low",
                    "kind": "water_pump_set",
                    "building": "podium",
                    "room": "pump-room",
                    "ts": T0,
                    "values": {
                        "outlet_pressure": 0.452,
                        "vfd_frequency": 41.3,
                        "pump1_running": True,
                        "fault_code": 0,
                    },
                },
                {
                    "device": "elevator-3",
                    "kind": "elevator",
                    "building": "t2",
                    "room": "machine-room",
                    "ts": T0 + 12,
                    "values": {"floor": 7, "door_state": 0, "load": 240, "running": True},
                    "quality": {"car_temperature": "error", "trips": "stale"},
                },
            ],
        }
    ),
    "device_status": DeviceStatus.model_validate(
        {
            "site": SITE,
            "gateway": GATEWAY,
            "seq": 911,
            "device": "power-room-2",
            "kind": "power_room",
            "building": "podium",
            "room": "power-room-2",
            "state": "offline",
            "ts": T0 + 3_000,
            "since": T0 + 3_000,
            "last_seen": T0,
            "consecutive_failures": 3,
            "last_error": {"kind": "timeout", "message": "no answer from 10.0.3.12:502 unit 1"},
        }
    ),
    "gateway_state": GatewayState(
        site=SITE, gateway=GATEWAY, state="online", ts=T0, version="0.1.0", since=T0 - 60_000
    ),
    "gateway_health": GatewayHealth(
        site=SITE,
        gateway=GATEWAY,
        seq=2880,
        ts=T0,
        uptime_s=86400.0,
        devices_total=19,
        devices_online=18,
        poll_latency_p50_ms=4.1,
        poll_latency_p99_ms=18.7,
        poll_lateness_p99_ms=2.3,
        queue_depth=0,
        queue_bytes=0,
        dropped_total=0,
        published_total=1_209_331,
    ),
    "handheld_scan": HandheldScan.model_validate(
        {
            "handheld": "hh-02",
            "guard": "guard-li",
            "tag_uid": "04A1B20011",
            "scanned_at": T0 + 60_000,
            "counter": 5121,
            "signature": "3f" * 32,
            "finding": {
                "description": "Water on the floor under pump 2 seal",
                "priority": "immediate",
                "location": "pump room, pump 2",
                "photo_refs": ["ph_8d2f0c"],
            },
            "offline": True,
        }
    ),
    "patrol_scan": PatrolScan.model_validate(
        {
            "site": SITE,
            "gateway": GATEWAY,
            "seq": 77,
            "scan_id": stable_id("hh-02", "04A1B20011", T0 + 60_000),
            "handheld": "hh-02",
            "guard": "guard-li",
            "tag_uid": "04A1B20011",
            "checkpoint": "pump-room",
            "building": "podium",
            "scanned_at": T0 + 60_000,
            "received_at": T0 + 900_000,
            "source": "http",
            "synced_late": True,
            "counter": 5121,
            "verified": "hmac",
        }
    ),
    "patrol_exception": PatrolException(
        site=SITE,
        gateway=GATEWAY,
        seq=3,
        kind="unknown_tag",
        reason="tag 04FFEE0001 is not a checkpoint of harbour-view",
        received_at=T0 + 61_000,
        source="mqtt",
        handheld="hh-02",
        guard="guard-li",
        tag_uid="04FFEE0001",
        scanned_at=T0 + 60_500,
    ),
    "alarm": AlarmEvent.model_validate(
        {
            "event_id": f"{ALARM_ID}:1",
            "alarm_id": ALARM_ID,
            "revision": 1,
            "event": "raised",
            "site": SITE,
            "rule": "elevator.entrapment",
            "category": "entrapment",
            "severity": "critical",
            "target_kind": "device",
            "target": "elevator-3",
            "device_kind": "elevator",
            "building": "t2",
            "room": "machine-room",
            "title": "Passenger entrapment in Tower 2 car A",
            "message": "Stopped between floors 7 and 8, doors closed, load 240 kg, for 30 s",
            "title_zh": "电梯困人：2号楼A梯",
            "message_zh": "停在7层与8层之间，门关闭，载重240 kg，已30秒",
            "raised_at": T0 + 5_000,
            "ts": T0 + 5_000,
            "active": True,
            "value": 31,
            "details": {"floor": 7, "load": 240, "fault": "stopped between floors"},
        }
    ),
    "alarm_command": AlarmCommand(
        command_id="cmd_5b1d",
        alarm_id=ALARM_ID,
        site=SITE,
        action="acknowledge",
        by="duty.chen",
        at=T0 + 65_000,
        note="Elevator maintainer called, ETA 20 min",
    ),
    "workorder": WorkOrderEvent.model_validate(
        {
            "event_id": "wo_000412:2",
            "order_id": "wo_000412",
            "revision": 2,
            "event": "dispatched",
            "state": "dispatched",
            "site": SITE,
            "source": "alarm",
            "alarm_id": ALARM_ID,
            "title": "Passenger entrapment in Tower 2 car A",
            "title_zh": "电梯困人：2号楼A梯",
            "trade": "elevator",
            "department": "engineering",
            "urgency": "urgent",
            "assignee": "tech.liu",
            "building": "t2",
            "device": "elevator-3",
            "deadlines": {
                "response": T0 + 5_000 + 15 * 60_000,
                "dispatch": T0 + 5_000 + 30 * 60_000,
                "on_site": T0 + 5_000 + 30 * 60_000,
            },
            "by": "duty.chen",
            "at": T0 + 70_000,
            "note": "Liu, 138 0000 0000, ETA 15 min",
        }
    ),
    "notification": NotificationEvent(
        notification_id="nt_91ac",
        site=SITE,
        event="sent",
        channel="dingtalk",
        recipient="oncall-elevator",
        subject_kind="alarm",
        subject_id=ALARM_ID,
        at=T0 + 6_000,
    ),
    "incident": IncidentEvent(
        incident_id="inc_0007",
        revision=1,
        site=SITE,
        event="opened",
        plan="elevator_entrapment",
        at=T0 + 6_000,
        text="Started from alarm elevator.entrapment on elevator-3",
        alarm_ids=[ALARM_ID],
    ),
    "deadletter": DeadLetter(
        component="ingest",
        source_topic=f"ew/v1/{SITE}/telemetry/{GATEWAY}",
        reason="readings.0.ts: Input should be a valid integer",
        received_at=T0,
        payload_bytes=182,
        payload='{"schema_version":1,"site":"harbour-view","gateway":"gw-harbour-1","seq":1,...',
    ),
    "roster": DutyRoster(
        site=SITE,
        entries=[
            RosterLine(role="guard", person="guard-zhang", shift="night", weekdays=[0, 1, 2]),
            RosterLine(role="technician", person="tom", shift="day", weekdays=[0, 1, 2, 3, 4]),
        ],
        updated_by="liu-supervisor",
        updated_at=T0,
    ),
}
