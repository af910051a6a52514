"""Indexes for the alarm board and the work-order queue over a year of data.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_alarms_open", "alarms", ["state", "severity_rank", "raised_at"])
    op.create_index("ix_work_orders_queue", "work_orders", ["urgency", "reported_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_work_orders_queue", table_name="work_orders")
    op.drop_index("ix_alarms_open", table_name="alarms")
