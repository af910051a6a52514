"""Alarms keep the fault's onset (when its condition first held, before the rule's `for`):
durations and the SLA clocks of the orders they open run from it.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    column: sa.Column[object] = sa.Column(
        "onset_at", api.models.base.UtcDateTime(timezone=True), nullable=True
    )
    op.add_column("alarms", column)


def downgrade() -> None:
    op.drop_column("alarms", "onset_at")
