"""The transparency log: appends, signed checkpoints and RFC 9162 proofs over stored nodes.

Storage (see :mod:`apkd.translog.merkle`): ``log_entry`` holds the exact leaf bytes,
``log_node`` every complete aligned subtree hash (level 0 = leaf hashes), written once and
never changed; ``log_head`` the tree size. Appends are serialized in the database: PostgreSQL
locks the ``log_head`` row (``SELECT ... FOR UPDATE``), SQLite's write lock (``BEGIN
IMMEDIATE``, see apkd.db) already serializes every writer. Readers never lock: a node, once
visible, is final, so a proof for any size up to the committed head is always answerable.

Every proof, and the root of a new checkpoint, reads its O(log n) nodes in one query.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.config import Settings
from apkd.credentials import keys as keymod
from apkd.credentials.models import SigningKey
from apkd.db import is_postgres, serialize, utcnow
from apkd.dbtypes import table_of
from apkd.errors import BadRequest
from apkd.translog import merkle
from apkd.translog.models import LogCheckpoint, LogEntry, LogHead, LogNode

__all__ = [
    "ALLOWED_KEYS",
    "EVENT_TYPES",
    "MAX_PAGE",
    "Checkpoint",
    "LogInconsistency",
    "append",
    "canonical_bytes",
    "consistency_proof",
    "current_checkpoint",
    "current_log_key",
    "decode_leaf",
    "ensure_log_key",
    "entries",
    "find_entries",
    "find_leaves",
    "inclusion_proof",
    "is_number",
    "log_public_jwk",
    "parse_index",
    "root_at",
    "tree_size",
    "validate_event",
    "validate_events",
]

ALLOWED_KEYS = frozenset({"type", "number", "vc_sha256", "time", "kid", "reason_code"})
EVENT_TYPES = frozenset({"issued", "revoked", "suspended", "reinstated", "key_rotated", "key_compromised"})
MAX_PAGE = 1000
LOG_KEY_PURPOSE = "log"

_HEAD = table_of(LogHead)
_ENTRY = table_of(LogEntry)
_NODE = table_of(LogNode)
_CHECKPOINT = table_of(LogCheckpoint)

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

_NUMBER_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,63}")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_REASON_RE = re.compile(r"[a-z0-9_]{1,64}")
_LONG_DIGITS = re.compile(r"\d{16,}")  # a NIK (16 digits) or a NIP (18 digits)
_INDEX_RE = re.compile(r"\d{1,18}")


class LogInconsistency(RuntimeError):
    """The stored tree lacks a node it must have: a server-side fault, never the caller's."""


# ---------------------------------------------------------------------------
# Events and leaves
# ---------------------------------------------------------------------------


# json.dumps with these arguments builds a new encoder per call; one, made once, gives the
# same bytes.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    """The leaf bytes of an event: JSON with sorted keys, no spaces, UTF-8."""
    return _CANONICAL.encode(dict(event)).encode("utf-8")


_FIELD_PATTERNS = (
    ("number", _NUMBER_RE),
    ("vc_sha256", _SHA256_RE),
    ("kid", _KID_RE),
    ("reason_code", _REASON_RE),
)
_NO_LONG_DIGITS = ("number", "kid", "reason_code")


def validate_event(event: Mapping[str, Any]) -> dict[str, str]:
    """A checked copy of ``event``; ValueError when it is not a loggable event.

    Only the keys in ALLOWED_KEYS are accepted, all string-valued, so no personal data (a
    name, a NIP) can enter the public, permanent log. ``time`` defaults to now (UTC).
    """
    return _validate_event(event, set())


def validate_events(events: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """validate_event for each event of a batch; every check runs for every event, except
    that a ``time`` text already parsed for an earlier event of the batch is not parsed again
    (a batch usually shares one)."""
    seen_times: set[str] = set()
    return [_validate_event(e, seen_times) for e in events]


def _validate_event(event: Mapping[str, Any], seen_times: set[str]) -> dict[str, str]:
    if not isinstance(event, Mapping):
        raise ValueError("a log event must be a dict")
    if not ALLOWED_KEYS.issuperset(event):
        unknown = sorted(str(k) for k in event if k not in ALLOWED_KEYS)
        raise ValueError(f"log event has keys that are not allowed (personal data?): {unknown}")
    out: dict[str, str] = {}
    for key, value in event.items():
        if not isinstance(value, str):
            raise ValueError(f"log event field {key!r} must be a string")
        out[key] = value
    if out.get("type") not in EVENT_TYPES:
        raise ValueError(f"log event type must be one of {sorted(EVENT_TYPES)}")
    for key, pattern in _FIELD_PATTERNS:
        if key in out and not pattern.fullmatch(out[key]):
            raise ValueError(f"log event field {key!r} is malformed")
    for key in _NO_LONG_DIGITS:
        if key in out and _LONG_DIGITS.search(out[key]):
            raise ValueError(f"log event field {key!r} looks like a NIK/NIP; personal data is refused")
    stamp = out.get("time")
    if stamp is None:
        out["time"] = utcnow().isoformat().replace("+00:00", "Z")
    elif stamp not in seen_times:
        try:
            parsed = datetime.fromisoformat(stamp)
        except ValueError:
            raise ValueError("log event time must be ISO 8601") from None
        if parsed.tzinfo is None:
            raise ValueError("log event time must carry a UTC offset")
        seen_times.add(stamp)
    return out


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


def decode_leaf(leaf: bytes) -> dict[str, Any]:
    """The event of a leaf; a leaf that is not a JSON object (a damaged log) decodes to {}."""
    try:
        value = json.loads(leaf.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def is_number(text: str) -> bool:
    """Whether ``text`` has the shape of a credential number as logged."""
    return bool(_NUMBER_RE.fullmatch(text)) and not _LONG_DIGITS.search(text)


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
    """RFC 9162 PROOF(first, D[second]); BadRequest when first > second or second > the log."""
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


# ---------------------------------------------------------------------------
# The log key and signed checkpoints
# ---------------------------------------------------------------------------


async def _active_log_key(session: AsyncSession) -> SigningKey | None:
    conn = await session.connection()
    table = table_of(SigningKey)
    row = (
        await conn.execute(
            select(table.c.id)
            .where(table.c.purpose == LOG_KEY_PURPOSE, table.c.status == "active")
            .order_by(table.c.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return await session.get(SigningKey, row)


async def ensure_log_key(session: AsyncSession, settings: Settings) -> SigningKey:
    """The log's active Ed25519 key, created (encrypted at rest) on first use.

    Race-safe: creation is serialized in the database, and re-checked under the lock. A
    newly created key is flushed, not committed; the caller commits.
    """
    found = await _active_log_key(session)
    if found is not None:
        return found
    await serialize(session, "translog_log_key")
    found = await _active_log_key(session)
    if found is not None:
        return found
    private = keymod.generate_key()
    jwk = keymod.public_jwk(private)
    kid = keymod.thumbprint(jwk)
    row = SigningKey(
        kid=kid,
        purpose=LOG_KEY_PURPOSE,
        public_jwk={**jwk, "kid": kid},
        private_key_enc=keymod.encrypt_private_key(private, settings.secret_key, kid),
        status="active",
    )
    session.add(row)
    await session.flush()
    return row


def log_public_jwk(key: SigningKey) -> dict[str, Any]:
    """The public JWK of the log key (with kid = RFC 7638 thumbprint, alg EdDSA, use sig)."""
    public = {k: v for k, v in key.public_jwk.items() if k in {"kty", "crv", "x"}}
    return keymod.jwks([public])["keys"][0]


@dataclass(frozen=True)
class Checkpoint:
    tree_size: int
    root_hash: str
    timestamp: int
    signature: str
    key_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "signature": self.signature,
            "key_id": self.key_id,
        }


async def _stored_checkpoint(conn: AsyncConnection) -> tuple[int, Checkpoint | None]:
    """(head size, the stored checkpoint of that size or None), in one query."""
    head = select(func.coalesce(func.max(_HEAD.c.tree_size), 0).label("size")).subquery()
    row = (
        await conn.execute(
            select(
                head.c.size,
                _CHECKPOINT.c.root_hash,
                _CHECKPOINT.c.timestamp_ms,
                _CHECKPOINT.c.signature,
                _CHECKPOINT.c.key_id,
            ).select_from(head.outerjoin(_CHECKPOINT, _CHECKPOINT.c.tree_size == head.c.size))
        )
    ).one()
    size = int(row[0])
    if row[1] is None:
        return size, None
    return size, Checkpoint(size, row[1], int(row[2]), row[3], row[4])


async def current_checkpoint(session: AsyncSession, settings: Settings) -> Checkpoint:
    """The signed checkpoint of the current tree size.

    Signed once per size and stored; while the size is unchanged every worker returns the
    same checkpoint (stable, cacheable). Commits when it had to sign a new one.
    """
    conn = await session.connection()
    size, stored = await _stored_checkpoint(conn)
    if stored is not None:
        return stored
    key = await ensure_log_key(session, settings)
    root = base64.b64encode(await root_at(session, size)).decode("ascii")
    timestamp = int(time.time() * 1000)
    private = keymod.decrypt_private_key(key.private_key_enc, settings.secret_key, key.kid)
    signature = base64.b64encode(private.sign(merkle.checkpoint_message(size, root, timestamp))).decode()
    ins: Any = pg_insert(_CHECKPOINT) if is_postgres(session) else sqlite_insert(_CHECKPOINT)
    await conn.execute(
        ins.values(
            tree_size=size, root_hash=root, timestamp_ms=timestamp, signature=signature, key_id=key.kid
        ).on_conflict_do_nothing(index_elements=["tree_size"])
    )
    row = (
        await conn.execute(
            select(
                _CHECKPOINT.c.root_hash,
                _CHECKPOINT.c.timestamp_ms,
                _CHECKPOINT.c.signature,
                _CHECKPOINT.c.key_id,
            ).where(_CHECKPOINT.c.tree_size == size)
        )
    ).one()
    await session.commit()
    return Checkpoint(size, row[0], int(row[1]), row[2], row[3])


async def current_log_key(session: AsyncSession, settings: Settings) -> dict[str, Any]:
    """The public JWK of the active log key (created, and committed, on first use)."""
    key = await _active_log_key(session)
    if key is None:
        key = await ensure_log_key(session, settings)
        await session.commit()
    return log_public_jwk(key)
