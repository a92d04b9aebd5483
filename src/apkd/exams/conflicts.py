"""Conflicts of interest (ISO/IEC 17024): a proctor declares one for a registered candidate
(same instansi, family, superior, other). The declaration either moves the candidate to another
proctor of the session (the declarer may then no longer admit the candidate or act on the
attempt) or is only recorded in the session's minutes. Every declaration is audited."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import Role, User
from apkd.accounts.security import Principal
from apkd.db import utcnow
from apkd.errors import Conflict, Forbidden, NotFound, Unprocessable
from apkd.exams.access import is_proctor_of, session_for_staff
from apkd.exams.clocks import local_iso, local_text
from apkd.exams.models import ConflictDeclaration, ExamSession, Registration
from apkd.exams.schemas import ConflictCreate, ConflictPublic
from apkd.textrules import clean_reason


class ConflictKind(StrEnum):
    SAME_INSTANSI = "same_instansi"
    FAMILY = "family"
    SUPERIOR = "superior"
    OTHER = "other"


class Resolution(StrEnum):
    REASSIGNED = "reassigned"  # the candidate is moved to another proctor
    MINUTED = "minuted"  # recorded in the minutes only


KIND_TEXT = {
    ConflictKind.SAME_INSTANSI: "satu instansi dengan peserta",
    ConflictKind.FAMILY: "hubungan keluarga dengan peserta",
    ConflictKind.SUPERIOR: "atasan atau bawahan peserta",
    ConflictKind.OTHER: "benturan kepentingan lain",
}


async def declare(
    db: AsyncSession,
    registration_id: int,
    data: ConflictCreate,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> ConflictPublic:
    now = now or utcnow()
    reg = await db.get(Registration, registration_id)
    if reg is None:
        raise NotFound("Pendaftaran tidak ditemukan.", code="registration_not_found")
    exam = await session_for_staff(db, reg.session_id, principal)
    if principal.role != Role.PROCTOR:
        raise Forbidden(
            "Hanya pengawas sesi yang menyatakan benturan kepentingannya sendiri.", code="proctors_only"
        )
    try:
        kind = ConflictKind(data.kind.strip().lower())
    except ValueError as exc:
        raise Unprocessable(
            "Jenis benturan kepentingan harus same_instansi, family, superior atau other.",
            code="invalid_conflict_kind",
        ) from exc
    description = clean_reason(data.description, label="Uraian benturan kepentingan")
    if await _declared(db, registration_id, principal.user_id) is not None:
        raise Conflict(
            "Anda sudah menyatakan benturan kepentingan untuk peserta ini.", code="conflict_already_declared"
        )
    to: User | None = None
    if data.reassign_to:
        name = data.reassign_to.strip().lower()
        to = (await db.exec(select(User).where(User.username == name))).first()
        if to is None or to.id is None or not await is_proctor_of(db, reg.session_id, to.id):
            raise Unprocessable(
                f"'{name}' bukan pengawas sesi ini: peserta hanya dapat dipindahkan ke pengawas lain "
                "pada sesi yang sama.",
                code="unknown_proctor",
            )
        if to.id == principal.user_id or await _declared(db, registration_id, to.id) is not None:
            raise Unprocessable(
                f"Peserta tidak dapat dipindahkan ke '{name}': pengawas itu juga berbenturan kepentingan.",
                code="reassign_conflicted",
            )
    row = ConflictDeclaration(
        session_id=reg.session_id,
        registration_id=registration_id,
        proctor_id=principal.user_id,
        kind=kind,
        description=description,
        resolution=Resolution.REASSIGNED if to is not None else Resolution.MINUTED,
        reassigned_to=to.id if to is not None else None,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        "proctor.conflict_declared",
        "registration",
        registration_id,
        actor=principal.username,
        details={
            "session_id": reg.session_id,
            "kind": kind,
            "resolution": row.resolution,
            "reassigned_to": to.username if to is not None else None,
        },
    )
    return (await views(db, exam, [row]))[0]


async def _declared(db: AsyncSession, registration_id: int, user_id: int) -> ConflictDeclaration | None:
    return (
        await db.exec(
            select(ConflictDeclaration).where(
                ConflictDeclaration.registration_id == registration_id,
                ConflictDeclaration.proctor_id == user_id,
            )
        )
    ).first()


async def refuse_if_conflicted(db: AsyncSession, registration_id: int, principal: Principal) -> None:
    """403 when the caller declared a conflict with this candidate and the candidate was moved
    to another proctor (a conflict only recorded in the minutes does not stop the declarer)."""
    row = await _declared(db, registration_id, principal.user_id)
    if row is not None and row.resolution == Resolution.REASSIGNED:
        raise Forbidden(
            "Anda menyatakan benturan kepentingan dengan peserta ini; peserta ditangani pengawas lain.",
            code="conflict_of_interest",
        )


async def session_conflicts(db: AsyncSession, exam: ExamSession) -> list[ConflictPublic]:
    rows = (
        await db.exec(
            select(ConflictDeclaration)
            .where(ConflictDeclaration.session_id == exam.id)
            .order_by(col(ConflictDeclaration.id))
        )
    ).all()
    return await views(db, exam, list(rows))


async def list_for_session(
    db: AsyncSession, exam_session_id: int, principal: Principal
) -> list[ConflictPublic]:
    exam = await session_for_staff(db, exam_session_id, principal)
    return await session_conflicts(db, exam)


async def views(db: AsyncSession, exam: ExamSession, rows: list[ConflictDeclaration]) -> list[ConflictPublic]:
    regs = {
        r.id: r.user_id
        for r in (await db.exec(select(Registration).where(Registration.session_id == exam.id))).all()
    }
    ids = (
        {r.proctor_id for r in rows} | {r.reassigned_to for r in rows if r.reassigned_to} | set(regs.values())
    )
    names = (
        dict((await db.exec(select(User.id, User.username).where(col(User.id).in_(ids)))).all())
        if ids
        else {}
    )
    tz = exam.timezone
    return [
        ConflictPublic(
            id=r.id or 0,
            registration_id=r.registration_id,
            username=names.get(regs.get(r.registration_id, -1), ""),
            proctor=names.get(r.proctor_id, ""),
            kind=r.kind,
            kind_text=KIND_TEXT[ConflictKind(r.kind)],
            description=r.description,
            resolution=r.resolution,
            resolution_text=(
                f"peserta dipindahkan ke pengawas {names.get(r.reassigned_to, '')}"
                if r.resolution == Resolution.REASSIGNED
                else "dicatat dalam berita acara"
            ),
            reassigned_to=names.get(r.reassigned_to) if r.reassigned_to else None,
            created_at=local_iso(r.created_at, tz),
            created_at_text=local_text(r.created_at, tz),
        )
        for r in rows
    ]
