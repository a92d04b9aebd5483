"""The transparency log: appends, reads and RFC 9162 proofs over stored nodes.

Storage (see :mod:`apkd.translog.merkle`): ``log_entry`` holds the exact leaf bytes,
``log_node`` every complete aligned subtree hash (level 0 = leaf hashes), written once and
never changed; ``log_head`` the tree size. Appends are serialized in the database: PostgreSQL
locks the ``log_head`` row (``SELECT ... FOR UPDATE``), SQLite's write lock (``BEGIN
IMMEDIATE``, see apkd.db) already serializes every writer. Readers never lock: a node, once
visible, is final, so a proof for any size up to the committed head is always answerable.

Every proof, and the root of a new checkpoint, reads its O(log n) nodes in one query. Which
events may be logged is :mod:`apkd.translog.events`; the log key and signed checkpoints are
:mod:`apkd.translog.checkpoints`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.db import is_postgres, utcnow
from apkd.dbtypes import table_of
from apkd.errors import BadRequest
from apkd.translog import merkle
from apkd.translog.events import (
    ALLOWED_KEYS,
    EVENT_TYPES,
    canonical_bytes,
    decode_leaf,
    is_number,
    validate_event,
    validate_events,
)
from apkd.translog.models import LogEntry, LogHead, LogNode

__all__ = [
    "ALLOWED_KEYS",
    "EVENT_TYPES",
    "MAX_PAGE",
    "LogInconsistency",
    "append",
    "canonical_bytes",
    "consistency_proof",
    "decode_leaf",
    "entries",
    "find_entries",
    "find_leaves",
    "inclusion_proof",
    "is_number",
    "parse_index",
    "root_at",
    "tree_size",
    "validate_event",
    "validate_events",
]

MAX_PAGE = 1000

_HEAD = table_of(LogHead)
_ENTRY = table_of(LogEntry)
_NODE = table_of(LogNode)


_PG_FETCH_NODES = text(
    "SELECT n.level, n.idx, n.hash"
    " FROM unnest(CAST(:levels AS integer[]), CAST(:idxs AS bigint[])) AS k(level, idx)"
    " JOIN log_node AS n ON n.level = k.level AND n.idx = k.idx"
)

# Batch inserts (see _insert_leaves). The column lists are the tables' own.
_PG_INSERT_ENTRIES = text(
    "INSERT INTO log_entry (idx, entry, number, created_at)"
    " SELECT CAST(:start AS bigint) + e.ord - 1, e.entry, e.number, CAST(:now AS timestamptz)"
    " FROM unnest(CAST(:entries AS bytea[]), CAST(:numbers AS varchar[]))"
    " WITH ORDINALITY AS e(entry, number, ord)"
)
_PG_INSERT_NODES = text(
    "INSERT INTO log_node (level, idx, hash)"
    " SELECT * FROM unnest(CAST(:levels AS integer[]), CAST(:idxs AS bigint[]), CAST(:hashes AS bytea[]))"
)
_SQLITE_INSERT_ENTRIES = "INSERT INTO log_entry (idx, entry, number, created_at) VALUES (?, ?, ?, ?)"
_SQLITE_INSERT_NODES = "INSERT INTO log_node (level, idx, hash) VALUES (?, ?, ?)"

_INDEX_RE = re.compile(r"\d{1,18}")


class LogInconsistency(RuntimeError):
    """The stored tree lacks a node it must have: a server-side fault, never the caller's."""


# ---------------------------------------------------------------------------
# Appending
# ---------------------------------------------------------------------------


async def _fetch_nodes(conn: AsyncConnection, keys: Iterable[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
    """The stored nodes among ``keys``, in ONE query.

    PostgreSQL: a join of the primary key with ``unnest`` of two arrays; the SQL text is
    constant, so asyncpg's prepared statement is reused (an OR of 40 key lookups costs ~5x more
    in planning alone). SQLite: an OR of primary-key lookups.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    if conn.dialect.name == "postgresql":
        rows = await conn.execute(
            _PG_FETCH_NODES, {"levels": [k[0] for k in wanted], "idxs": [k[1] for k in wanted]}
        )
    else:
        cond = or_(*(and_(_NODE.c.level == level, _NODE.c.idx == idx) for level, idx in wanted))
        rows = await conn.execute(select(_NODE.c.level, _NODE.c.idx, _NODE.c.hash).where(cond))
    return {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}


async def _lock_head(session: AsyncSession, conn: AsyncConnection) -> int:
    """The tree size, with the head row locked until the transaction ends (created if missing)."""
    stmt = select(_HEAD.c.tree_size).where(_HEAD.c.id == 1)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    size = (await conn.execute(stmt)).scalar_one_or_none()
    if size is not None:
        return int(size)
    ins: Any = pg_insert(_HEAD) if is_postgres(session) else sqlite_insert(_HEAD)
    await conn.execute(ins.values(id=1, tree_size=0).on_conflict_do_nothing(index_elements=["id"]))
    return int((await conn.execute(stmt)).scalar_one())


async def _insert_leaves(
    conn: AsyncConnection,
    start: int,
    leaves: Sequence[bytes],
    numbers: Sequence[str | None],
    nodes: Sequence[tuple[int, int, bytes]],
) -> None:
    """Write a batch's leaves and completed nodes: two statements, however large the batch.

    PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays)`` per table (constant SQL text, so
    asyncpg's prepared statement is reused; a per-row executemany costs a server round of
    parse/bind/execute per row). SQLite: one driver-level executemany per table, the shared
    timestamp converted once (no per-row bind processing).
    """
    now = utcnow()
    if conn.dialect.name == "postgresql":
        await conn.execute(
            _PG_INSERT_ENTRIES,
            {"start": start, "entries": list(leaves), "numbers": list(numbers), "now": now},
        )
        await conn.execute(
            _PG_INSERT_NODES,
            {"levels": [n[0] for n in nodes], "idxs": [n[1] for n in nodes], "hashes": [n[2] for n in nodes]},
        )
        return
    if conn.dialect.name == "sqlite":
        created = _ENTRY.c.created_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        stamp = created(now) if created is not None else now
        await conn.exec_driver_sql(
            _SQLITE_INSERT_ENTRIES,
            [
                (start + i, leaf, number, stamp)
                for i, (leaf, number) in enumerate(zip(leaves, numbers, strict=True))
            ],
        )
        await conn.exec_driver_sql(_SQLITE_INSERT_NODES, list(nodes))
        return
    await conn.execute(
        insert(_ENTRY),
        [
            {"idx": start + i, "entry": leaf, "number": number, "created_at": now}
            for i, (leaf, number) in enumerate(zip(leaves, numbers, strict=True))
        ],
    )
    await conn.execute(insert(_NODE), [{"level": lv, "idx": ix, "hash": h} for lv, ix, h in nodes])


async def append(session: AsyncSession, events: Sequence[Mapping[str, Any]]) -> list[int]:
    """Append one leaf per event, in the caller's transaction (the caller commits).

    Returns the leaf indexes. ValueError (before anything is written) when an event is not
    allowed in the log. The head row stays locked until the caller's transaction ends, so
    append late in the transaction. Lock order (PostgreSQL): append BEFORE
    ``apkd.audit.record`` in the same transaction, everywhere, so two writers never wait on
    each other's lock in opposite orders.

    A batch costs a fixed number of statements (lock the head, read the O(log n) stored
    nodes the batch completes, insert the leaves, insert the nodes, move the head), and its
    hashes are computed once, level by level (merkle.nodes_completed_by_batch).
    """
    checked = validate_events(events)
    if not checked:
        return []
    leaves = [canonical_bytes(e) for e in checked]
    conn = await session.connection()
    start = await _lock_head(session, conn)
    deps = await _fetch_nodes(conn, merkle.batch_dependencies(start, len(leaves)))

    def get_node(level: int, idx: int) -> bytes:
        try:
            return deps[(level, idx)]
        except KeyError:
            raise LogInconsistency(f"log node ({level}, {idx}) is missing; the log is damaged") from None

    nodes = merkle.nodes_completed_by_batch(start, [merkle.leaf_hash(b) for b in leaves], get_node)
    await _insert_leaves(conn, start, leaves, [e.get("number") for e in checked], nodes)
    await conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(tree_size=start + len(leaves)))
    return list(range(start, start + len(leaves)))


# ---------------------------------------------------------------------------
# Reading entries
# ---------------------------------------------------------------------------


async def find_entries(session: AsyncSession, number: str) -> list[tuple[int, dict[str, Any]]]:
    """(index, event) of every leaf about credential ``number``, oldest first."""
    conn = await session.connection()
    rows = await conn.execute(
        select(_ENTRY.c.idx, _ENTRY.c.entry).where(_ENTRY.c.number == number).order_by(_ENTRY.c.idx)
    )
    return [(int(idx), decode_leaf(bytes(entry))) for idx, entry in rows]


async def find_leaves(session: AsyncSession, number: str, limit: int = MAX_PAGE) -> list[tuple[int, bytes]]:
    """(index, exact leaf bytes) of the leaves about credential ``number``, oldest first."""
    conn = await session.connection()
    rows = await conn.execute(
        select(_ENTRY.c.idx, _ENTRY.c.entry)
        .where(_ENTRY.c.number == number)
        .order_by(_ENTRY.c.idx)
        .limit(limit)
    )
    return [(int(idx), bytes(entry)) for idx, entry in rows]


async def entries(session: AsyncSession, start: int, end: int | None) -> list[tuple[int, bytes]]:
    """(index, leaf bytes) for ``start <= index < end``, at most MAX_PAGE of them.

    BadRequest when the range is inverted; a range past the end of the log is simply short.
    """
    if end is None:
        end = start + MAX_PAGE
    if end < start:
        raise BadRequest(
            f"Rentang tidak valid: end ({end}) lebih kecil dari start ({start}).", code="invalid_range"
        )
    end = min(end, start + MAX_PAGE)
    conn = await session.connection()
    rows = await conn.execute(
        select(_ENTRY.c.idx, _ENTRY.c.entry)
        .where(_ENTRY.c.idx >= start, _ENTRY.c.idx < end)
        .order_by(_ENTRY.c.idx)
    )
    return [(int(idx), bytes(entry)) for idx, entry in rows]


async def tree_size(session: AsyncSession) -> int:
    conn = await session.connection()
    size = (await conn.execute(select(_HEAD.c.tree_size).where(_HEAD.c.id == 1))).scalar_one_or_none()
    return int(size or 0)


# ---------------------------------------------------------------------------
# Proofs
# ---------------------------------------------------------------------------


def parse_index(name: str, raw: str | int | None) -> int:
    """A non-negative integer query parameter, or BadRequest with code ``invalid_<name>``."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, str) and _INDEX_RE.fullmatch(raw.strip()):
        return int(raw.strip())
    raise BadRequest(
        f"Parameter '{name}' harus bilangan bulat tidak negatif (diterima: {raw!r}).",
        code=f"invalid_{name}",
    )


async def _nodes_within(
    session: AsyncSession, keys: list[merkle.NodeKey], size: int, size_name: str
) -> dict[merkle.NodeKey, bytes]:
    """Fetch ``keys`` plus leaf ``size - 1`` in one query; BadRequest when ``size`` > the log.

    The last leaf of the requested tree exists iff the log has at least ``size`` leaves, so the
    common path needs no separate read of the head.
    """
    probe = (0, size - 1)
    conn = await session.connection()
    nodes = await _fetch_nodes(conn, [*keys, probe])
    if probe in nodes and all(k in nodes for k in keys):
        return nodes
    current = await tree_size(session)
    if size > current:
        raise BadRequest(
            f"{size_name} ({size}) melebihi ukuran log saat ini ({current}).", code="tree_size_too_large"
        )
    raise LogInconsistency(f"log nodes are missing for a tree of size {size}; the log is damaged")


async def inclusion_proof(session: AsyncSession, index: int, size: int) -> list[bytes]:
    """RFC 9162 PATH(index, D[size]); BadRequest for an index or size out of range."""
    if index >= size:
        raise BadRequest(
            f"index ({index}) harus lebih kecil dari tree_size ({size}).", code="index_out_of_range"
        )
    keys = merkle.inclusion_nodes(index, size)
    nodes = await _nodes_within(session, keys, size, "tree_size")
    return merkle.inclusion_proof(index, size, nodes)


async def consistency_proof(session: AsyncSession, first: int, second: int) -> list[bytes]:
    """RFC 9162 PROOF(first, D[second]); BadRequest when first is 0 (RFC 9162 section 2.1.4
    defines the proof for 0 < first), first > second or second > the log."""
    if first < 1:
        raise BadRequest(
            "first harus paling sedikit 1: bukti konsistensi didefinisikan untuk 0 < first <= second "
            "(RFC 9162 bagian 2.1.4).",
            code="first_not_positive",
        )
    if first > second:
        raise BadRequest(
            f"first ({first}) tidak boleh lebih besar dari second ({second}).", code="first_after_second"
        )
    if second == 0:
        return []
    keys = merkle.consistency_nodes(first, second)
    nodes = await _nodes_within(session, keys, second, "second")
    return merkle.consistency_proof(first, second, nodes)


async def root_at(session: AsyncSession, size: int) -> bytes:
    """MTH(D[size]) from the stored nodes (one query)."""
    if size == 0:
        return merkle.EMPTY_ROOT
    keys = merkle.root_nodes(size)
    nodes = await _nodes_within(session, keys, size, "tree_size")
    return merkle.root_hash(size, nodes)
