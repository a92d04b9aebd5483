"""Models and migrations agree (on whichever database this pass runs: SQLite or PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from apkd.migrate import alembic_config
from apkd.tables import metadata


async def test_models_match_migrations(engine) -> None:
    def diff(sync_conn):
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata())

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == [], f"models and migrations disagree: {differences}"


async def test_database_is_at_single_head(engine) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"

    def current(sync_conn):
        return MigrationContext.configure(sync_conn).get_current_revision()

    async with engine.connect() as conn:
        assert await conn.run_sync(current) == heads[0]
