"""Alembic environment: migrations run on the connection `api.db.run_migrations` passes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from api.models import Base

# Any constant: instances starting together on PostgreSQL migrate one after the other.
ADVISORY_LOCK = 0x45575F4150_49  # "EW_API"


def run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `estatewatch api migrate`, which passes a connection")
run(connection)
