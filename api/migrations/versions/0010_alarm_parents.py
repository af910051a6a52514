"""An alarm's root: `alarms.parent_alarm_id`, set while a root alarm (a power room's outage,
a gateway's uplink) explains it (issue #23, alarm storms).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alarms", sa.Column("parent_alarm_id", sa.String(256), nullable=True))
    op.create_index("ix_alarms_parent_alarm_id", "alarms", ["parent_alarm_id"])


def downgrade() -> None:
    op.drop_index("ix_alarms_parent_alarm_id", table_name="alarms")
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("parent_alarm_id")
