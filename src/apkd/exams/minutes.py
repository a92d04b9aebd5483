"""Incidents and the session's minutes (berita acara): counts, incidents, proctor actions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import User
from apkd.accounts.security import Principal
from apkd.db import utcnow
from apkd.errors import Unprocessable
from apkd.exams import minute_notes
from apkd.exams.access import session_for_staff
from apkd.exams.clocks import local_iso, local_text
from apkd.exams.conflicts import session_conflicts
from apkd.exams.models import Attempt, ExamSession, Incident, ProctorAction, Registration
from apkd.exams.saving import close_overdue
from apkd.exams.schemas import IncidentPublic, Minutes, MinutesCounts, ProctorActionPublic
from apkd.exams.sessions import session_public
from apkd.exams.states import AttemptState, RegistrationState

INCIDENT_CATEGORIES = ("environment", "candidate", "staff", "technical")
MAX_DESCRIPTION = 5000


async def report_incident(
    db: AsyncSession,
    exam_session_id: int,
    principal: Principal,
    *,
    category: str,
    description: str,
    attempt_id: int | None = None,
    now: datetime | None = None,
) -> Incident:
    now = now or utcnow()
    await session_for_staff(db, exam_session_id, principal)
    if category not in INCIDENT_CATEGORIES:
        raise Unprocessable(
            f"Kategori kejadian harus salah satu dari: {', '.join(INCIDENT_CATEGORIES)}.",
            code="invalid_category",
        )
    # A description, not a reason: it may run over several lines, which are kept.
    text = (description or "").strip()
    if not text:
        raise Unprocessable("Uraian kejadian wajib diisi.", code="description_required")
    if len(text) > MAX_DESCRIPTION:
        raise Unprocessable(
            f"Uraian kejadian paling panjang {MAX_DESCRIPTION} karakter.", code="description_too_long"
        )
    position = None
    if attempt_id is not None:
        a = await db.get(Attempt, attempt_id)
        if a is None or a.session_id != exam_session_id:
            raise Unprocessable("Ujian yang disebut tidak ada pada sesi ini.", code="unknown_attempt")
        position = a.current_position
    inc = Incident(
        session_id=exam_session_id,
        attempt_id=attempt_id,
        category=category,
        description=text,
        item_position=position,
        reported_by=principal.user_id,
        created_at=now,
    )
    db.add(inc)
    await db.flush()
    await audit.record(
        db,
        "incident.reported",
        "exam_session",
        exam_session_id,
        actor=principal.username,
        details={
            "incident_id": inc.id,
            "attempt_id": attempt_id,
            "category": category,
            "item_position": position,
            "description": text,
        },
    )
    return inc


def incident_public(inc: Incident, tz: str, username: str | None, reporter: str) -> IncidentPublic:
    return IncidentPublic(
        id=inc.id or 0,
        session_id=inc.session_id,
        attempt_id=inc.attempt_id,
        username=username,
        category=inc.category,
        description=inc.description,
        item_position=inc.item_position,
        reported_by=reporter,
        created_at=local_iso(inc.created_at, tz),
        created_at_text=local_text(inc.created_at, tz),
    )


async def _usernames(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = (await db.exec(select(User.id, User.username).where(col(User.id).in_(ids)))).all()
    return {int(i or 0): str(u) for i, u in rows}


async def incident_view(db: AsyncSession, inc: Incident) -> IncidentPublic:
    exam = await db.get(ExamSession, inc.session_id)
    assert exam is not None
    cand = None
    if inc.attempt_id is not None:
        a = await db.get(Attempt, inc.attempt_id)
        cand = (await _usernames(db, {a.user_id})).get(a.user_id) if a else None
    reporter = (await _usernames(db, {inc.reported_by})).get(inc.reported_by, "")
    return incident_public(inc, exam.timezone, cand, reporter)


async def session_minutes(
    db: AsyncSession, exam_session_id: int, principal: Principal, *, now: datetime | None = None
) -> Minutes:
    """The session's minutes (berita acara): counts, incidents, proctor actions."""
    now = now or utcnow()
    exam = await session_for_staff(db, exam_session_id, principal)
    await close_overdue(db, now, session_id=exam.id)
    tz = exam.timezone
    regs = (await db.exec(select(Registration).where(Registration.session_id == exam_session_id))).all()
    attempts = (
        await db.exec(
            select(Attempt)
            .where(Attempt.session_id == exam_session_id)
            .execution_options(populate_existing=True)
        )
    ).all()
    by_status: dict[str, int] = {}
    for a in attempts:
        by_status[a.status] = by_status.get(a.status, 0) + 1
    counts = MinutesCounts(
        registered=len(regs),
        admitted=sum(1 for r in regs if r.status == RegistrationState.ADMITTED),
        started=len(attempts),
        in_progress=by_status.get(AttemptState.IN_PROGRESS, 0),
        paused=by_status.get(AttemptState.PAUSED, 0),
        submitted=by_status.get(AttemptState.SUBMITTED, 0),
        expired=by_status.get(AttemptState.EXPIRED, 0),
        terminated=by_status.get(AttemptState.TERMINATED, 0),
        absent=len(regs) - len(attempts),
    )
    attempt_user = {a.id: a.user_id for a in attempts}
    reg_user = {r.id: r.user_id for r in regs}
    incidents = (
        await db.exec(
            select(Incident).where(Incident.session_id == exam_session_id).order_by(col(Incident.created_at))
        )
    ).all()
    actions = (
        await db.exec(
            select(ProctorAction)
            .where(ProctorAction.session_id == exam_session_id)
            .order_by(col(ProctorAction.created_at), col(ProctorAction.id))
        )
    ).all()
    ids = set(attempt_user.values()) | set(reg_user.values())
    ids |= {i.reported_by for i in incidents} | {p.actor_id for p in actions}
    names = await _usernames(db, ids)

    def candidate(attempt_id: int | None, registration_id: int | None) -> str | None:
        uid = attempt_user.get(attempt_id) if attempt_id is not None else None
        if uid is None and registration_id is not None:
            uid = reg_user.get(registration_id)
        return names.get(uid) if uid is not None else None

    session = await session_public(db, exam)
    notes = minute_notes.current()
    return Minutes(
        session=session,
        counts=counts,
        incidents=[
            incident_public(i, tz, candidate(i.attempt_id, None), names.get(i.reported_by, ""))
            for i in incidents
        ],
        proctor_actions=[
            ProctorActionPublic(
                id=p.id or 0,
                action=p.action,
                attempt_id=p.attempt_id,
                registration_id=p.registration_id,
                username=candidate(p.attempt_id, p.registration_id),
                reason=p.reason,
                minutes=p.minutes,
                item_position=p.item_position,
                actor=names.get(p.actor_id, ""),
                created_at=local_iso(p.created_at, tz),
                created_at_text=local_text(p.created_at, tz),
            )
            for p in actions
        ],
        generated_at=local_iso(now, tz),
        generated_at_text=local_text(now, tz),
        conflicts=await session_conflicts(db, exam),
        decided_by=(await _usernames(db, {exam.decided_by})).get(exam.decided_by)
        if exam.decided_by
        else None,
        decided_at=local_iso(exam.decided_at, tz) if exam.decided_at else None,
        site_notes=await notes(db, exam_session_id, tz) if notes is not None else [],
    )
