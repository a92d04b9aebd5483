"""Database engine, sessions, the shared pools and the one place writers serialize.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout, and
every transaction starts with ``BEGIN IMMEDIATE``: SQLite allows one writer at a time anyway,
and taking the write lock up front turns "read, then write" races into a short wait instead of
a ``database is locked`` error. PostgreSQL serializes what must be serialized with transaction
advisory locks (:func:`serialize`) or row locks, never in process memory.

This module imports no domain: column types live in :mod:`apkd.dbtypes` (which the models
import) and the registry of every table in :mod:`apkd.tables` (which migrations and tests import).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

# Services take the clock and the column type from here too; the models import apkd.dbtypes.
from apkd.dbtypes import UTCDateTime, utcnow

__all__ = [
    "UTCDateTime",
    "close_direct_pool",
    "create_engine",
    "direct_pool",
    "is_postgres",
    "ping",
    "pool_gate",
    "serialize",
    "session_factory",
    "utcnow",
    "warm_direct_pool",
]


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


# The default size of the direct asyncpg pool (setting APKD_DIRECT_POOL_SIZE).
DIRECT_POOL_SIZE = 16


def create_engine(
    url: str, *, pool_size: int = 10, direct_pool_size: int = DIRECT_POOL_SIZE, echo: bool = False
) -> AsyncEngine:
    """An engine for ``url``. ``pool_size`` bounds SQLAlchemy's pool (PostgreSQL);
    ``direct_pool_size`` the asyncpg pool :func:`direct_pool` makes beside it on first use
    (settings ``APKD_DB_POOL_SIZE`` and ``APKD_DIRECT_POOL_SIZE``)."""
    if url.startswith("sqlite"):
        if ":///" in url and not url.endswith(":memory:"):
            from pathlib import Path

            Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _sqlite_setup(engine)
        return engine
    engine = create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False
    )
    _direct_sizes[engine.sync_engine.pool] = max(1, direct_pool_size)
    return engine


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


_write_locks: weakref.WeakKeyDictionary[Any, asyncio.Lock] = weakref.WeakKeyDictionary()


def sqlite_write_lock(engine: AsyncEngine) -> asyncio.Lock:
    """SQLite: this process's writers of the hot path take turns, first come first served.

    SQLite has one writer at a time; a writer that finds the lock taken sleeps in SQLite's busy
    handler and retries, and under load the others keep winning the retries: one save could
    wait for seconds while the saves around it pass (seen as a hung PUT in the SIGKILL test).
    An asyncio lock queues them fairly instead. One per pool, like :func:`pool_gate`.
    """
    pool = engine.sync_engine.pool
    lock = _write_locks.get(pool)
    if lock is None:
        lock = _write_locks[pool] = asyncio.Lock()
    return lock


# --- a direct asyncpg pool for the hottest statements (PostgreSQL) ----------------------

_direct_sizes: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
_direct_pools: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_direct_lock: asyncio.Lock | None = None


async def _keep_session(_connection: Any) -> None:
    """The direct pool's reset on release: nothing to undo (see :func:`direct_pool`)."""


async def direct_pool(engine: AsyncEngine | Engine) -> Any:
    """A small asyncpg pool of its own beside ``engine`` (PostgreSQL only), made on first use.

    For the hot paths (an answer saved, a form looked up for it, a roster polled, a registry
    record read): asyncpg directly, without SQLAlchemy's checkout, greenlet hop and statement
    processing; statements are prepared once per connection and run in autocommit. One per
    SQLAlchemy pool: engines sharing a pool share it (``engine`` may be the async engine or the
    sync one behind it, as a session's ``get_bind()`` gives). Closed by
    :func:`close_direct_pool` at shutdown.

    Its users run single autocommit statements and change no session state (no SET, advisory
    lock, LISTEN, cursor, prepared transaction or temporary table), so a released connection
    needs no reset: asyncpg's default reset query (``pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL``) would be a second round trip after every save. asyncpg still rolls
    back a transaction left open and drops listeners on release (decision 030).
    """
    global _direct_lock
    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    pool = _direct_pools.get(sync.pool)
    if pool is not None:
        return pool
    if _direct_lock is None:
        _direct_lock = asyncio.Lock()
    async with _direct_lock:
        pool = _direct_pools.get(sync.pool)
        if pool is None:
            import asyncpg

            dsn = sync.url.set(drivername="postgresql").render_as_string(hide_password=False)
            size = _direct_sizes.get(sync.pool, DIRECT_POOL_SIZE)
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size, reset=_keep_session)
            _direct_pools[sync.pool] = pool
    return pool


async def warm_direct_pool(engine: AsyncEngine) -> int:
    """Open every connection of the direct pool now (PostgreSQL; the app's start-up), so the
    first burst of requests (every candidate pressing "start" at once on a fresh worker) does
    not pay a connection, a PostgreSQL backend and its authentication per pooled connection
    inside the burst (decision 048). Returns how many are open; 0 on SQLite."""
    if engine.dialect.name != "postgresql":
        return 0
    pool = await direct_pool(engine)
    size = _direct_sizes.get(engine.sync_engine.pool, DIRECT_POOL_SIZE)
    held = await asyncio.gather(*(pool.acquire() for _ in range(size)))
    for conn in held:
        await pool.release(conn)
    return len(held)


async def close_direct_pool(engine: AsyncEngine) -> None:
    """Close the direct pool made for ``engine``, if any (the app's shutdown)."""
    pool = _direct_pools.pop(engine.sync_engine.pool, None)
    if pool is not None:
        await pool.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


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
