"""Sharing the connection pool fairly (apkd.db.pool_gate) and the direct asyncpg pool for the
hot statements (apkd.db.direct_pool): one of each per pool, whatever engine asks."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from apkd.db import close_direct_pool, create_engine, direct_pool, pool_gate


def _sharing(engine: AsyncEngine) -> AsyncEngine:
    main = engine.sync_engine
    return AsyncEngine(Engine(main.pool, main.dialect, main.url))


async def test_one_gate_per_pool_as_wide_as_the_pool() -> None:
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=7)
    other = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=7)
    try:
        gate = pool_gate(engine)
        assert pool_gate(_sharing(engine)) is gate
        assert pool_gate(other) is not gate
        held = [asyncio.create_task(gate.acquire()) for _ in range(7)]
        await asyncio.gather(*held)
        assert gate.locked()  # the eighth holder waits for a pooled connection
        for _ in held:
            gate.release()
        assert not gate.locked()
    finally:
        await engine.dispose()
        await other.dispose()


async def test_direct_pool_is_shared_and_closed(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("the direct pool is for PostgreSQL")
    engine = create_engine(db_url, pool_size=2)
    try:
        pool = await direct_pool(engine)
        assert await direct_pool(_sharing(engine)) is pool
        assert await pool.fetchval("SELECT 1") == 1
        await close_direct_pool(engine)
        assert pool.is_closing()
        assert await direct_pool(engine) is not pool  # made again on next use
    finally:
        await close_direct_pool(engine)
        await engine.dispose()


async def test_direct_pool_releases_without_a_reset_round_trip(db_url: str) -> None:
    """Its users send single autocommit statements, so a release sends nothing more (asyncpg's
    default reset query is a second round trip); a transaction left open is still rolled back."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the direct pool is for PostgreSQL")
    engine = create_engine(db_url, pool_size=2)
    sent: list[str] = []
    try:
        pool = await direct_pool(engine.sync_engine)  # a session's get_bind() gives the sync one
        assert await direct_pool(engine) is pool

        def log(record: object) -> None:
            sent.append(record.query)  # type: ignore[attr-defined]

        async with pool.acquire() as conn:
            conn.add_query_logger(log)
            assert await conn.fetchval("SELECT 41 + 1") == 42
            raw = conn._con  # the connection behind the pool's proxy, still ours after release
        assert sent == ["SELECT 41 + 1"]
        raw.remove_query_logger(log)
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TEMPORARY TABLE IF NOT EXISTS left_open (x int)")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
    finally:
        await close_direct_pool(engine)
        await engine.dispose()


async def test_warm_start_opens_every_direct_connection_before_the_first_request(db_url: str) -> None:
    from apkd.db import warm_direct_pool

    if not db_url.startswith("postgresql"):
        engine = create_engine(db_url)
        try:
            assert await warm_direct_pool(engine) == 0  # SQLite: nothing to open
        finally:
            await engine.dispose()
        return
    engine = create_engine(db_url, direct_pool_size=3)
    try:
        assert await warm_direct_pool(engine) == 3
        pool = await direct_pool(engine)
        assert pool.get_size() == 3 and pool.get_idle_size() == 3
    finally:
        await close_direct_pool(engine)
        await engine.dispose()
