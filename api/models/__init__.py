"""The ORM models; importing this package registers every table on `Base.metadata`."""

from api.models.alarm import Alarm, AlarmAction, AlarmEventRecord
from api.models.base import Base, UtcDateTime
from api.models.device import DeviceStatusRecord
from api.models.feed import Counter, FeedEvent, OutboxMessage
from api.models.maintenance import MaintenancePlan
from api.models.notify import (
    Escalation,
    Incident,
    IncidentEntry,
    Notification,
    QualityCallback,
    QualitySample,
)
from api.models.patrol import PatrolExceptionRecord, PatrolScanRecord
from api.models.records import Handover, HandoverNotice
from api.models.roster import RosterEntryRecord
from api.models.user import RefreshToken, User
from api.models.workorder import SlaBreach, WorkOrder, WorkOrderLog

__all__ = [
    "Alarm",
    "AlarmAction",
    "AlarmEventRecord",
    "Base",
    "Counter",
    "DeviceStatusRecord",
    "Escalation",
    "FeedEvent",
    "Handover",
    "HandoverNotice",
    "Incident",
    "IncidentEntry",
    "MaintenancePlan",
    "Notification",
    "OutboxMessage",
    "PatrolExceptionRecord",
    "PatrolScanRecord",
    "QualityCallback",
    "QualitySample",
    "RefreshToken",
    "RosterEntryRecord",
    "SlaBreach",
    "User",
    "UtcDateTime",
    "WorkOrder",
    "WorkOrderLog",
]
