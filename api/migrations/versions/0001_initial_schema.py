"""Initial schema: alarms, work orders, users, the live feed, the outbox, devices, patrol.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 00:01:47.287334
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.models.base

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("alarm_id", sa.String(length=256), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=256), nullable=False),
        sa.Column("category", sa.String(length=256), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("severity_rank", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=256), nullable=False),
        sa.Column("device_kind", sa.String(length=32), nullable=True),
        sa.Column("building", sa.String(length=64), nullable=True),
        sa.Column("room", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_event", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("raised_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=256), nullable=True),
        sa.Column("cleared_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("value", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("ack_requested_by", sa.String(length=64), nullable=True),
        sa.Column("ack_requested_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alarm_id", name=op.f("pk_alarms")),
    )
    op.create_index(
        "ix_alarms_board", "alarms", ["site", "state", "severity_rank", "raised_at"], unique=False
    )
    op.create_index("ix_alarms_building", "alarms", ["building"], unique=False)

    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "device_status",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("building", sa.String(length=64), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("ts", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("since", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("site", "device", name=op.f("pk_device_status")),
    )
    op.create_table(
        "feed_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=256), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_feed_events")),
    )
    op.create_index(op.f("ix_feed_events_at"), "feed_events", ["at"], unique=False)

    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=1024), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("published_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_pending", "outbox", ["published_at", "id"], unique=False)

    op.create_table(
        "patrol_exceptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("handheld", sa.String(length=256), nullable=True),
        sa.Column("guard", sa.String(length=256), nullable=True),
        sa.Column("tag_uid", sa.String(length=256), nullable=True),
        sa.Column("scanned_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_exceptions")),
    )
    op.create_index(
        "ix_patrol_exceptions_site_time", "patrol_exceptions", ["site", "received_at"], unique=False
    )

    op.create_table(
        "patrol_scans",
        sa.Column("scan_id", sa.String(length=256), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("handheld", sa.String(length=64), nullable=False),
        sa.Column("guard", sa.String(length=64), nullable=False),
        sa.Column("tag_uid", sa.String(length=32), nullable=False),
        sa.Column("checkpoint", sa.String(length=64), nullable=False),
        sa.Column("building", sa.String(length=64), nullable=False),
        sa.Column("scanned_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("received_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("synced_late", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.String(length=16), nullable=False),
        sa.Column("finding", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("scan_id", name=op.f("pk_patrol_scans")),
    )
    op.create_index(
        "ix_patrol_scans_site_time", "patrol_scans", ["site", "scanned_at"], unique=False
    )

    op.create_table(
        "users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=512), nullable=False),
        sa.Column("contact", sa.String(length=256), nullable=False),
        sa.Column("guard_id", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_users")),
    )
    op.create_table(
        "alarm_actions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("alarm_id", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=True),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.alarm_id"], name=op.f("fk_alarm_actions_alarm_id_alarms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_actions")),
        sa.UniqueConstraint("command_id", name=op.f("uq_alarm_actions_command_id")),
    )
    op.create_index(op.f("ix_alarm_actions_alarm_id"), "alarm_actions", ["alarm_id"], unique=False)

    op.create_table(
        "alarm_events",
        sa.Column("event_id", sa.String(length=256), nullable=False),
        sa.Column("alarm_id", sa.String(length=256), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("ts", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("received_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.alarm_id"], name=op.f("fk_alarm_events_alarm_id_alarms")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_alarm_events")),
    )
    op.create_index(op.f("ix_alarm_events_alarm_id"), "alarm_events", ["alarm_id"], unique=False)

    op.create_table(
        "work_orders",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("alarm_id", sa.String(length=256), nullable=True),
        sa.Column("scan_id", sa.String(length=256), nullable=True),
        sa.Column("category", sa.String(length=256), nullable=False),
        sa.Column("finding_priority", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("trade", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("building", sa.String(length=64), nullable=True),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.Column("location", sa.String(length=256), nullable=False),
        sa.Column("requester_name", sa.String(length=256), nullable=True),
        sa.Column("requester_contact", sa.String(length=256), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("assignee_contact", sa.String(length=256), nullable=True),
        sa.Column("eta", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("photo_refs", sa.JSON(), nullable=False),
        sa.Column("callback_note", sa.Text(), nullable=True),
        sa.Column("reported_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("fix_due_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("responded_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("on_site_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("verified_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "requester_answered_at", api.models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.alarm_id"], name=op.f("fk_work_orders_alarm_id_alarms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
        sa.UniqueConstraint("alarm_id", name=op.f("uq_work_orders_alarm_id")),
        sa.UniqueConstraint("scan_id", name=op.f("uq_work_orders_scan_id")),
    )
    op.create_index("ix_work_orders_assignee", "work_orders", ["assignee"], unique=False)
    op.create_index("ix_work_orders_site_state", "work_orders", ["site", "state"], unique=False)

    op.create_table(
        "sla_breaches",
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("clock", sa.String(length=32), nullable=False),
        sa.Column("due_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("detected_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_sla_breaches_order_id_work_orders")
        ),
        sa.PrimaryKeyConstraint("order_id", "clock", name=op.f("pk_sla_breaches")),
    )
    op.create_table(
        "work_order_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_work_order_log_order_id_work_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_log")),
    )
    op.create_index(
        op.f("ix_work_order_log_order_id"), "work_order_log", ["order_id"], unique=False
    )

    op.bulk_insert(
        sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger)),
        [{"name": "feed", "value": 0}],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_work_order_log_order_id"), table_name="work_order_log")

    op.drop_table("work_order_log")
    op.drop_table("sla_breaches")
    op.drop_index("ix_work_orders_site_state", table_name="work_orders")
    op.drop_index("ix_work_orders_assignee", table_name="work_orders")

    op.drop_table("work_orders")
    op.drop_index(op.f("ix_alarm_events_alarm_id"), table_name="alarm_events")

    op.drop_table("alarm_events")
    op.drop_index(op.f("ix_alarm_actions_alarm_id"), table_name="alarm_actions")

    op.drop_table("alarm_actions")
    op.drop_table("users")
    op.drop_index("ix_patrol_scans_site_time", table_name="patrol_scans")

    op.drop_table("patrol_scans")
    op.drop_index("ix_patrol_exceptions_site_time", table_name="patrol_exceptions")

    op.drop_table("patrol_exceptions")
    op.drop_index("ix_outbox_pending", table_name="outbox")

    op.drop_table("outbox")
    op.drop_index(op.f("ix_feed_events_at"), table_name="feed_events")

    op.drop_table("feed_events")
    op.drop_table("device_status")
    op.drop_table("counters")
    op.drop_index("ix_alarms_building", table_name="alarms")
    op.drop_index("ix_alarms_board", table_name="alarms")

    op.drop_table("alarms")
