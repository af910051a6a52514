"""A clock until done (issue #16): the expected completion set on accept, and the last
structured progress answer with their count (each 24-hour period of a general order).

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.models.base

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "work_orders",
        sa.Column("expected_done_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "work_orders",
        sa.Column("progress_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "work_orders",
        sa.Column("progress_count", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("progress_count")
        batch.drop_column("progress_at")
        batch.drop_column("expected_done_at")
