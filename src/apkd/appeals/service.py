"""Appeals (banding): a candidate appeals a published result, as a whole or named items,
within the scheme's period (``Scheme.appeal_days``, default 14 days from publication). An admin
assigns a reviewer who holds the decision permission and was not involved in the session (not
its proctor, not who acted as one, not who decided it). The reviewer upholds it (a key
correction of the named items with its regrade and credential follow-up, a regrade, or a free
re-sit) or rejects it with reasons. Every step is audited; the body has
``settings.appeal_review_days`` to decide."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from msgspec import UNSET
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import Role, User
from apkd.accounts.security import Principal
from apkd.accounts.service import holds_decision_permission
from apkd.appeals.models import Appeal, AppealItem
from apkd.appeals.schemas import AppealCreate, AppealDecision, AppealItemPublic, AppealPublic
from apkd.appeals.states import OPEN_STATES, CaseState, Remedy, label
from apkd.banks.models import Scheme
from apkd.config import Settings
from apkd.db import utcnow
from apkd.errors import Conflict, Forbidden, NotFound, Unprocessable
from apkd.exams.access import involvement
from apkd.exams.clocks import local_iso, local_text
from apkd.exams.models import Attempt, ExamSession, ResitGrant
from apkd.grading import corrections
from apkd.grading.models import Result
from apkd.textrules import clean_reason

REMEDY_TEXT = {
    Remedy.KEY_CORRECTION: "kunci jawaban soal yang dibanding dikoreksi dan hasil dinilai ulang",
    Remedy.REGRADE: "hasil dinilai ulang",
    Remedy.RESIT: "peserta mendapat ujian ulang tanpa masa tunggu",
}


async def _appeal_or_404(db: AsyncSession, appeal_id: int, *, lock: bool = False) -> Appeal:
    stmt = select(Appeal).where(Appeal.id == appeal_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    appeal = (await db.exec(stmt)).first()
    if appeal is None:
        raise NotFound("Banding tidak ditemukan.", code="appeal_not_found")
    return appeal


async def lodge(
    db: AsyncSession,
    attempt_id: int,
    data: AppealCreate,
    principal: Principal,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> AppealPublic:
    """The candidate appeals the published result of their attempt."""
    now = now or utcnow()
    attempt = await db.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound("Ujian tidak ditemukan.", code="attempt_not_found")
    if attempt.user_id != principal.user_id:
        raise Forbidden(
            "Anda hanya dapat mengajukan banding atas ujian Anda sendiri.", code="not_your_attempt"
        )
    exam = await db.get(ExamSession, attempt.session_id)
    assert exam is not None
    result = (await db.exec(select(Result).where(Result.attempt_id == attempt_id))).first()
    if exam.results_published_at is None or result is None:
        raise Conflict("Banding dapat diajukan setelah hasil ujian diumumkan.", code="result_not_published")
    scheme = await db.get(Scheme, exam.scheme_id)
    assert scheme is not None
    deadline = exam.results_published_at + timedelta(days=scheme.appeal_days)
    tz = exam.timezone
    if now > deadline:
        raise Conflict(
            f"Masa banding sudah berakhir pada {local_text(deadline, tz)} "
            f"({scheme.appeal_days} hari sejak hasil diumumkan).",
            code="appeal_period_over",
            extra={"appeal_deadline": local_iso(deadline, tz)},
        )
    reason = clean_reason(data.reason, label="Alasan banding")
    by_position = {int(i["position"]): int(i["item_version_id"]) for i in attempt.form.get("items", [])}
    positions = sorted(set(data.positions))
    bad = [p for p in positions if p not in by_position]
    if bad:
        raise Unprocessable(
            f"Nomor soal {', '.join(map(str, bad))} tidak ada pada ujian ini (1 sampai {len(by_position)}).",
            code="invalid_positions",
        )
    appeal = Appeal(
        attempt_id=attempt_id,
        result_id=result.id or 0,
        session_id=exam.id or 0,
        user_id=principal.user_id,
        scope="items" if positions else "result",
        reason=reason,
        state=CaseState.DIAJUKAN,
        submitted_at=now,
        appeal_deadline=deadline,
        review_due_at=now + timedelta(days=settings.appeal_review_days),
    )
    try:
        async with db.begin_nested():
            db.add(appeal)
    except IntegrityError as exc:
        raise Conflict("Banding atas ujian ini sudah diajukan.", code="appeal_exists") from exc
    assert appeal.id is not None
    db.add_all(
        [AppealItem(appeal_id=appeal.id, position=p, item_version_id=by_position[p]) for p in positions]
    )
    await db.flush()
    await audit.record(
        db,
        "appeal.lodged",
        "appeal",
        appeal.id,
        actor=principal.username,
        details={"attempt_id": attempt_id, "session_id": exam.id, "positions": positions},
    )
    return await view(db, appeal)


async def reviewer_problem(db: AsyncSession, appeal: Appeal, user: User) -> str | None:
    """Why ``user`` may not review this appeal (in words), or None."""
    assert user.id is not None
    if user.id == appeal.user_id:
        return "pemohon banding tidak dapat memeriksa bandingnya sendiri"
    if not await holds_decision_permission(db, user.id):
        return f"'{user.username}' tidak memiliki wewenang keputusan sertifikasi"
    how = await involvement(db, appeal.session_id, user.id)
    if how is not None:
        return f"'{user.username}' terlibat dalam sesi ini ({how})"
    exam = await db.get(ExamSession, appeal.session_id)
    if exam is not None and exam.decided_by == user.id:
        return f"'{user.username}' mengambil keputusan sertifikasi yang dibanding"
    return None


async def assign(
    db: AsyncSession, appeal_id: int, reviewer: str, principal: Principal, *, now: datetime | None = None
) -> AppealPublic:
    """An admin assigns the reviewer (state diperiksa); reassigning an appeal under review is allowed."""
    now = now or utcnow()
    appeal = await _appeal_or_404(db, appeal_id, lock=True)
    if appeal.state not in OPEN_STATES:
        raise Conflict("Banding ini sudah diputuskan.", code="appeal_decided")
    name = reviewer.strip().lower()
    user = (await db.exec(select(User).where(User.username == name))).first()
    if user is None:
        raise Unprocessable(f"Pengguna '{name}' tidak ditemukan.", code="unknown_user")
    problem = await reviewer_problem(db, appeal, user)
    if problem is not None:
        raise Unprocessable(f"Pemeriksa tidak memenuhi syarat: {problem}.", code="reviewer_not_impartial")
    appeal.reviewer_id, appeal.assigned_by, appeal.assigned_at = user.id, principal.user_id, now
    appeal.state = CaseState.DIPERIKSA
    db.add(appeal)
    await db.flush()
    await audit.record(
        db,
        "appeal.assigned",
        "appeal",
        appeal_id,
        actor=principal.username,
        details={"reviewer": user.username},
    )
    return await view(db, appeal)


async def decide(
    db: AsyncSession,
    appeal_id: int,
    data: AppealDecision,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> AppealPublic:
    """The assigned reviewer upholds (with a remedy) or rejects (with reasons) the appeal."""
    now = now or utcnow()
    appeal = await _appeal_or_404(db, appeal_id, lock=True)
    if appeal.reviewer_id != principal.user_id:
        raise Forbidden("Hanya pemeriksa yang ditugaskan yang memutus banding ini.", code="not_the_reviewer")
    if appeal.state != CaseState.DIPERIKSA:
        raise Conflict("Banding ini sudah diputuskan.", code="appeal_decided")
    user = await db.get(User, principal.user_id)
    assert user is not None
    problem = await reviewer_problem(db, appeal, user)  # still impartial now?
    if problem is not None:
        raise Forbidden(f"Anda tidak dapat memutus banding ini: {problem}.", code="reviewer_not_impartial")
    reason = clean_reason(data.reason, label="Alasan keputusan")
    effects: dict[str, Any] = {}
    remedy: Remedy | None = None
    if data.upheld:
        try:
            remedy = Remedy((data.remedy or "").strip().lower())
        except ValueError as exc:
            raise Unprocessable(
                "Banding yang diterima perlu tindak lanjut: key_correction, regrade atau resit.",
                code="invalid_remedy",
            ) from exc
        effects = await _carry_out(db, appeal, remedy, data, reason, principal)
    elif data.remedy or data.corrections:
        raise Unprocessable("Banding yang ditolak tidak mempunyai tindak lanjut.", code="invalid_remedy")
    appeal.state = CaseState.DITERIMA if data.upheld else CaseState.DITOLAK
    appeal.decided_at, appeal.remedy, appeal.decision_reason = now, remedy, reason
    appeal.effects = effects
    db.add(appeal)
    await db.flush()
    await audit.record(
        db,
        "appeal.decided",
        "appeal",
        appeal_id,
        actor=principal.username,
        details={"state": appeal.state, "remedy": remedy, "reason": reason, "effects": effects},
    )
    return await view(db, appeal)


async def _carry_out(
    db: AsyncSession, appeal: Appeal, remedy: Remedy, data: AppealDecision, reason: str, principal: Principal
) -> dict[str, Any]:
    why = f"Banding #{appeal.id} diterima: {reason}"
    if remedy == Remedy.KEY_CORRECTION:
        items = {
            i.position: i.item_version_id
            for i in (await db.exec(select(AppealItem).where(AppealItem.appeal_id == appeal.id))).all()
        }
        if not items:
            raise Unprocessable(
                "Koreksi kunci hanya untuk banding atas soal tertentu.", code="invalid_remedy"
            )
        if not data.corrections:
            raise Unprocessable(
                "Sebutkan koreksi kunci untuk soal yang dibanding.", code="corrections_required"
            )
        out: dict[str, Any] = {
            "corrections": [],
            "credentials_issued": 0,
            "credentials_revoked": 0,
            "regraded": 0,
        }
        for c in data.corrections:
            if c.position not in items:
                raise Unprocessable(
                    f"Soal nomor {c.position} tidak termasuk soal yang dibanding.", code="invalid_positions"
                )
            done = await corrections.correct_key(
                db,
                items[c.position],
                action=c.action,
                reason=why,
                answer=None if c.answer is UNSET else c.answer,
                answer_given=c.answer is not UNSET,
                actor=principal,
            )
            out["corrections"].append(
                {
                    "position": c.position,
                    "item_version_id": items[c.position],
                    "correction_id": done.correction_id,
                    "action": done.action,
                }
            )
            out["regraded"] += done.regraded
            out["credentials_issued"] += done.credentials_issued
            out["credentials_revoked"] += done.credentials_revoked
    elif remedy == Remedy.REGRADE:
        done = await corrections.regrade_results(db, [appeal.result_id], actor=principal, reason=why)
        out = {
            "regraded": done.regraded,
            "credentials_issued": done.credentials_issued,
            "credentials_revoked": done.credentials_revoked,
        }
    else:
        exam = await db.get(ExamSession, appeal.session_id)
        assert exam is not None
        grant = ResitGrant(
            user_id=appeal.user_id,
            scheme_id=exam.scheme_id,
            reason=why,
            source=f"appeal:{appeal.id}",
            granted_by=principal.user_id,
        )
        db.add(grant)
        await db.flush()
        out = {"resit_grant_id": grant.id}
    result = await db.get(Result, appeal.result_id, populate_existing=True)
    if result is not None:
        out["outcome"], out["score"] = result.outcome, result.score
    return out


async def get_for(db: AsyncSession, appeal_id: int, principal: Principal) -> AppealPublic:
    appeal = await _appeal_or_404(db, appeal_id)
    allowed = (
        principal.role in (Role.ADMIN, Role.AUDITOR)
        or appeal.user_id == principal.user_id
        or appeal.reviewer_id == principal.user_id
    )
    if not allowed:
        raise Forbidden("Anda tidak berhak melihat banding ini.", code="not_your_appeal")
    return await view(db, appeal, for_candidate=appeal.user_id == principal.user_id)


async def list_appeals(
    db: AsyncSession,
    *,
    user_id: int | None = None,
    reviewer_id: int | None = None,
    state: str | None = None,
    session_id: int | None = None,
    item_version_id: int | None = None,
) -> list[AppealPublic]:
    stmt = select(Appeal).order_by(col(Appeal.id))
    if user_id is not None:
        stmt = stmt.where(Appeal.user_id == user_id)
    if reviewer_id is not None:
        stmt = stmt.where(Appeal.reviewer_id == reviewer_id)
    if state:
        try:
            stmt = stmt.where(Appeal.state == CaseState(state.strip().lower()))
        except ValueError as exc:
            raise Unprocessable(
                "Status harus diajukan, diperiksa, diterima atau ditolak.", code="invalid_state"
            ) from exc
    if session_id is not None:
        stmt = stmt.where(Appeal.session_id == session_id)
    if item_version_id is not None:
        stmt = stmt.where(
            col(Appeal.id).in_(
                select(AppealItem.appeal_id).where(AppealItem.item_version_id == item_version_id)
            )
        )
    rows = (await db.exec(stmt)).all()
    return [await view(db, a, for_candidate=user_id is not None) for a in rows]


async def view(db: AsyncSession, appeal: Appeal, *, for_candidate: bool = False) -> AppealPublic:
    exam = await db.get(ExamSession, appeal.session_id)
    tz = exam.timezone if exam is not None else "Asia/Makassar"
    items = (
        await db.exec(
            select(AppealItem).where(AppealItem.appeal_id == appeal.id).order_by(col(AppealItem.position))
        )
    ).all()
    names = dict(
        (
            await db.exec(
                select(User.id, User.username).where(
                    col(User.id).in_([i for i in (appeal.user_id, appeal.reviewer_id) if i is not None])
                )
            )
        ).all()
    )
    now = utcnow()
    due = appeal.review_due_at
    return AppealPublic(
        id=appeal.id or 0,
        attempt_id=appeal.attempt_id,
        session_id=appeal.session_id,
        username=names.get(appeal.user_id, ""),
        scope=appeal.scope,
        items=[AppealItemPublic(position=i.position, item_version_id=i.item_version_id) for i in items],
        reason=appeal.reason,
        state=appeal.state,
        state_text=label(appeal.state),
        submitted_at=local_iso(appeal.submitted_at, tz),
        appeal_deadline=local_iso(appeal.appeal_deadline, tz),
        review_due_at=local_iso(due, tz),
        review_due_text=local_text(due, tz),
        overdue=appeal.state in OPEN_STATES and now > due,
        reviewer=None if for_candidate or appeal.reviewer_id is None else names.get(appeal.reviewer_id),
        decided_at=local_iso(appeal.decided_at, tz) if appeal.decided_at else None,
        remedy=appeal.remedy,
        remedy_text=REMEDY_TEXT.get(Remedy(appeal.remedy)) if appeal.remedy else None,
        decision_reason=appeal.decision_reason,
        effects=appeal.effects,
    )


__all__ = ["assign", "decide", "get_for", "list_appeals", "lodge", "reviewer_problem", "view"]
