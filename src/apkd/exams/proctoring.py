"""What a session's proctors do: admit candidates, pause, resume, extend, terminate or release an
attempt (each with a reason, recorded in ``proctor_action`` and the audit log), and the roster
they watch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import User
from apkd.accounts.security import Principal
from apkd.db import utcnow
from apkd.errors import NotFound, Unprocessable
from apkd.exams.access import expire_if_overdue, reload_attempt, session_for_staff
from apkd.exams.clocks import clock_of, deadline_now, iso, remaining, store_clock
from apkd.exams.models import Attempt, AttemptRelease, ProctorAction, Registration
from apkd.exams.saving import close_overdue, raise_closed
from apkd.exams.schemas import RosterEntry
from apkd.exams.states import CLOSED_STATUSES, OPEN_STATUSES, AttemptState, RegistrationState
from apkd.exams.timing import extend, pause, resume
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
    a = await attempt_for_proctor(db, attempt_id, principal, now)
    if a.status in CLOSED_STATUSES:
        raise_closed(a.status)
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
    a = await attempt_for_proctor(db, attempt_id, principal, now)
    if a.status in CLOSED_STATUSES:
        raise_closed(a.status)
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
    a = await attempt_for_proctor(db, attempt_id, principal, now)
    if a.status in CLOSED_STATUSES:
        raise_closed(a.status)
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
    a = await attempt_for_proctor(db, attempt_id, principal, now)
    if a.status in CLOSED_STATUSES:
        raise_closed(a.status)
    if a.bound_sid:
        # The login it was bound to is refused for good: an old tab still open cannot take it back.
        db.add(AttemptRelease(attempt_id=a.id or 0, sid=a.bound_sid, released_at=now))
    a.bound_sid = ""
    db.add(a)
    await record_action(db, principal, a.session_id, "release", attempt=a, reason=why, now=now)
    return a


async def roster(
    db: AsyncSession, exam_session_id: int, principal: Principal, *, now: datetime | None = None
) -> list[RosterEntry]:
    now = now or utcnow()
    exam = await session_for_staff(db, exam_session_id, principal)
    await close_overdue(db, now, session_id=exam.id)
    rows = (
        await db.exec(
            select(Registration, User, Attempt)
            .join(User, col(User.id) == col(Registration.user_id))
            .outerjoin(Attempt, col(Attempt.registration_id) == col(Registration.id))
            .where(Registration.session_id == exam_session_id)
            .order_by(col(User.full_name), col(Registration.id))
            .execution_options(populate_existing=True)
        )
    ).all()
    out = []
    for reg, user, a in rows:
        out.append(
            RosterEntry(
                registration_id=reg.id or 0,
                username=user.username,
                full_name=user.full_name,
                nip=user.nip,
                status=a.status if a is not None else reg.status,
                attempt_id=a.id if a is not None else None,
                remaining_seconds=remaining(a, now) if a is not None else None,
                deadline=iso(deadline_now(a, now)) if a is not None else None,
                last_saved_at=iso(a.last_saved_at) if a is not None and a.last_saved_at else None,
                current_position=a.current_position if a is not None else None,
                seat=reg.seat,
                waiting=a is None
                and reg.status == RegistrationState.REGISTERED
                and reg.arrived_at is not None,
                awaiting_device=a is not None and a.status in OPEN_STATUSES and a.bound_sid == "",
                idle_seconds=(
                    int((now - (a.last_saved_at or a.started_at)).total_seconds())
                    if a is not None and a.status == AttemptState.IN_PROGRESS
                    else None
                ),
            )
        )
    return out
