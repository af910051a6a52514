"""Usage-based preventive maintenance: plans that follow a device's run hours or starts, and
plans by usage only (no calendar interval).

Revision ID: 0005
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.models.base

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite alters a column's nullability only by copying the table.
    with op.batch_alter_table("maintenance_plans") as batch:
        batch.alter_column("interval_days", existing_type=sa.Integer(), nullable=True)
        batch.alter_column(
            "next_due_at",
            existing_type=api.models.base.UtcDateTime(timezone=True),
            nullable=True,
        )
        batch.add_column(sa.Column("counter_point", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("counter_interval", sa.Double(), nullable=True))
        batch.add_column(sa.Column("counter_next", sa.Double(), nullable=True))
        batch.add_column(sa.Column("counter_value", sa.Double(), nullable=True))
        batch.add_column(
            sa.Column("counter_seen_at", api.models.base.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    op.execute("DELETE FROM maintenance_plans WHERE interval_days IS NULL")
    with op.batch_alter_table("maintenance_plans") as batch:
        for column in (
            "counter_seen_at",
            "counter_value",
            "counter_next",
            "counter_interval",
            "counter_point",
        ):
            batch.drop_column(column)
        batch.alter_column(
            "next_due_at",
            existing_type=api.models.base.UtcDateTime(timezone=True),
            nullable=False,
        )
        batch.alter_column("interval_days", existing_type=sa.Integer(), nullable=False)
