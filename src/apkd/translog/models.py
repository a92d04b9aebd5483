from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, LargeBinary
from sqlmodel import Field, SQLModel

from apkd.dbtypes import UTCDateTime, utcnow


class LogHead(SQLModel, table=True):
    """One row: the tree size. Appenders lock it, so several workers never fork the tree."""

    __tablename__ = "log_head"

    id: int = Field(default=1, primary_key=True)
    tree_size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class LogEntry(SQLModel, table=True):
    """One leaf: ``entry`` holds the exact leaf bytes (canonical JSON of the event).

    ``number`` repeats the event's credential number (if any) so that lookups by number are an
    index scan; it is a convenience copy, never trusted by auditors (they check inclusion proofs
    of the leaf bytes themselves).
    """

    __tablename__ = "log_entry"

    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    entry: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    number: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LogNode(SQLModel, table=True):
    """Hash of a complete aligned subtree: leaves [idx * 2**level, (idx + 1) * 2**level)."""

    __tablename__ = "log_node"

    level: int = Field(primary_key=True)
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogCheckpoint(SQLModel, table=True):
    """A signed checkpoint, one per tree size: re-served unchanged while the size is unchanged."""

    __tablename__ = "log_checkpoint"

    tree_size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root_hash: str = Field(max_length=64)
    timestamp_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    signature: str = Field(max_length=128)
    key_id: str = Field(max_length=64)


class LogCosignature(SQLModel, table=True):
    """A witness's cosignature (C2SP tlog-cosignature) of the checkpoint of one tree size, as the
    witness handed it in and the server verified it against ``APKD_LOG_WITNESSES``. Served with
    the checkpoint note of that size; a later cosignature of the same witness replaces it."""

    __tablename__ = "log_cosignature"

    tree_size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    witness: str = Field(primary_key=True, max_length=255)
    key_id: str = Field(max_length=8)
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    line: str = Field(max_length=512)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
