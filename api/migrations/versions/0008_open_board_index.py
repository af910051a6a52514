"""The board's partial index in its own order over the open alarms only, and the queue's
index in the queue's own order (urgency descending).

Replace 0006's ix_alarms_open (state first), which still sorted every open row, and its
ascending queue index.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OPEN = sa.text("state != 'closed'")


def upgrade() -> None:
    op.drop_index("ix_alarms_open", table_name="alarms")
    op.create_index(
        "ix_alarms_open_board",
        "alarms",
        ["severity_rank", "raised_at", "alarm_id"],
        unique=False,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.drop_index("ix_work_orders_queue", table_name="work_orders")
    op.create_index(
        "ix_work_orders_queue", "work_orders", [sa.text("urgency DESC"), "reported_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_work_orders_queue", table_name="work_orders")
    op.create_index("ix_work_orders_queue", "work_orders", ["urgency", "reported_at", "id"])
    op.drop_index("ix_alarms_open_board", table_name="alarms")
    op.create_index("ix_alarms_open", "alarms", ["state", "severity_rank", "raised_at"])
