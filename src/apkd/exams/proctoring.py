"""What a session's proctors do: admit candidates, pause, resume, extend, terminate or release an
attempt (each with a reason, recorded in ``proctor_action`` and the audit log), and the roster
they watch."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Engine, Integer, String, column, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.security import Principal
from apkd.db import direct_pool, utcnow
from apkd.dbtypes import UTCDateTime
from apkd.errors import Forbidden, NotFound, Unprocessable
from apkd.exams.access import expire_if_overdue, reload_attempt, session_for_staff
from apkd.exams.clocks import clock_of, deadline_at, iso, remaining_at, store_clock
from apkd.exams.conflicts import refuse_if_conflicted
from apkd.exams.models import Attempt, AttemptRelease, ProctorAction, Registration
from apkd.exams.saving import GRACE, MAX_ID, close_overdue, numbered, raise_closed
from apkd.exams.schemas import RosterEntry
from apkd.exams.states import CLOSED_STATUSES, OPEN_STATUSES, AttemptState, RegistrationState
from apkd.exams.timing import Clock, extend, pause, resume
from apkd.textrules import clean_reason, optional_note

MAX_EXTEND_MINUTES = 600


async def record_action(
    db: AsyncSession,
    principal: Principal,
    exam_session_id: int,
    action: str,
    *,
    attempt: Attempt | None = None,
    registration_id: int | None = None,
    reason: str | None = None,
    minutes: int | None = None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> ProctorAction:
    """Record a proctor action in proctor_action and in the audit log (same transaction)."""
    row = ProctorAction(
        session_id=exam_session_id,
        attempt_id=attempt.id if attempt else None,
        registration_id=registration_id
        if registration_id is not None
        else (attempt.registration_id if attempt else None),
        action=action,
        reason=reason,
        minutes=minutes,
        item_position=attempt.current_position if attempt else None,
        actor_id=principal.user_id,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    subject_type, subject_id = ("attempt", attempt.id) if attempt else ("registration", registration_id)
    await audit.record(
        db,
        f"proctor.{action}",
        subject_type,
        subject_id or 0,
        actor=principal.username,
        details={
            "session_id": exam_session_id,
            "attempt_id": row.attempt_id,
            "registration_id": row.registration_id,
            "item_position": row.item_position,
            "reason": reason,
            "minutes": minutes,
            **(details or {}),
        },
    )
    return row


async def open_attempt_for_proctor(
    db: AsyncSession, attempt_id: int, principal: Principal, now: datetime
) -> Attempt:
    """The attempt a proctor acts on, still open (409 ``attempt_closed`` otherwise)."""
    a = await attempt_for_proctor(db, attempt_id, principal, now)
    if a.status in CLOSED_STATUSES:
        raise_closed(a.status)
    return a


async def admit(
    db: AsyncSession,
    registration_id: int,
    principal: Principal,
    *,
    note: str | None = None,
    seat: str | None = None,
    now: datetime | None = None,
) -> Registration:
    """The proctor checked the candidate's identity: admit them (idempotent), at a seat or
    computer number when given. ``note`` is optional (the reason recorded defaults to
    "identitas diperiksa")."""
    now = now or utcnow()
    why = optional_note(note, default="identitas diperiksa")
    reg = (
        await db.exec(select(Registration).where(Registration.id == registration_id).with_for_update())
    ).first()
    if reg is None:
        raise NotFound("Pendaftaran tidak ditemukan.", code="registration_not_found")
    await session_for_staff(db, reg.session_id, principal)
    await refuse_if_conflicted(db, registration_id, principal)
    seat = (seat or "").strip() or None
    if seat is not None and len(seat) > 16:
        raise Unprocessable("Nomor kursi/komputer paling panjang 16 karakter.", code="invalid_seat")
    if seat is not None:
        reg.seat = seat
        db.add(reg)
    if reg.status == RegistrationState.ADMITTED:
        return reg
    reg.status, reg.admitted_at, reg.admitted_by = RegistrationState.ADMITTED, now, principal.user_id
    db.add(reg)
    await db.flush()
    await record_action(
        db,
        principal,
        reg.session_id,
        "admit",
        registration_id=reg.id,
        reason=why,
        now=now,
    )
    return reg


async def attempt_for_proctor(
    db: AsyncSession, attempt_id: int, principal: Principal, now: datetime
) -> Attempt:
    a = await reload_attempt(db, attempt_id, lock=True)
    if a is None:
        raise NotFound("Ujian tidak ditemukan.", code="attempt_not_found")
    await session_for_staff(db, a.session_id, principal)
    await refuse_if_conflicted(db, a.registration_id, principal)
    return await expire_if_overdue(db, a, now, lock=True)


async def _set_running(
    db: AsyncSession,
    attempt_id: int,
    principal: Principal,
    reason: str,
    now: datetime | None,
    *,
    running: bool,
) -> Attempt:
    """Pause (running=False) or resume (running=True); repeating either records nothing."""
    now = now or utcnow()
    why = clean_reason(reason)
    a = await open_attempt_for_proctor(db, attempt_id, principal, now)
    target = AttemptState.IN_PROGRESS if running else AttemptState.PAUSED
    if a.status == target:
        return a
    store_clock(a, (resume if running else pause)(clock_of(a), now))
    a.status = target
    db.add(a)
    await record_action(
        db, principal, a.session_id, "resume" if running else "pause", attempt=a, reason=why, now=now
    )
    return a


async def pause_attempt(
    db: AsyncSession, attempt_id: int, principal: Principal, reason: str, *, now: datetime | None = None
) -> Attempt:
    return await _set_running(db, attempt_id, principal, reason, now, running=False)


async def resume_attempt(
    db: AsyncSession, attempt_id: int, principal: Principal, reason: str, *, now: datetime | None = None
) -> Attempt:
    return await _set_running(db, attempt_id, principal, reason, now, running=True)


async def extend_attempt(
    db: AsyncSession,
    attempt_id: int,
    principal: Principal,
    minutes: int,
    reason: str,
    *,
    now: datetime | None = None,
) -> Attempt:
    now = now or utcnow()
    why = clean_reason(reason)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_EXTEND_MINUTES:
        raise Unprocessable(
            f"Tambahan waktu harus 1 sampai {MAX_EXTEND_MINUTES} menit.", code="invalid_minutes"
        )
    a = await open_attempt_for_proctor(db, attempt_id, principal, now)
    store_clock(a, extend(clock_of(a), minutes))
    db.add(a)
    await record_action(
        db, principal, a.session_id, "extend", attempt=a, reason=why, minutes=minutes, now=now
    )
    return a


async def terminate_attempt(
    db: AsyncSession, attempt_id: int, principal: Principal, reason: str, *, now: datetime | None = None
) -> Attempt:
    now = now or utcnow()
    why = clean_reason(reason)
    a = await open_attempt_for_proctor(db, attempt_id, principal, now)
    if a.status == AttemptState.PAUSED:
        store_clock(a, resume(clock_of(a), now))
    a.status, a.closed_at, a.close_reason = AttemptState.TERMINATED, now, why
    db.add(a)
    await record_action(db, principal, a.session_id, "terminate", attempt=a, reason=why, now=now)
    return a


async def release_attempt(
    db: AsyncSession, attempt_id: int, principal: Principal, reason: str, *, now: datetime | None = None
) -> Attempt:
    """Free the attempt from its login: the next login of its candidate to call holds it."""
    now = now or utcnow()
    why = clean_reason(reason)
    a = await open_attempt_for_proctor(db, attempt_id, principal, now)
    if a.bound_sid:
        # The login it was bound to is refused for good: an old tab still open cannot take it back.
        db.add(AttemptRelease(attempt_id=a.id or 0, sid=a.bound_sid, released_at=now))
    a.bound_sid = ""
    db.add(a)
    await record_action(db, principal, a.session_id, "release", attempt=a, reason=why, now=now)
    return a


# One round trip: the session (no row: 404), whether the caller may read it, and every
# registration with the columns of its attempt that a roster shows (never the form).
_ROSTER_SQL = """
SELECT e.id AS session_id,
       (CAST(:role AS varchar) = 'admin' OR (CAST(:role AS varchar) = 'proctor' AND EXISTS (
          SELECT 1 FROM session_proctor p WHERE p.session_id = e.id AND p.user_id = CAST(:uid AS integer)
       ))) AS allowed,
       r.id AS registration_id, u.username, u.full_name, u.nip, r.status AS registration_status,
       r.seat, r.arrived_at,
       a.id AS attempt_id, a.status, a.started_at, a.duration_seconds, a.extension_seconds,
       a.paused_seconds, a.paused_at, a.deadline, a.last_saved_at, a.current_position, a.bound_sid
  FROM exam_session e
  LEFT JOIN registration r ON r.session_id = e.id
  LEFT JOIN app_user u ON u.id = r.user_id
  LEFT JOIN attempt a ON a.registration_id = r.id
 WHERE e.id = CAST(:sid AS integer)
 ORDER BY u.full_name, r.id
"""
_ROSTER = text(_ROSTER_SQL).columns(
    column("session_id", Integer()),
    column("allowed", Boolean()),
    column("registration_id", Integer()),
    column("username", String()),
    column("full_name", String()),
    column("nip", String()),
    column("registration_status", String()),
    column("seat", String()),
    column("arrived_at", UTCDateTime()),
    column("attempt_id", Integer()),
    column("status", String()),
    column("started_at", UTCDateTime()),
    column("duration_seconds", Integer()),
    column("extension_seconds", Integer()),
    column("paused_seconds", Integer()),
    column("paused_at", UTCDateTime()),
    column("deadline", UTCDateTime()),
    column("last_saved_at", UTCDateTime()),
    column("current_position", Integer()),
    column("bound_sid", String()),
)
_ROSTER_PG, _ROSTER_PG_ARGS = numbered(_ROSTER_SQL)


async def _roster_rows(
    db: AsyncSession, exam_session_id: int, principal: Principal
) -> list[Mapping[str, Any]]:
    params = {"sid": exam_session_id, "role": str(principal.role), "uid": principal.user_id}
    bind = db.get_bind()
    if bind.dialect.name == "postgresql" and isinstance(bind, Engine):
        pool = await direct_pool(bind)
        return list(await pool.fetch(_ROSTER_PG, *(params[n] for n in _ROSTER_PG_ARGS)))
    conn = await db.connection()
    return [dict(row._mapping) for row in (await conn.execute(_ROSTER, params)).all()]


def _roster_entry(row: Mapping[str, Any], now: datetime) -> RosterEntry:
    person = {
        "registration_id": row["registration_id"],
        "username": row["username"],
        "full_name": row["full_name"],
        "nip": row["nip"],
        "seat": row["seat"],
    }
    if row["attempt_id"] is None:
        return RosterEntry(
            **person,
            status=row["registration_status"],
            attempt_id=None,
            remaining_seconds=None,
            deadline=None,
            last_saved_at=None,
            current_position=None,
            waiting=row["registration_status"] == RegistrationState.REGISTERED
            and row["arrived_at"] is not None,
        )
    clock = Clock(
        started_at=row["started_at"],
        duration_seconds=row["duration_seconds"],
        extension_seconds=row["extension_seconds"],
        paused_seconds=row["paused_seconds"],
        paused_at=row["paused_at"],
    )
    status = row["status"]
    last_saved_at = row["last_saved_at"]
    return RosterEntry(
        **person,
        status=status,
        attempt_id=row["attempt_id"],
        remaining_seconds=remaining_at(status, clock, now),
        deadline=iso(deadline_at(status, clock, row["deadline"], now)),
        last_saved_at=iso(last_saved_at) if last_saved_at else None,
        current_position=row["current_position"],
        awaiting_device=status in OPEN_STATUSES and row["bound_sid"] == "",
        idle_seconds=(
            int((now - (last_saved_at or row["started_at"])).total_seconds())
            if status == AttemptState.IN_PROGRESS
            else None
        ),
    )


async def roster(
    db: AsyncSession, exam_session_id: int, principal: Principal, *, now: datetime | None = None
) -> list[RosterEntry]:
    """Every registration of the session with its attempt's state, by name (admins and the
    session's proctors).

    Every proctor polls it every few seconds (600 rooms: 120 reads/s), so it is one narrow
    query (on PostgreSQL on the direct pool, outside any transaction); only when it shows an
    attempt still in progress past its deadline + grace are overdue attempts closed (audited,
    as the sweeper does) and the roster read again.
    """
    now = now or utcnow()
    if not 0 < exam_session_id <= MAX_ID:
        raise NotFound("Sesi ujian tidak ditemukan.", code="session_not_found")
    rows = await _roster_rows(db, exam_session_id, principal)
    if not rows:
        raise NotFound("Sesi ujian tidak ditemukan.", code="session_not_found")
    if not rows[0]["allowed"]:
        raise Forbidden("Anda bukan pengawas sesi ujian ini.", code="not_your_session")
    if any(r["status"] == AttemptState.IN_PROGRESS and r["deadline"] < now - GRACE for r in rows):
        await close_overdue(db, now, session_id=exam_session_id)
        rows = await _roster_rows(db, exam_session_id, principal)
    return [_roster_entry(row, now) for row in rows if row["registration_id"] is not None]
