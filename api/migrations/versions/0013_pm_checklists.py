"""Preventive maintenance orders with a due-by date, a checklist and the technician's
signature on completion; an order opened from a failed checklist item names its PM order;
a by-deadline finding's owner.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.models.base

revision = "0013"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("maintenance_plans") as batch:
        batch.add_column(sa.Column("checklist", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("due_within_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(
            sa.Column("due_by", api.models.base.UtcDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("checklist", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("signature", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("parent_order_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("owner")
        batch.drop_column("parent_order_id")
        batch.drop_column("signature")
        batch.drop_column("checklist")
        batch.drop_column("due_by")
    with op.batch_alter_table("maintenance_plans") as batch:
        batch.drop_column("due_within_days")
        batch.drop_column("checklist")
