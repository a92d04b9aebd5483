"""Database engine, session, shared column types and the one place writers serialize.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout, and
every transaction starts with ``BEGIN IMMEDIATE``: SQLite allows one writer at a time anyway,
and taking the write lock up front turns "read, then write" races into a short wait instead of
a ``database is locked`` error. PostgreSQL serializes what must be serialized with transaction
advisory locks (:func:`serialize`) or row locks, never in process memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


# A 64-bit auto-increment key; SQLite only auto-increments "INTEGER PRIMARY KEY" (64-bit anyway).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops offsets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store times in UTC with tzinfo")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def metadata() -> MetaData:
    """The metadata of every table, with all domain models imported."""
    import_models()
    return SQLModel.metadata


def import_models() -> None:
    from apkd import audit  # noqa: F401
    from apkd.accounts import models as _accounts  # noqa: F401
    from apkd.banks import models as _banks  # noqa: F401
    from apkd.credentials import models as _credentials  # noqa: F401
    from apkd.exams import models as _exams  # noqa: F401
    from apkd.grading import models as _grading  # noqa: F401
    from apkd.translog import models as _translog  # noqa: F401


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE instead of pysqlite's BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # FULL: a commit is on disk before the 200 (nothing acknowledged is ever lost).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        if ":///" in url and not url.endswith(":memory:"):
            from pathlib import Path

            Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _sqlite_setup(engine)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False
    )


# --- the pool, shared fairly -------------------------------------------------------------

_gates: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def pool_gate(engine: AsyncEngine) -> asyncio.Semaphore:
    """At most as many holders of a pooled connection at once as the pool has connections.

    Past the pool size SQLAlchemy opens "overflow" connections and closes them on return, so a
    burst (300 exam starts, a hall scanning QR codes) would pay a new connection per request,
    on PostgreSQL a new server process each. Waiting a moment for a pooled one is much cheaper.
    One gate per pool: engines sharing a pool share it. (It belongs to the running loop; one
    engine serves one loop.) Use it around work that holds one connection, never nested.
    """
    pool = engine.sync_engine.pool
    gate = _gates.get(pool)
    if gate is None:
        size = getattr(pool, "size", None)
        gate = _gates[pool] = asyncio.Semaphore(max(1, int(size())) if callable(size) else 5)
    return gate


# --- a direct asyncpg pool for the hottest statements (PostgreSQL) ----------------------

DIRECT_POOL_SIZE = int(os.environ.get("APKD_DIRECT_POOL_SIZE", "16") or 16)
_direct_pools: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_direct_lock: asyncio.Lock | None = None


async def direct_pool(engine: AsyncEngine) -> Any:
    """A small asyncpg pool of its own beside ``engine`` (PostgreSQL only), made on first use.

    For the hot paths (an answer saved, a registry record read): asyncpg directly, without
    SQLAlchemy's checkout, greenlet hop and statement processing; statements are prepared once
    per connection and run in autocommit. One per SQLAlchemy pool: engines sharing a pool share
    it. Closed by :func:`close_direct_pool` at shutdown.
    """
    global _direct_lock
    pool = _direct_pools.get(engine.sync_engine.pool)
    if pool is not None:
        return pool
    if _direct_lock is None:
        _direct_lock = asyncio.Lock()
    async with _direct_lock:
        pool = _direct_pools.get(engine.sync_engine.pool)
        if pool is None:
            import asyncpg

            dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=DIRECT_POOL_SIZE)
            _direct_pools[engine.sync_engine.pool] = pool
    return pool


async def close_direct_pool(engine: AsyncEngine) -> None:
    """Close the direct pool made for ``engine``, if any (the app's shutdown)."""
    pool = _direct_pools.pop(engine.sync_engine.pool, None)
    if pool is not None:
        await pool.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        yield session


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def serialize(session: AsyncSession, name: str) -> None:
    """Serialize writers on ``name`` until the current transaction ends.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: nothing to do, the transaction
    already holds the database's single write lock (BEGIN IMMEDIATE).
    """
    if is_postgres(session):
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


async def ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        logging.getLogger("apkd").warning("database ping failed: %s", type(exc).__name__)
        return False
