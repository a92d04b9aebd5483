"""Reading the audit trail: filtered, newest first; the chain check is apkd.audit.verify_chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.audit import AuditEvent
from apkd.errors import Unprocessable


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." (e.g. "credential.")
    since: datetime | None = None
    until: datetime | None = None  # exclusive


def _utc(dt: datetime | None) -> datetime | None:
    """A time from the query: one without an offset is read as UTC."""
    if dt is None or dt.tzinfo is not None:
        return dt
    return dt.replace(tzinfo=UTC)


def _where(f: AuditFilter) -> list[Any]:
    f = AuditFilter(actor=f.actor, action=f.action, since=_utc(f.since), until=_utc(f.until))
    if f.since is not None and f.until is not None and f.until <= f.since:
        raise Unprocessable("Tanggal akhir harus setelah tanggal awal.", code="invalid_window")
    out: list[Any] = []
    if f.actor:
        out.append(AuditEvent.actor == f.actor.strip().lower())
    if f.action:
        a = f.action.strip()
        out.append(col(AuditEvent.action).startswith(a) if a.endswith(".") else AuditEvent.action == a)
    if f.since is not None:
        out.append(col(AuditEvent.at) >= f.since)
    if f.until is not None:
        out.append(col(AuditEvent.at) < f.until)
    return out


def details_of(ev: AuditEvent) -> Any:
    try:
        return json.loads(ev.details)
    except ValueError:
        return ev.details


async def events(
    session: AsyncSession, f: AuditFilter, *, page: int, per_page: int
) -> tuple[int, list[AuditEvent], list[str]]:
    where = _where(f)
    total = (await session.exec(select(func.count()).select_from(AuditEvent).where(*where))).one()
    rows = (
        await session.exec(
            select(AuditEvent)
            .where(*where)
            .order_by(col(AuditEvent.seq).desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    ).all()
    actions = (
        await session.exec(select(AuditEvent.action).distinct().order_by(col(AuditEvent.action)))
    ).all()
    return int(total), list(rows), list(actions)


async def head(session: AsyncSession) -> AuditEvent | None:
    return (await session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1))).first()
