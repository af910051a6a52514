"""The records a property company keeps: signed shift handovers and the notices of shifts
that ended unsigned.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handover_notices",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("shift", sa.String(length=64), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("noticed_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("people", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("site", "shift", "date", name=op.f("pk_handover_notices")),
    )
    op.create_table(
        "handovers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("shift", sa.String(length=64), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("start", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("filed_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("filed_note", sa.Text(), nullable=False),
        sa.Column("signed_by", sa.String(length=64), nullable=True),
        sa.Column("signed_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("signed_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
        sa.UniqueConstraint("site", "shift", "date", name="uq_handovers_shift"),
    )


def downgrade() -> None:
    op.drop_table("handovers")
    op.drop_table("handover_notices")
