"""What a candidate reads before the clock runs: who they are, the scheme, the rules (tata tertib).

The start page of /ujian shows it between typing the session number and "Mulai ujian"; the
attempt (and its clock) starts only with that button (``POST /sessions/{id}/attempts``).
Reading it is read-only; :func:`record_arrival` marks the candidate as waiting at the door,
so the proctor's roster can tell who is here to be admitted from who has not arrived.
"""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import User
from apkd.accounts.security import Principal
from apkd.banks.models import Scheme, SchemeUnit
from apkd.db import utcnow
from apkd.errors import Forbidden, NotFound
from apkd.exams.models import Attempt, ExamSession, Registration
from apkd.exams.numbers import format_id
from apkd.timefmt import format_datetime_id

__all__ = ["Briefing", "briefing", "record_arrival", "rules"]


class BriefingUnit(Struct):
    code: str
    title: str
    items: int


class BriefingScheme(Struct):
    code: str
    version: str
    title: str
    position: str
    duration_minutes: int
    pass_score: float
    items: int
    units: list[BriefingUnit]


class BriefingCandidate(Struct):
    full_name: str
    nip: str | None
    instansi: str | None
    jabatan: str | None


class Briefing(Struct):
    session_id: int
    title: str
    venue: str
    timezone: str
    starts_at_text: str
    ends_at_text: str
    candidate: BriefingCandidate
    scheme: BriefingScheme
    rules: list[str]
    registration_status: str  # registered | admitted
    admitted: bool
    seat: str | None
    attempt_id: int | None
    attempt_status: str | None


def rules(duration_minutes: int, pass_score: float) -> list[str]:
    """The tata tertib shown before the exam starts (Indonesian, for candidates)."""
    return [
        f"Waktu ujian {duration_minutes} menit, dihitung oleh server sejak Anda memilih "
        "\u201cMulai ujian\u201d. Jam pada komputer ini tidak dipakai.",
        "Jawaban tersimpan otomatis setiap kali Anda memilih atau mengetik. Tulisan "
        "\u201cTersimpan\u201d berarti jawaban sudah diterima server.",
        "Jawaban angka ditulis seperti biasa: titik sebagai pemisah ribuan dan koma sebagai "
        "desimal, misalnya 75.000 atau 2,5. Di samping kolom tertulis bagaimana angka Anda dibaca.",
        "Soal yang belum yakin dapat ditandai \u201cragu-ragu\u201d dan dibuka lagi. Sebelum "
        "mengumpulkan, periksa layar tinjauan. Setelah dikumpulkan, jawaban tidak dapat diubah.",
        "Jangan menutup tab ini dan jangan masuk dari komputer lain. Bila komputer bermasalah, "
        "angkat tangan: pengawas akan memindahkan ujian Anda ke komputer lain tanpa kehilangan jawaban.",
        "Selama ujian dilarang memakai telepon genggam, catatan, atau alat bantu lain, dan dilarang "
        "bekerja sama dengan peserta lain. Pelanggaran dicatat dalam berita acara.",
        f"Anda dinyatakan kompeten bila nilai akhir paling sedikit {format_id(pass_score)} dan "
        "setiap unit kompetensi mencapai nilai minimumnya.",
    ]


async def _registration(
    db: AsyncSession, exam_session_id: int, principal: Principal
) -> tuple[ExamSession, Registration]:
    exam = await db.get(ExamSession, exam_session_id)
    if exam is None:
        raise NotFound("Sesi ujian tidak ditemukan.", code="session_not_found")
    reg = (
        await db.exec(
            select(Registration).where(
                Registration.session_id == exam_session_id, Registration.user_id == principal.user_id
            )
        )
    ).first()
    if reg is None:
        raise Forbidden("Anda tidak terdaftar pada sesi ujian ini.", code="not_registered")
    return exam, reg


async def briefing(db: AsyncSession, exam_session_id: int, principal: Principal) -> Briefing:
    """The start page's content for the calling candidate (read-only)."""
    exam, reg = await _registration(db, exam_session_id, principal)
    user = await db.get(User, principal.user_id)
    scheme = await db.get(Scheme, exam.scheme_id)
    assert user is not None and scheme is not None
    units = (
        await db.exec(
            select(SchemeUnit)
            .where(SchemeUnit.scheme_id == scheme.id)
            .order_by(col(SchemeUnit.ordinal), col(SchemeUnit.id))
        )
    ).all()
    attempt = (
        await db.exec(select(Attempt.id, Attempt.status).where(Attempt.registration_id == reg.id))
    ).first()
    return Briefing(
        session_id=exam.id or 0,
        title=exam.title,
        venue=exam.venue,
        timezone=exam.timezone,
        starts_at_text=format_datetime_id(exam.starts_at, exam.timezone),
        ends_at_text=format_datetime_id(exam.ends_at, exam.timezone),
        candidate=BriefingCandidate(
            full_name=user.full_name, nip=user.nip, instansi=user.instansi, jabatan=user.jabatan
        ),
        scheme=BriefingScheme(
            code=scheme.code,
            version=scheme.version,
            title=scheme.title,
            position=scheme.position,
            duration_minutes=scheme.duration_minutes,
            pass_score=scheme.pass_score,
            items=sum(u.items_per_form for u in units),
            units=[BriefingUnit(code=u.code, title=u.title, items=u.items_per_form) for u in units],
        ),
        rules=rules(scheme.duration_minutes, scheme.pass_score),
        registration_status=reg.status,
        admitted=reg.status == "admitted",
        seat=reg.seat,
        attempt_id=attempt[0] if attempt else None,
        attempt_status=attempt[1] if attempt else None,
    )


async def record_arrival(
    db: AsyncSession, exam_session_id: int, principal: Principal, *, now: datetime | None = None
) -> Briefing:
    """The candidate is at the door (opened the start page): the roster shows them as waiting to
    be admitted until a proctor does. Idempotent; then the briefing."""
    _, reg = await _registration(db, exam_session_id, principal)
    if reg.arrived_at is None:
        reg.arrived_at = now or utcnow()
        db.add(reg)
        await db.flush()
    return await briefing(db, exam_session_id, principal)
