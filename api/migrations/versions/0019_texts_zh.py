"""Texts in Chinese beside the English: `alarms.title_zh`, `alarms.message_zh` and
`work_orders.title_zh` (issue #15, both languages). NULL: the row has one language only
(older rows, an order typed in by a person): show `title`.

Revision ID: 0019
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alarms", sa.Column("title_zh", sa.String(256), nullable=True))
    op.add_column("alarms", sa.Column("message_zh", sa.Text(), nullable=True))
    op.add_column("work_orders", sa.Column("title_zh", sa.String(256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("title_zh")
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("message_zh")
        batch.drop_column("title_zh")
