"""Technicians' trade and duty; refresh tokens.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("trade", sa.String(length=32), nullable=True))
    op.add_column(
        "users", sa.Column("on_duty", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("issued_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", api.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", api.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["username"], ["users.username"], name=op.f("fk_refresh_tokens_username_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_refresh_tokens")),
    )
    op.create_index("ix_refresh_tokens_family", "refresh_tokens", ["family"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_refresh_tokens_family", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("on_duty")
        batch.drop_column("trade")
