"""Who may act on what: the session's staff, and the candidate holding an attempt.

An admin sees every session; a proctor only the sessions they are assigned to; a candidate
only their own attempts, and only from the login that holds the attempt while it is open (a
released attempt is taken by the next login of its candidate to call). Every access closes
an overdue attempt first.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import Role
from apkd.accounts.security import Principal
from apkd.db import utcnow
from apkd.errors import Forbidden, NotFound
from apkd.exams.models import Attempt, ExamSession, Incident, ProctorAction, Registration, SessionProctor
from apkd.exams.saving import GRACE, bind_login, close_overdue, raise_not_bound
from apkd.exams.states import OPEN_STATUSES, AttemptState


async def is_proctor_of(db: AsyncSession, exam_session_id: int, user_id: int) -> bool:
    row = (
        await db.exec(
            select(SessionProctor).where(
                SessionProctor.session_id == exam_session_id, SessionProctor.user_id == user_id
            )
        )
    ).first()
    return row is not None


async def involvement(db: AsyncSession, exam_session_id: int, user_id: int) -> str | None:
    """How ``user_id`` took part in examining the session (listed as its proctor, admitted a
    candidate, took a proctor action, reported an incident), in words; None when not at all.

    ISO/IEC 17024: the certification decision and an appeal's review are taken by someone not
    involved in the examination. An admin acting for a proctor is involved too."""
    if await is_proctor_of(db, exam_session_id, user_id):
        return "pengawas sesi ini"
    checks = (
        (
            select(Registration.id).where(
                Registration.session_id == exam_session_id, Registration.admitted_by == user_id
            ),
            "mengizinkan peserta masuk pada sesi ini",
        ),
        (
            select(ProctorAction.id).where(
                ProctorAction.session_id == exam_session_id, ProctorAction.actor_id == user_id
            ),
            "melakukan tindakan pengawas pada sesi ini",
        ),
        (
            select(Incident.id).where(
                Incident.session_id == exam_session_id, Incident.reported_by == user_id
            ),
            "mencatat kejadian pada sesi ini",
        ),
    )
    for stmt, words in checks:
        if (await db.exec(stmt.limit(1))).first() is not None:
            return words
    return None


async def session_for_staff(db: AsyncSession, exam_session_id: int, principal: Principal) -> ExamSession:
    """The exam session, if the caller is an admin or one of its proctors."""
    exam = await db.get(ExamSession, exam_session_id)
    if exam is None:
        raise NotFound("Sesi ujian tidak ditemukan.", code="session_not_found")
    if principal.role == Role.ADMIN:
        return exam  # admins may act for a proctor (it is recorded under their name)
    if principal.role == Role.PROCTOR and await is_proctor_of(db, exam_session_id, principal.user_id):
        return exam
    raise Forbidden("Anda bukan pengawas sesi ujian ini.", code="not_your_session")


async def reload_attempt(db: AsyncSession, attempt_id: int, *, lock: bool = False) -> Attempt | None:
    stmt = select(Attempt).where(Attempt.id == attempt_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return (await db.exec(stmt)).first()


async def expire_if_overdue(db: AsyncSession, a: Attempt, now: datetime, *, lock: bool = False) -> Attempt:
    """Close on access: an attempt past deadline + grace becomes ``expired``."""
    if a.status == AttemptState.IN_PROGRESS and a.deadline < now - GRACE:
        await close_overdue(db, now, attempt_id=a.id)
        found = await reload_attempt(db, a.id or 0, lock=lock)
        assert found is not None
        return found
    return a


async def candidate_access(db: AsyncSession, a: Attempt, principal: Principal, now: datetime) -> Attempt:
    """A candidate's call on their attempt: close it if overdue; check (or take) the binding."""
    if a.user_id != principal.user_id:
        raise Forbidden("Ujian ini bukan milik Anda.", code="not_your_attempt")
    a = await expire_if_overdue(db, a, now)
    if a.status in OPEN_STATUSES and a.bound_sid != principal.sid:
        if a.bound_sid == "" and await bind_login(db, a.id or 0, a.session_id, principal):
            found = await reload_attempt(db, a.id or 0)
            assert found is not None
            return found
        await raise_not_bound(db, a.id or 0, principal)
    return a


async def get_attempt_for(
    db: AsyncSession, attempt_id: int, principal: Principal, *, now: datetime | None = None
) -> Attempt:
    """The attempt, if the caller may see it: its candidate (holding the login), the session's
    proctors, an admin."""
    now = now or utcnow()
    a = await db.get(Attempt, attempt_id)
    if a is None:
        raise NotFound("Ujian tidak ditemukan.", code="attempt_not_found")
    if principal.role == Role.CANDIDATE:
        return await candidate_access(db, a, principal, now)
    await session_for_staff(db, a.session_id, principal)
    return await expire_if_overdue(db, a, now)
