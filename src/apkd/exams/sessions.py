"""Exam sessions and registrations: create, list and show sessions; register candidates one by
one (admin) or in bulk by NIP (the CLI's CSV)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from msgspec import UnsetType
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import Role, User
from apkd.accounts.nip import NipError, validate_nip
from apkd.accounts.security import Principal
from apkd.banks.models import Scheme
from apkd.db import serialize, utcnow
from apkd.errors import Conflict, NotFound, Unprocessable
from apkd.exams.access import session_for_staff
from apkd.exams.clocks import aware, local_iso, local_text
from apkd.exams.models import Attempt, ExamSession, Registration, ResitGrant, SessionProctor
from apkd.exams.schemas import SessionCreate, SessionPublic, SessionUpdate


async def _scheme_of(db: AsyncSession, exam: ExamSession) -> Scheme:
    scheme = await db.get(Scheme, exam.scheme_id)
    assert scheme is not None
    return scheme


# --- sessions ------------------------------------------------------------------------------------


def _zone(raw: str | None) -> str:
    tz = (raw or "").strip() or "Asia/Makassar"
    try:
        ZoneInfo(tz)
    except (KeyError, ValueError) as exc:
        raise Unprocessable(
            f"Zona waktu '{tz}' tidak dikenal (contoh: Asia/Makassar).", code="invalid_timezone"
        ) from exc
    return tz


def _title(raw: str) -> str:
    title = raw.strip()
    if not title or len(title) > 200:
        raise Unprocessable("Judul sesi wajib diisi (paling panjang 200 karakter).", code="invalid_title")
    return title


def _venue(raw: str) -> str:
    venue = raw.strip()
    if not venue or len(venue) > 200:
        raise Unprocessable("Tempat ujian wajib diisi (paling panjang 200 karakter).", code="invalid_venue")
    return venue


def _capacity(capacity: int | None) -> int | None:
    if capacity is not None and capacity < 1:
        raise Unprocessable("Kapasitas harus 1 atau lebih.", code="invalid_capacity")
    return capacity


async def _scheme_for_new_session(db: AsyncSession, code: str) -> Scheme:
    scheme = (await db.exec(select(Scheme).where(Scheme.code == code.strip().upper()))).first()
    if scheme is None:
        raise Unprocessable(f"Skema '{code}' tidak ditemukan.", code="unknown_scheme")
    if scheme.retired_at is not None:
        raise Conflict(
            f"Skema {scheme.code} versi {scheme.version} sudah dipensiunkan; sesi baru tidak dapat "
            "memakainya. Impor versi baru bank soalnya terlebih dahulu.",
            code="scheme_retired",
        )
    return scheme


async def _proctors(db: AsyncSession, usernames: list[str]) -> list[User]:
    proctors: list[User] = []
    for username in dict.fromkeys(u.strip().lower() for u in usernames):
        u = (await db.exec(select(User).where(User.username == username))).first()
        if u is None or u.role != Role.PROCTOR:
            raise Unprocessable(
                f"'{username}' bukan pengguna dengan peran pengawas.",
                code="unknown_proctor",
                extra={"username": username},
            )
        proctors.append(u)
    return proctors


async def create_session(db: AsyncSession, data: SessionCreate, *, principal: Principal) -> ExamSession:
    tz = _zone(data.timezone)
    title, venue = _title(data.title), _venue(data.venue)
    starts, ends = aware(data.starts_at, tz), aware(data.ends_at, tz)
    if ends <= starts:
        raise Unprocessable("Waktu selesai harus setelah waktu mulai.", code="invalid_window")
    capacity = _capacity(data.capacity)
    scheme = await _scheme_for_new_session(db, data.scheme_code)
    proctors = await _proctors(db, data.proctors)
    exam = ExamSession(
        scheme_id=scheme.id or 0,
        title=title,
        venue=venue,
        timezone=tz,
        starts_at=starts,
        ends_at=ends,
        capacity=capacity,
        created_by=principal.user_id,
    )
    db.add(exam)
    await db.flush()
    assert exam.id is not None
    for p in proctors:
        db.add(SessionProctor(session_id=exam.id, user_id=p.id or 0))
    await db.flush()
    await audit.record(
        db,
        "session.created",
        "exam_session",
        exam.id,
        actor=principal.username,
        details={"scheme": scheme.code, "title": title, "proctors": [p.username for p in proctors]},
    )
    return exam


async def has_started(db: AsyncSession, exam: ExamSession, now: datetime | None = None) -> bool:
    """The session's start time has passed, or a candidate already started an attempt."""
    if aware(exam.starts_at, exam.timezone) <= (now or utcnow()):
        return True
    first = (await db.exec(select(Attempt.id).where(Attempt.session_id == exam.id).limit(1))).first()
    return first is not None


async def update_session(
    db: AsyncSession, exam_session_id: int, data: SessionUpdate, *, principal: Principal
) -> ExamSession:
    """Edit a session (admin). Before it starts anything may change (forms are drawn at start, so
    even the scheme). Once started (start time passed or an attempt exists): the
    scheme, the zone and the start are fixed, the end may only move later, and nothing changes
    after the results are published (409 ``session_started`` / ``session_published``)."""
    exam = await db.get(ExamSession, exam_session_id)
    if exam is None:
        raise NotFound(f"Sesi ujian #{exam_session_id} tidak ditemukan.", code="session_not_found")
    await serialize(db, f"registrations:{exam_session_id}")
    if exam.results_published_at is not None:
        raise Conflict(
            "Hasil sesi ini sudah diterbitkan; sesi tidak dapat diubah lagi.", code="session_published"
        )
    started = await has_started(db, exam)
    changes: dict[str, Any] = {}
    fixed_after_start = {
        "scheme_code": "skema",
        "timezone": "zona waktu",
        "starts_at": "waktu mulai",
    }
    if started:
        for name, label in fixed_after_start.items():
            if getattr(data, name) is not None:
                raise Conflict(
                    f"Sesi sudah dimulai; {label} tidak dapat diubah lagi.",
                    code="session_started",
                    extra={"field": name},
                )
    tz = _zone(data.timezone) if data.timezone is not None else exam.timezone
    if data.scheme_code is not None:
        scheme = await _scheme_for_new_session(db, data.scheme_code)
        if scheme.id != exam.scheme_id:
            exam.scheme_id = scheme.id or 0
            changes["scheme"] = scheme.code
    if data.title is not None:
        exam.title = _title(data.title)
        changes["title"] = exam.title
    if data.venue is not None:
        exam.venue = _venue(data.venue)
        changes["venue"] = exam.venue
    if tz != exam.timezone:
        # the same wall-clock times, read in the new zone, unless new times are sent
        exam.starts_at = aware(exam.starts_at.astimezone(ZoneInfo(exam.timezone)).replace(tzinfo=None), tz)
        exam.ends_at = aware(exam.ends_at.astimezone(ZoneInfo(exam.timezone)).replace(tzinfo=None), tz)
        exam.timezone = tz
        changes["timezone"] = tz
    starts = aware(data.starts_at, tz) if data.starts_at is not None else aware(exam.starts_at, tz)
    ends = aware(data.ends_at, tz) if data.ends_at is not None else aware(exam.ends_at, tz)
    if ends <= starts:
        raise Unprocessable("Waktu selesai harus setelah waktu mulai.", code="invalid_window")
    if started and data.ends_at is not None and ends < aware(exam.ends_at, tz):
        raise Conflict(
            "Sesi sudah dimulai; waktu selesai hanya dapat diundurkan, tidak dimajukan.",
            code="session_started",
            extra={"field": "ends_at"},
        )
    if data.starts_at is not None and starts != aware(exam.starts_at, tz):
        exam.starts_at = starts
        changes["starts_at"] = starts.isoformat()
    if data.ends_at is not None and ends != aware(exam.ends_at, tz):
        exam.ends_at = ends
        changes["ends_at"] = ends.isoformat()
    if not isinstance(data.capacity, UnsetType):
        capacity = _capacity(data.capacity)
        if capacity is not None:
            registered = (
                await db.exec(
                    select(func.count()).select_from(Registration).where(Registration.session_id == exam.id)
                )
            ).one()
            if registered > capacity:
                raise Conflict(
                    f"Sudah {registered} peserta terdaftar; kapasitas tidak dapat di bawah itu.",
                    code="capacity_below_registered",
                )
        if capacity != exam.capacity:
            exam.capacity = capacity
            changes["capacity"] = capacity
    if data.proctors is not None:
        proctors = await _proctors(db, data.proctors)
        current = (await db.exec(select(SessionProctor).where(SessionProctor.session_id == exam.id))).all()
        wanted = {p.id for p in proctors}
        have = {row.user_id for row in current}
        if wanted != have:
            for row in current:
                if row.user_id not in wanted:
                    await db.delete(row)
            for p in proctors:
                if p.id not in have:
                    db.add(SessionProctor(session_id=exam.id or 0, user_id=p.id or 0))
            changes["proctors"] = [p.username for p in proctors]
    db.add(exam)
    await db.flush()
    if changes:
        await audit.record(
            db, "session.updated", "exam_session", exam.id or 0, actor=principal.username, details=changes
        )
    return exam


async def session_public(db: AsyncSession, exam: ExamSession) -> SessionPublic:
    return (await sessions_public(db, [exam]))[0]


async def sessions_public(db: AsyncSession, exams: Sequence[ExamSession]) -> list[SessionPublic]:
    """What staff see of each session, in four queries whatever the number of sessions
    (schemes, proctors, registration counts, which have an attempt)."""
    if not exams:
        return []
    ids = [e.id or 0 for e in exams]
    schemes = {
        s.id: s
        for s in (
            await db.exec(select(Scheme).where(col(Scheme.id).in_({e.scheme_id for e in exams})))
        ).all()
    }
    proctors: dict[int, list[str]] = {i: [] for i in ids}
    for session_id, username in (
        await db.exec(
            select(SessionProctor.session_id, User.username)
            .join(User, col(SessionProctor.user_id) == col(User.id))
            .where(col(SessionProctor.session_id).in_(ids))
            .order_by(col(User.username))
        )
    ).all():
        proctors[session_id].append(username)
    registered = dict(
        (
            await db.exec(
                select(Registration.session_id, func.count())
                .where(col(Registration.session_id).in_(ids))
                .group_by(col(Registration.session_id))
            )
        ).all()
    )
    now = utcnow()
    future = [e.id for e in exams if aware(e.starts_at, e.timezone) > now]
    with_attempts = (
        set(
            (
                await db.exec(
                    select(Attempt.session_id).where(col(Attempt.session_id).in_(future)).distinct()
                )
            ).all()
        )
        if future
        else set()
    )
    out: list[SessionPublic] = []
    for exam in exams:
        scheme = schemes[exam.scheme_id]
        tz = exam.timezone
        out.append(
            SessionPublic(
                id=exam.id or 0,
                scheme_code=scheme.code,
                scheme_title=scheme.title,
                title=exam.title,
                venue=exam.venue,
                timezone=tz,
                starts_at=local_iso(exam.starts_at, tz),
                ends_at=local_iso(exam.ends_at, tz),
                starts_at_text=local_text(exam.starts_at, tz),
                ends_at_text=local_text(exam.ends_at, tz),
                capacity=exam.capacity,
                proctors=proctors[exam.id or 0],
                registered=int(registered.get(exam.id or 0, 0)),
                scheme_version=scheme.version,
                # as has_started says: the start time has passed, or an attempt exists
                started=exam.id not in future or exam.id in with_attempts,
                results_published=exam.results_published_at is not None,
            )
        )
    return out


async def list_sessions(db: AsyncSession, principal: Principal) -> list[SessionPublic]:
    stmt = select(ExamSession).order_by(col(ExamSession.starts_at).desc())
    if principal.role != Role.ADMIN:
        stmt = stmt.join(SessionProctor, col(SessionProctor.session_id) == col(ExamSession.id)).where(
            SessionProctor.user_id == principal.user_id
        )
    return await sessions_public(db, (await db.exec(stmt)).all())


# --- registrations ---------------------------------------------------------------------------------


async def _add_registration(
    db: AsyncSession, exam: ExamSession, user: User, *, principal_name: str | None
) -> Registration:
    """Register ``user`` (checked: candidate, not yet registered, capacity). Caller commits."""
    if user.role != Role.CANDIDATE:
        raise Unprocessable(f"'{user.username}' bukan peserta (peran {user.role}).", code="not_a_candidate")
    existing = (
        await db.exec(
            select(Registration).where(Registration.session_id == exam.id, Registration.user_id == user.id)
        )
    ).first()
    if existing is not None:
        raise Conflict(
            f"'{user.username}' sudah terdaftar pada sesi ini.",
            code="already_registered",
            extra={"registration_id": existing.id},
        )
    if exam.capacity is not None:
        count = (
            await db.exec(
                select(func.count()).select_from(Registration).where(Registration.session_id == exam.id)
            )
        ).one()
        if count >= exam.capacity:
            raise Conflict(f"Sesi ini sudah penuh ({exam.capacity} peserta).", code="session_full")
    grant = await check_resit_rules(db, exam, user)
    reg = Registration(session_id=exam.id or 0, user_id=user.id or 0)
    db.add(reg)
    await db.flush()
    if grant is not None:
        grant.used_registration_id = reg.id
        db.add(grant)
    return reg


async def check_resit_rules(db: AsyncSession, exam: ExamSession, user: User) -> ResitGrant | None:
    """The scheme's re-sit rules: after a sitting (a registration in another session of the
    scheme that was sat, or is still to come) the candidate waits ``resit_wait_days``, and sits
    at most ``sittings_per_year`` times in any 365 days. A free re-sit
    (``ResitGrant``, e.g. from an upheld appeal) is exempt, once: it is returned to be marked
    used. 409 ``resit_too_soon`` / ``resit_limit_reached`` otherwise."""
    scheme = await _scheme_of(db, exam)
    if scheme.resit_wait_days <= 0 and scheme.sittings_per_year <= 0:
        return None
    grant = (
        await db.exec(
            select(ResitGrant)
            .where(
                ResitGrant.user_id == user.id,
                ResitGrant.scheme_id == scheme.id,
                col(ResitGrant.used_registration_id).is_(None),
            )
            .order_by(col(ResitGrant.id))
        )
    ).first()
    if grant is not None:
        return grant
    rows = (
        await db.exec(
            select(ExamSession.starts_at, ExamSession.ends_at, Attempt.id)
            .join(Registration, col(Registration.session_id) == col(ExamSession.id))
            .outerjoin(Attempt, col(Attempt.registration_id) == col(Registration.id))
            .where(
                ExamSession.scheme_id == scheme.id,
                Registration.user_id == user.id,
                ExamSession.id != exam.id,
            )
        )
    ).all()
    start = aware(exam.starts_at, exam.timezone)
    sittings = [
        aware(starts, exam.timezone)
        for starts, ends, attempt_id in rows
        if attempt_id is not None or aware(ends, exam.timezone) > utcnow()
    ]
    tz = exam.timezone
    if scheme.resit_wait_days > 0:
        wait = timedelta(days=scheme.resit_wait_days)
        near = [s for s in sittings if abs(start - s) < wait]
        if near:
            last = max(near)
            raise Conflict(
                f"'{user.username}' baru dapat mengikuti ujian ulang skema {scheme.code} mulai "
                f"{local_text(last + wait, tz)}: masa tunggu {scheme.resit_wait_days} hari sejak ujian "
                f"{local_text(last, tz)}.",
                code="resit_too_soon",
                extra={"available_from": local_iso(last + wait, tz)},
            )
    if scheme.sittings_per_year > 0:
        year = timedelta(days=365)
        # the sittings of the 365 days around this one (a registration for a later session counts)
        within = [s for s in sittings if abs(start - s) < year]
        if len(within) >= scheme.sittings_per_year:
            raise Conflict(
                f"'{user.username}' sudah {len(within)} kali mengikuti ujian skema {scheme.code} dalam "
                f"setahun; batasnya {scheme.sittings_per_year} kali per 365 hari.",
                code="resit_limit_reached",
            )
    return None


async def register_candidate(
    db: AsyncSession, exam_session_id: int, username: str, *, principal: Principal
) -> tuple[Registration, User]:
    exam = await session_for_staff(db, exam_session_id, principal)
    await serialize(db, f"registrations:{exam_session_id}")
    user = (await db.exec(select(User).where(User.username == username.strip().lower()))).first()
    if user is None:
        raise Unprocessable(f"Pengguna '{username}' tidak ditemukan.", code="unknown_user")
    try:
        reg = await _add_registration(db, exam, user, principal_name=principal.username)
    except IntegrityError as exc:
        raise Conflict(
            f"'{user.username}' sudah terdaftar pada sesi ini.", code="already_registered"
        ) from exc
    await audit.record(
        db,
        "registration.created",
        "registration",
        reg.id or 0,
        actor=principal.username,
        details={"session_id": exam_session_id, "username": user.username},
    )
    return reg, user


@dataclass
class BulkReport:
    registered: list[tuple[int, str]] = field(default_factory=list)  # (line, username)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, message): already registered
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message)


async def register_bulk(
    db: AsyncSession, exam_session_id: int, rows: list[tuple[int, str]], *, actor: str | None
) -> BulkReport:
    """Register candidates by NIP; ``rows`` are (line number, NIP text). Bad rows are reported
    by line, the valid ones are registered all the same (one transaction)."""
    report = BulkReport()
    exam = await db.get(ExamSession, exam_session_id)
    if exam is None:
        raise NotFound(f"Sesi ujian #{exam_session_id} tidak ditemukan.", code="session_not_found")
    await serialize(db, f"registrations:{exam_session_id}")
    seen: dict[str, int] = {}
    for line, raw in rows:
        try:
            nip = validate_nip(raw).nip
        except NipError as exc:
            report.errors.append((line, f"NIP '{raw.strip()}': {exc.message}"))
            continue
        if nip in seen:
            report.errors.append((line, f"NIP {nip} sudah tercantum pada baris {seen[nip]}."))
            continue
        seen[nip] = line
        user = (await db.exec(select(User).where(User.nip == nip))).first()
        if user is None:
            report.errors.append((line, f"NIP {nip} tidak terdaftar sebagai pengguna."))
            continue
        try:
            reg = await _add_registration(db, exam, user, principal_name=actor)
        except Conflict as exc:
            if exc.code == "already_registered":
                report.skipped.append((line, f"NIP {nip} ({user.username}) sudah terdaftar, dilewati."))
            else:
                report.errors.append((line, f"NIP {nip}: {exc.detail}"))
            continue
        except Unprocessable as exc:
            report.errors.append((line, f"NIP {nip}: {exc.detail}"))
            continue
        report.registered.append((line, user.username))
        await audit.record(
            db,
            "registration.created",
            "registration",
            reg.id or 0,
            actor=actor,
            details={"session_id": exam_session_id, "username": user.username, "bulk": True},
        )
    return report
