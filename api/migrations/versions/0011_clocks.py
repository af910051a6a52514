"""A clock until done (issue #16): the expected completion set on accept, and the last
structured progress answer with their count (each 24-hour period of a general order); the
duty roster as edited through the API.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.models.base

revision = "0011"
down_revision = "0010"
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
    op.create_table(
        "duty_roster",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("shift", sa.String(length=64), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_roster")),
    )
    op.create_index("ix_duty_roster_site", "duty_roster", ["site"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_duty_roster_site", table_name="duty_roster")
    op.drop_table("duty_roster")
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("progress_count")
        batch.drop_column("progress_at")
        batch.drop_column("expected_done_at")
