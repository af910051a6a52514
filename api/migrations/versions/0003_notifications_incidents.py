"""Notification outbox, escalations, incidents and their timeline, quality samples.

Also the `notify` counter: the feed position the notification planner has read up to.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 04:45:39.085932
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("alarm_id", sa.String(length=256), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("started_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_level", sa.Integer(), nullable=False),
        sa.Column("stopped_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("stopped_reason", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("alarm_id", name=op.f("pk_escalations")),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index("ix_escalations_running", ["stopped_at"], unique=False)

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("building", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("alarm_ids", sa.JSON(), nullable=False),
        sa.Column("steps_done", sa.JSON(), nullable=False),
        sa.Column("owners_notice", sa.JSON(), nullable=False),
        sa.Column("opened_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("closed_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("review_due_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("review", sa.JSON(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_site_state", ["site", "state"], unique=False)

    op.create_table(
        "notifications",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("event_key", sa.String(length=256), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=256), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("line", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("delivery_id", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_notifications_key")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_due", ["status", "due_at"], unique=False)
        batch_op.create_index(
            "ix_notifications_subject", ["subject_kind", "subject_id"], unique=False
        )

    op.create_table(
        "quality_samples",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("week_start", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("population", sa.JSON(), nullable=False),
        sa.Column("order_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_samples")),
        sa.UniqueConstraint("site", "week_start", name="uq_quality_samples_week"),
    )
    op.create_table(
        "incident_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_entries_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_entries")),
    )
    with op.batch_alter_table("incident_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_entries_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "quality_callbacks",
        sa.Column("sample_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("by", sa.String(length=64), nullable=True),
        sa.Column("at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_quality_callbacks_order_id_work_orders")
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["quality_samples.id"],
            name=op.f("fk_quality_callbacks_sample_id_quality_samples"),
        ),
        sa.PrimaryKeyConstraint("sample_id", "order_id", name=op.f("pk_quality_callbacks")),
    )
    op.bulk_insert(
        sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger)),
        [{"name": "notify", "value": 0}],
    )


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name = 'notify'")
    op.drop_table("quality_callbacks")
    with op.batch_alter_table("incident_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_entries_incident_id"))

    op.drop_table("incident_entries")
    op.drop_table("quality_samples")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_subject")
        batch_op.drop_index("ix_notifications_due")

    op.drop_table("notifications")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_site_state")

    op.drop_table("incidents")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index("ix_escalations_running")

    op.drop_table("escalations")
