"""Alembic migrations: an empty database upgrades to head (SQLite; PostgreSQL with --e2e)."""

from __future__ import annotations

from sqlalchemy import inspect

from cloud import db


async def test_empty_database_upgrades_to_head(database):
    engine = db.create_engine(database.url, database.schema)
    try:
        assert await db.async_current_revisions(engine) == set()
        await db.async_upgrade_to_head(engine)
        assert await db.async_current_revisions(engine) == db.head_revisions()
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
        assert {
            "users",
            "email_tokens",
            "web_sessions",
            "login_throttles",
            "outgoing_mail",
        } <= tables
        # Running it again is a no-op, not an error.
        await db.async_upgrade_to_head(engine)
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(database):
    """Autogenerate against a migrated database finds nothing to change."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from cloud.models import metadata

    engine = db.create_engine(database.url, database.schema)
    try:
        await db.async_upgrade_to_head(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        assert diff == []
    finally:
        await engine.dispose()


def test_history_has_one_head():
    """Later migrations have one line to build on."""
    assert len(db.head_revisions()) == 1
