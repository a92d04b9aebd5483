"""Append-only, hash-chained audit events.

Each event carries the hash of the one before it: ``hash = SHA-256(prev_hash || canonical
JSON of the event)``, with ``seq`` counting from 1 without gaps. Altering a row breaks its own
hash; deleting one breaks the sequence or the next row's ``prev_hash``. Appends are serialized
in the database (:func:`apkd.db.serialize`) so concurrent workers never fork the chain.
Append late in a transaction: the lock is held until commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.db import serialize
from apkd.dbtypes import UTCDateTime, utcnow

GENESIS = "0" * 64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=64, index=True)
    subject_type: str = Field(max_length=32)
    subject_id: str = Field(max_length=64)
    details: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str | None,
    action: str,
    subject_type: str,
    subject_id: str,
    details: str,
) -> str:
    body = canonical(
        {
            "seq": seq,
            "at": at.isoformat(),
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "details": details,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


async def record(
    session: AsyncSession,
    action: str,
    subject_type: str,
    subject_id: str | int,
    *,
    actor: str | None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain (in the caller's transaction; the caller commits)."""
    await serialize(session, "audit_chain")
    last_event = (
        await session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1))
    ).first()
    seq = 1 if last_event is None else last_event.seq + 1
    prev = GENESIS if last_event is None else last_event.hash
    at = utcnow()
    details_text = canonical(details or {})
    ev = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        details=details_text,
        prev_hash=prev,
        hash=event_hash(prev, seq, at, actor, action, subject_type, str(subject_id), details_text),
    )
    session.add(ev)
    await session.flush()
    return ev


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"Rantai audit utuh: {self.checked} peristiwa diperiksa."
        return f"Rantai audit RUSAK pada peristiwa #{self.broken_at}: {self.reason}"


async def verify_chain(session: AsyncSession, batch: int = 5000) -> ChainReport:
    """Walk the chain in order and report the first broken link."""
    prev = GENESIS
    expected = 1
    checked = 0
    while True:
        rows = (
            await session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.seq) >= expected)
                .order_by(col(AuditEvent.seq))
                .limit(batch)
            )
        ).all()
        if not rows:
            return ChainReport(ok=True, checked=checked)
        for ev in rows:
            if ev.seq != expected:
                return ChainReport(
                    False, checked, expected, f"peristiwa #{expected} hilang (berikutnya #{ev.seq})"
                )
            if ev.prev_hash != prev:
                return ChainReport(
                    False, checked, ev.seq, "prev_hash tidak cocok dengan hash peristiwa sebelumnya"
                )
            recomputed = event_hash(
                prev, ev.seq, ev.at, ev.actor, ev.action, ev.subject_type, ev.subject_id, ev.details
            )
            if recomputed != ev.hash:
                return ChainReport(False, checked, ev.seq, "isi peristiwa diubah (hash tidak cocok)")
            prev = ev.hash
            expected += 1
            checked += 1
