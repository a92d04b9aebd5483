"""Reading one public registry record, the hot path of every QR scan.

The record is one row, read with one statement: on SQLite from a plain read-only sqlite3
connection inline on the event loop, on PostgreSQL as a prepared statement on the direct
asyncpg pool, otherwise on an engine sharing the app's pool without BEGIN IMMEDIATE. Any
failure to reach the database is ``(None, False)``: the caller fails closed. This module
changes for speed; what a record means is apkd.registry.service's.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.credentials.models import Credential
from apkd.db import direct_pool, pool_gate
from apkd.dbtypes import table_of

__all__ = ["DB_TIMEOUT_SECONDS", "PUBLIC_COLUMNS", "SessionFactory", "guard", "public_fields", "read_public"]

log = logging.getLogger("apkd.registry")
T = TypeVar("T")

SessionFactory = Callable[[], Any]  # async_sessionmaker[AsyncSession] or anything alike
DB_TIMEOUT_SECONDS = 5.0


async def guard(factory: SessionFactory, fn: Callable[[AsyncSession], Awaitable[T]]) -> tuple[T | None, bool]:
    """(result, True), or (None, False) when the database cannot be used."""
    try:
        async with asyncio.timeout(DB_TIMEOUT_SECONDS):
            async with factory() as session:
                return await fn(session), True
    except Exception as exc:  # any failure to reach or read the database: fail closed upstream
        log.warning("registry database access failed: %s: %s", type(exc).__name__, exc)
        return None, False


PUBLIC_COLUMNS = (
    "number",
    "status",
    "holder_name",
    "nip_masked",
    "instansi",
    "scheme_code",
    "valid_from",
    "valid_until",
    "revoked_at",
)


def _public_select() -> Any:
    """SELECT the public columns of one credential (+ scheme title) by number: built once."""
    global _PUBLIC_SELECT
    if _PUBLIC_SELECT is None:
        from apkd.banks.models import Scheme

        table = table_of(Credential)
        scheme = table_of(Scheme)
        _PUBLIC_SELECT = (
            select(*(table.c[name] for name in PUBLIC_COLUMNS), scheme.c.title)
            .select_from(table.outerjoin(scheme, scheme.c.code == table.c.scheme_code))
            .where(table.c.number == bindparam("number"))
            .limit(1)
        )
    return _PUBLIC_SELECT


_PUBLIC_SELECT: Any = None


def _public_row(row: Any) -> tuple[dict[str, Any], str | None] | None:
    if row is None:
        return None
    values = row._mapping
    return {name: values[name] for name in PUBLIC_COLUMNS}, values["title"]


async def public_fields(session: AsyncSession, number: str) -> tuple[dict[str, Any], str | None] | None:
    """Only the public columns of one credential (a light query for the registry API)."""
    return _public_row((await session.execute(_public_select(), {"number": number})).first())


# The registry API reads one row with one statement: no ORM session, and no transaction of its
# own. apkd.db makes every transaction on SQLite start with BEGIN IMMEDIATE (the write lock),
# which would queue every registry read behind the others and behind every writer. A single
# SELECT is a consistent snapshot by itself (SQLite WAL autocommit read; PostgreSQL statement
# snapshot), so this read runs on a second Engine over the *same* connection pool (same
# connections, same PRAGMAs from the pool's connect hook) that has no BEGIN IMMEDIATE hook;
# on PostgreSQL it is in AUTOCOMMIT mode (no BEGIN/ROLLBACK round trips).
_readers: weakref.WeakKeyDictionary[Engine, AsyncEngine] = weakref.WeakKeyDictionary()


def _reader_of(factory: SessionFactory) -> AsyncEngine | None:
    """The read-only engine sharing the pool of `factory`'s engine; None when not a plain one."""
    if not isinstance(factory, async_sessionmaker):
        return None
    bind = factory.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        return None
    main = bind.sync_engine
    reader = _readers.get(main)
    if reader is None or reader.sync_engine.pool is not main.pool:  # dispose() swaps the pool
        options = {"isolation_level": "AUTOCOMMIT"} if main.dialect.name == "postgresql" else None
        reader = AsyncEngine(Engine(main.pool, main.dialect, main.url, execution_options=options))
        _readers[main] = reader
    return reader


class _CompiledRead:
    """The public-record SELECT compiled once for one dialect, to run on a raw DB-API or
    asyncpg connection: its SQL, its fixed parameters in order, and the SQLAlchemy result
    processors of its columns (so values come out as on the engine path: UTC-aware datetimes).
    """

    def __init__(self, dialect: Any, stmt: Any = None, param: str = "number") -> None:
        stmt = _public_select() if stmt is None else stmt
        compiled = stmt.compile(dialect=dialect)
        fixed = compiled.construct_params({param: ""})
        order = list(compiled.positiontup or ())
        self.sql = str(compiled)
        self.params = [fixed[key] for key in order]
        self.number_at = order.index(param)
        columns = list(stmt.selected_columns)
        self.names = [c.key for c in columns]
        self.processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]

    def params_for(self, number: Any) -> list[Any]:
        params = list(self.params)
        params[self.number_at] = number
        return params

    def row(self, row: Any) -> tuple[dict[str, Any], str | None] | None:
        if row is None:
            return None
        values = {
            name: (proc(value) if proc is not None else value)
            for name, proc, value in zip(self.names, self.processors, tuple(row), strict=True)
        }
        return {name: values[name] for name in PUBLIC_COLUMNS}, values["title"]


class _InlineSQLite:
    """The public-record SELECT on a plain stdlib sqlite3 connection, run inline on the event
    loop (one thread's connection each; no aiosqlite thread hop, no pool, no transaction).

    A point lookup by the unique number index: tens of microseconds, from the OS page cache.
    Opened read-only (``mode=ro``: never creates a file, cannot write) and in autocommit, so
    the one SELECT reads a committed WAL snapshot and never waits for a writer.
    Any sqlite3 error: the caller falls back to the engine path, which decides.
    """

    def __init__(self, path: Path, dialect: Any) -> None:
        self.query = _CompiledRead(dialect)
        self.uri = path.resolve().as_uri() + "?mode=ro"
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.uri, uri=True, timeout=0.25, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        return conn

    def read(self, number: str) -> tuple[dict[str, Any], str | None] | None:
        q = self.query
        return q.row(self._conn().execute(q.sql, q.params_for(number)).fetchone())


_inline: weakref.WeakKeyDictionary[Engine, _InlineSQLite | None] = weakref.WeakKeyDictionary()


def _inline_of(main: Engine) -> _InlineSQLite | None:
    """The inline reader of a file-backed SQLite engine; None for other databases."""
    try:
        return _inline[main]
    except KeyError:
        pass
    reader: _InlineSQLite | None = None
    database = main.url.database if main.dialect.name == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        reader = _InlineSQLite(Path(database), main.dialect)
    _inline[main] = reader
    return reader


def _public_batch_select() -> Any:
    """The public columns of every credential whose number is in ``:numbers`` (PostgreSQL)."""
    from sqlalchemy import String, any_
    from sqlalchemy.dialects.postgresql import ARRAY

    from apkd.banks.models import Scheme

    table = table_of(Credential)
    scheme = table_of(Scheme)
    numbers = bindparam("numbers", type_=ARRAY(String()))
    return (
        select(*(table.c[name] for name in PUBLIC_COLUMNS), scheme.c.title)
        .select_from(table.outerjoin(scheme, scheme.c.code == table.c.scheme_code))
        .where(table.c.number == any_(numbers))
    )


class _Batcher:
    """Registry reads that arrive in the same turn of the event loop share one statement
    (``number = ANY($1)``) on the direct pool: under a scan burst each worker has dozens of
    lookups in flight, and every round trip costs a write to PostgreSQL's socket, a wake-up of
    its backend and a read back, on the same cores (decision 049). A read alone waits for
    nothing: its batch is sent on the next turn of the loop."""

    def __init__(self, reader: AsyncEngine) -> None:
        self.reader = reader
        self.query = _CompiledRead(reader.sync_engine.dialect, _public_batch_select(), "numbers")
        self.pending: dict[str, list[asyncio.Future[Any]]] = {}

    async def read(self, number: str) -> tuple[dict[str, Any], str | None] | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self.pending:
            loop.call_soon(self._flush)
        self.pending.setdefault(number, []).append(future)
        return await future

    def _flush(self) -> None:
        batch, self.pending = self.pending, {}
        task = asyncio.ensure_future(self._send(batch))
        _in_flight.add(task)
        task.add_done_callback(_in_flight.discard)

    async def _send(self, batch: dict[str, list[asyncio.Future[Any]]]) -> None:
        q = self.query
        try:
            async with asyncio.timeout(DB_TIMEOUT_SECONDS):
                pool = await direct_pool(self.reader)
                rows = await pool.fetch(q.sql, *q.params_for(list(batch)))
        except BaseException as exc:  # every waiter fails as its own read would have
            for futures in batch.values():
                for f in futures:
                    if not f.done():
                        f.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            if not isinstance(exc, Exception):
                raise
            return
        found = {}
        for row in rows:
            record = q.row(row)
            if record is not None:
                found[record[0]["number"]] = record
        for number, futures in batch.items():
            for f in futures:
                if not f.done():  # a waiter may have timed out
                    f.set_result(found.get(number))


_in_flight: set[asyncio.Task[None]] = set()
_batchers: weakref.WeakKeyDictionary[Any, _Batcher] = weakref.WeakKeyDictionary()


async def _read_postgres(reader: AsyncEngine, number: str) -> tuple[dict[str, Any], str | None] | None:
    """The public-record SELECT on the direct asyncpg pool (apkd.db.direct_pool), batched with
    the other lookups of the same loop turn: no SQLAlchemy checkout or transaction."""
    pool = reader.sync_engine.pool
    batcher = _batchers.get(pool)
    if batcher is None or batcher.reader.sync_engine.pool is not pool:
        batcher = _batchers[pool] = _Batcher(reader)
    return await batcher.read(number)


async def read_public(factory: SessionFactory, number: str) -> tuple[Any, bool]:
    """Like guard(factory, lambda s: public_fields(s, number)), on the light path when it can."""
    reader = _reader_of(factory)
    if reader is None:
        return await guard(factory, lambda s: public_fields(s, number))
    inline = _inline_of(reader.sync_engine)
    if inline is not None:
        try:
            return inline.read(number), True
        except sqlite3.Error as exc:  # locked, unreadable, missing: let the engine path decide
            log.info("inline registry read failed (%s: %s); using the engine", type(exc).__name__, exc)
    try:
        if reader.dialect.driver == "asyncpg":  # the batch has the timeout, once for all its reads
            return await _read_postgres(reader, number), True
        async with asyncio.timeout(DB_TIMEOUT_SECONDS):
            async with pool_gate(reader), reader.connect() as conn:
                result = await conn.execute(_public_select(), {"number": number})
                return _public_row(result.first()), True
    except Exception as exc:  # any failure to reach or read the database: fail closed upstream
        log.warning("registry database access failed: %s: %s", type(exc).__name__, exc)
        return None, False
