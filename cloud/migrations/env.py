"""Alembic environment: runs on the connection the cloud hands over (see cloud.db)."""

from __future__ import annotations

from alembic import context

from cloud.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through `ethos cloud migrate`, which supplies the connection"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
