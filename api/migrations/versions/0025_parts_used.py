"""Parts used on a work order, as the technician records them (issue #25): a list of
{name, quantity, unit, note, by, at} on `work_orders.parts_used`. `parts` (free text given
on completion) stays as it was.

Revision ID: 0025
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(
            sa.Column("parts_used", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("parts_used")
