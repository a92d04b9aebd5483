"""Storing a batch of newly issued credentials: the rows (:class:`CredentialRow`, in the
column order of :data:`COLUMNS`) and their "issued" history.

PostgreSQL: block by block while the next block is signed (:class:`RowWriter`), each block
one statement that also writes its history rows. SQLite: one driver-level executemany, then
the history rows in one ``INSERT ... SELECT`` per serial block (:func:`write_history`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, String, insert, literal
from sqlalchemy import select as sa_select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.chunked import chunks
from apkd.credentials.models import Credential, CredentialEvent
from apkd.dbtypes import UTCDateTime, table_of

__all__ = ["COLUMNS", "CredentialRow", "RowWriter", "SerialBlock", "bulk_insert", "write_history"]


class CredentialRow(NamedTuple):
    """One credential row as issuing writes it; the field names are the columns' own.

    A tuple, so the bulk paths (asyncpg arrays per column, sqlite3 executemany) take it as is.
    """

    number: str
    uuid: str
    scheme_code: str
    scheme_version: str
    year: int
    region_code: str
    serial: int
    user_id: int
    attempt_id: int
    result_id: int
    renews_id: int | None
    status: str
    holder_name: str
    nip_masked: str
    instansi: str | None
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    kid: str
    vc_jwt: str
    vc_sha256: str
    qr_text: str
    revocation_list_id: int
    revocation_index: int
    suspension_list_id: int
    suspension_index: int


# The credential columns written when issuing, in the order of CredentialRow.
COLUMNS: tuple[str, ...] = CredentialRow._fields
_TABLE = table_of(Credential)
_EVENTS = table_of(CredentialEvent)


class SerialBlock(NamedTuple):
    """The serials ``first .. first + size - 1`` of (scheme, year), used by one batch."""

    scheme_code: str
    year: int
    first: int
    size: int


async def bulk_insert(
    session: AsyncSession, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert the rows in the session's transaction: COPY on PostgreSQL (asyncpg), one
    driver-level executemany on SQLite, batched INSERTs otherwise."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        conn = await session.connection()
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        if driver is not None and hasattr(driver, "copy_records_to_table"):
            await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))
            return
    if dialect.name == "sqlite":
        sql, converted = _sqlite_rows(table, columns, rows, dialect)
        conn = await session.connection()
        await conn.exec_driver_sql(sql, converted)
        return
    dicts = [dict(zip(columns, row, strict=True)) for row in rows]
    for part in chunks(dicts):
        await session.exec(insert(table), params=list(part))


class RowWriter:
    """Stores the credential rows; on PostgreSQL, block by block while the next block is signed.

    PostgreSQL does its share of an insert (heap and index writes, foreign-key checks: about
    a third of a batch's time when done after the signing) in its own process, so a block
    sent before the next one is signed costs the issuer little more than the sending. Each
    block is one statement (see _pg_block_insert): the rows from one array per column, and
    their "issued" history rows (``history`` = actor id, time). Never more than one statement
    in flight on the connection: each block waits for the one before it, and drain() for the
    last; after an error, abandon() waits for a block in flight (ignoring its outcome) so the
    connection is idle when the caller rolls back. SQLite and other databases get the rows in
    one bulk_insert at the end (``pipelined`` is False; the caller writes the history): an
    aiosqlite thread competes with the signing for the interpreter lock, and measured no
    faster.
    """

    def __init__(
        self,
        session: AsyncSession,
        table: Any,
        columns: Sequence[str],
        *,
        history: tuple[int | None, datetime],
    ) -> None:
        self.session = session
        self.table = table
        self.columns = columns
        self.history = history
        self.sent = 0
        self.pipelined = False
        self._task: asyncio.Future[None] | None = None
        self._driver: Any = None
        self._sql = ""

    async def open(self) -> None:
        dialect = self.session.get_bind().dialect
        if dialect.name != "postgresql":
            return
        conn = await self.session.connection()
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        if driver is not None and hasattr(driver, "copy_records_to_table"):  # asyncpg
            self._driver, self.pipelined = driver, True
            self._sql = _pg_block_insert(self.table, self.columns, dialect)

    async def write(self, records: Sequence[tuple[Any, ...]]) -> None:
        """Send records[sent:] (the ones not sent yet)."""
        rows = list(records[self.sent :])
        if not rows:
            return
        self.sent = len(records)
        await self.drain()
        if not self.pipelined:
            await bulk_insert(self.session, self.table, self.columns, rows)
            return
        columns = [list(column) for column in zip(*rows, strict=True)]
        self._task = asyncio.ensure_future(self._driver.execute(self._sql, *columns, *self.history))
        await asyncio.sleep(0)  # let the block go out before the signing resumes

    async def drain(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await task

    async def abandon(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # retrieved: the caller's own error is the one that matters


_PG_INSERTS: dict[tuple[str, tuple[str, ...]], str] = {}


def _pg_block_insert(table: Any, columns: Sequence[str], dialect: Any) -> str:
    """One statement for a block: the credential rows from one array per column, and their
    "issued" history rows (actor id and time are the last two parameters).

    ``WITH c AS (INSERT INTO credential (c1, ...) SELECT * FROM unnest($1::T1[], ...)
    RETURNING id) INSERT INTO credential_event ... SELECT c.id, 'issued', ... FROM c``; the
    column names and types come from the table definitions.
    """
    key = (table.name, tuple(columns))
    sql = _PG_INSERTS.get(key)
    if sql is None:
        names = ", ".join(table.c[c].name for c in columns)
        arrays = ", ".join(
            f"${i}::{table.c[c].type.compile(dialect=dialect)}[]" for i, c in enumerate(columns, start=1)
        )
        ev = table_of(CredentialEvent)
        actor, at = len(columns) + 1, len(columns) + 2
        sql = _PG_INSERTS[key] = (
            f"WITH c AS (INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}) RETURNING id)"  # noqa: S608
            f" INSERT INTO {ev.name} (credential_id, action, reason, actor_id, created_at)"
            f" SELECT c.id, 'issued', NULL, ${actor}::{ev.c.actor_id.type.compile(dialect=dialect)},"
            f" ${at}::{ev.c.created_at.type.compile(dialect=dialect)} FROM c"
        )
    return sql


def _sqlite_rows(
    table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]], dialect: Any
) -> tuple[str, list[tuple[Any, ...]]]:
    """The INSERT text and the rows as sqlite3 takes them: values that need SQLAlchemy's bind
    processing (the timestamps, shared by the whole batch) are converted once per distinct
    value; the rest pass through as they are."""
    procs = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    convert = [i for i, proc in enumerate(procs) if proc is not None]
    if convert:
        memo: dict[tuple[int, Any], Any] = {}
        out = []
        for row in rows:
            values = list(row)
            for i in convert:
                v = values[i]
                if v is not None:
                    key = (i, v)
                    if key not in memo:
                        memo[key] = procs[i](v)
                    values[i] = memo[key]
            out.append(tuple(values))
        rows = out
    names = ", ".join(table.c[c].name for c in columns)  # from the table definition
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' for _ in columns)})"  # noqa: S608
    return sql, rows


async def write_history(
    session: AsyncSession, blocks: Sequence[SerialBlock], *, actor_id: int | None, now: datetime
) -> None:
    """The "issued" history rows of the credentials of ``blocks``, made in the database from
    the serial blocks (for the non-pipelined writers; RowWriter on PostgreSQL writes them
    with each block)."""
    for block in blocks:
        await session.exec(
            insert(_EVENTS).from_select(
                ["credential_id", "action", "reason", "actor_id", "created_at"],
                sa_select(
                    _TABLE.c.id,
                    literal("issued"),
                    literal(None, String),
                    literal(actor_id, Integer),
                    literal(now, UTCDateTime()),
                ).where(
                    _TABLE.c.scheme_code == block.scheme_code,
                    _TABLE.c.year == block.year,
                    _TABLE.c.serial >= block.first,
                    _TABLE.c.serial < block.first + block.size,
                ),
            )
        )
