"""Exam sessions, registrations, admission, attempts and proctoring: the rules, given a session.

Authorization lives here: an admin sees every session; a proctor only the sessions they are
assigned to; a candidate only their own attempts (and only from the login that holds the
attempt while it is open). Time comes from ``now`` (default :func:`apkd.db.utcnow`), so tests
can move the clock.

Grace: a save or submit up to ``GRACE_SECONDS`` (10 s) after the deadline is still accepted:
a request in flight when time runs out is not lost. Attempts are closed as ``expired`` once
deadline + grace has passed, by the sweeper (every worker runs one; the conditional UPDATE
makes that safe) or by the next access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, String, column, func, insert, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import User
from apkd.accounts.nip import NipError, validate_nip
from apkd.accounts.security import Principal
from apkd.banks.models import Scheme, SchemeUnit
from apkd.banks.service import current_pool
from apkd.db import UTCDateTime, serialize, utcnow
from apkd.errors import Conflict, Forbidden, NotFound, Unprocessable
from apkd.exams import saving
from apkd.exams.assembly import (
    ASSEMBLY_VERSION,
    AssemblyError,
    PoolItem,
    UnitBlueprint,
    assemble_form,
    new_seed,
)
from apkd.exams.models import (
    CLOSED_STATUSES,
    Attempt,
    AttemptRelease,
    ExamSession,
    Incident,
    ProctorAction,
    Registration,
    Response,
    SessionProctor,
)
from apkd.exams.saving import (
    ATTEMPT,
    GRACE,
    OPEN_STATUSES,
    Saved,
    bind_login,
    close_overdue,
    raise_closed,
    raise_not_bound,
    save_response,
)
from apkd.exams.schemas import (
    AttemptItem,
    AttemptStatus,
    AttemptView,
    IncidentPublic,
    Minutes,
    MinutesCounts,
    OptionPublic,
    ProctorActionPublic,
    RosterEntry,
    SessionCreate,
    SessionPublic,
    SubmitResult,
)
from apkd.exams.timing import Clock, deadline, extend, pause, remaining_seconds, resume
from apkd.timefmt import format_datetime_id

__all__ = [
    "GRACE",
    "INCIDENT_CATEGORIES",
    "BulkReport",
    "Saved",
    "admit",
    "attempt_status",
    "attempt_view",
    "close_overdue",
    "create_session",
    "extend_attempt",
    "get_attempt_for",
    "list_sessions",
    "minutes",
    "pause_attempt",
    "register_bulk",
    "register_candidate",
    "release_attempt",
    "report_incident",
    "resume_attempt",
    "roster",
    "save_response",
    "session_for_staff",
    "session_public",
    "start_attempt",
    "start_attempt_view",
    "submit_attempt",
    "terminate_attempt",
]

INCIDENT_CATEGORIES = ("environment", "candidate", "staff", "technical")
MAX_REASON = 2000
MAX_EXTEND_MINUTES = 600


# --- small helpers ---------------------------------------------------------------------------------


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def local_iso(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).isoformat()


def local_text(dt: datetime, tz: str) -> str:
    return format_datetime_id(dt, tz)


def clock_of(a: Attempt) -> Clock:
    return Clock(
        started_at=a.started_at,
        duration_seconds=a.duration_seconds,
        extension_seconds=a.extension_seconds,
        paused_seconds=a.paused_seconds,
        paused_at=a.paused_at,
    )


def _deadline_now(a: Attempt, now: datetime) -> datetime:
    if a.status == "paused":
        return deadline(clock_of(a), now)
    return a.deadline


def _remaining(a: Attempt, now: datetime) -> int:
    if a.status not in OPEN_STATUSES:
        return 0
    return remaining_seconds(clock_of(a), now)


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise Unprocessable("Alasan wajib diisi.", code="reason_required")
    if len(text) > MAX_REASON:
        raise Unprocessable(f"Alasan paling panjang {MAX_REASON} karakter.", code="reason_too_long")
    return text


def _aware(dt: datetime, tz: str) -> datetime:
    """A time from a request: naive times are read in the site's zone."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt.replace(tzinfo=ZoneInfo(tz))
    return dt


async def _is_proctor_of(db: AsyncSession, exam_session_id: int, user_id: int) -> bool:
    row = (
        await db.exec(
            select(SessionProctor).where(
                SessionProctor.session_id == exam_session_id, SessionProctor.user_id == user_id
            )
        )
    ).first()
    return row is not None


async def session_for_staff(db: AsyncSession, exam_session_id: int, principal: Principal) -> ExamSession:
    """The exam session, if the caller is an admin or one of its proctors."""
    exam = await db.get(ExamSession, exam_session_id)
    if exam is None:
        raise NotFound("Sesi ujian tidak ditemukan.", code="session_not_found")
    if principal.role == "admin":
        return exam  # admins may act for a proctor (it is recorded under their name)
    if principal.role == "proctor" and await _is_proctor_of(db, exam_session_id, principal.user_id):
        return exam
    raise Forbidden("Anda bukan pengawas sesi ujian ini.", code="not_your_session")


async def _scheme_of(db: AsyncSession, exam: ExamSession) -> Scheme:
    scheme = await db.get(Scheme, exam.scheme_id)
    assert scheme is not None
    return scheme


async def _action(
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


# --- sessions ------------------------------------------------------------------------------------


async def create_session(db: AsyncSession, data: SessionCreate, *, principal: Principal) -> ExamSession:
    tz = (data.timezone or "").strip() or "Asia/Makassar"
    try:
        ZoneInfo(tz)
    except (KeyError, ValueError) as exc:
        raise Unprocessable(
            f"Zona waktu '{tz}' tidak dikenal (contoh: Asia/Makassar).", code="invalid_timezone"
        ) from exc
    title, venue = data.title.strip(), data.venue.strip()
    if not title or len(title) > 200:
        raise Unprocessable("Judul sesi wajib diisi (paling panjang 200 karakter).", code="invalid_title")
    if not venue or len(venue) > 200:
        raise Unprocessable("Tempat ujian wajib diisi (paling panjang 200 karakter).", code="invalid_venue")
    starts, ends = _aware(data.starts_at, tz), _aware(data.ends_at, tz)
    if ends <= starts:
        raise Unprocessable("Waktu selesai harus setelah waktu mulai.", code="invalid_window")
    if data.capacity is not None and data.capacity < 1:
        raise Unprocessable("Kapasitas harus 1 atau lebih.", code="invalid_capacity")
    scheme = (await db.exec(select(Scheme).where(Scheme.code == data.scheme_code.strip().upper()))).first()
    if scheme is None:
        raise Unprocessable(f"Skema '{data.scheme_code}' tidak ditemukan.", code="unknown_scheme")
    proctors: list[User] = []
    for username in dict.fromkeys(u.strip().lower() for u in data.proctors):
        u = (await db.exec(select(User).where(User.username == username))).first()
        if u is None or u.role != "proctor":
            raise Unprocessable(
                f"'{username}' bukan pengguna dengan peran pengawas.",
                code="unknown_proctor",
                extra={"username": username},
            )
        proctors.append(u)
    exam = ExamSession(
        scheme_id=scheme.id or 0,
        title=title,
        venue=venue,
        timezone=tz,
        starts_at=starts,
        ends_at=ends,
        capacity=data.capacity,
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
    await db.commit()
    return exam


async def session_public(db: AsyncSession, exam: ExamSession) -> SessionPublic:
    scheme = await _scheme_of(db, exam)
    proctors = (
        await db.exec(
            select(User.username)
            .join(SessionProctor, col(SessionProctor.user_id) == col(User.id))
            .where(SessionProctor.session_id == exam.id)
            .order_by(col(User.username))
        )
    ).all()
    registered = (
        await db.exec(
            select(func.count()).select_from(Registration).where(Registration.session_id == exam.id)
        )
    ).one()
    tz = exam.timezone
    return SessionPublic(
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
        proctors=list(proctors),
        registered=int(registered),
    )


async def list_sessions(db: AsyncSession, principal: Principal) -> list[SessionPublic]:
    stmt = select(ExamSession).order_by(col(ExamSession.starts_at).desc())
    if principal.role != "admin":
        stmt = stmt.join(SessionProctor, col(SessionProctor.session_id) == col(ExamSession.id)).where(
            SessionProctor.user_id == principal.user_id
        )
    return [await session_public(db, e) for e in (await db.exec(stmt)).all()]


# --- registrations ---------------------------------------------------------------------------------


async def _add_registration(
    db: AsyncSession, exam: ExamSession, user: User, *, principal_name: str | None
) -> Registration:
    """Register ``user`` (checked: candidate, not yet registered, capacity). Caller commits."""
    if user.role != "candidate":
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
    reg = Registration(session_id=exam.id or 0, user_id=user.id or 0)
    db.add(reg)
    await db.flush()
    return reg


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
        await db.rollback()
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
    await db.commit()
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
    await db.commit()
    return report


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
    computer number when given."""
    now = now or utcnow()
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
    if reg.status == "admitted":
        await db.commit()
        return reg
    reg.status, reg.admitted_at, reg.admitted_by = "admitted", now, principal.user_id
    db.add(reg)
    await db.flush()
    await _action(
        db,
        principal,
        reg.session_id,
        "admit",
        registration_id=reg.id,
        reason=(note or "").strip() or "identitas diperiksa",
        now=now,
    )
    await db.commit()
    return reg


# --- attempts: start and view ------------------------------------------------------------------------


# One round trip for everything a start needs to decide: the session, its scheme, the caller's
# registration and attempt, and a fingerprint of the scheme's active item versions (a bank
# import adds versions or retires items, which changes it).
_START_LOOKUP = text(
    """
SELECT e.starts_at, e.ends_at, e.timezone, e.scheme_id,
       r.id AS reg_id, r.status AS reg_status, a.id AS attempt_id,
       s.code, s.version, s.title, s.position, s.pass_score, s.duration_minutes,
       s.validity_months, s.content_hash,
       (SELECT count(*) || ':' || coalesce(max(iv.id), 0) || ':'
               || coalesce(sum(i.id * 1000003 + iv.id), 0) || ':'
               || coalesce(CAST(max(iv.created_at) AS TEXT), '')
          FROM item i JOIN item_version iv ON iv.item_id = i.id
         WHERE i.scheme_id = e.scheme_id AND i.retired_at IS NULL) AS fingerprint
  FROM exam_session e
  JOIN scheme s ON s.id = e.scheme_id
  LEFT JOIN registration r ON r.session_id = e.id AND r.user_id = :uid
  LEFT JOIN attempt a ON a.registration_id = r.id
 WHERE e.id = :sid
"""
).columns(
    column("starts_at", UTCDateTime()),
    column("ends_at", UTCDateTime()),
    column("timezone", String()),
    column("scheme_id", Integer()),
    column("reg_id", Integer()),
    column("reg_status", String()),
    column("attempt_id", Integer()),
    column("code", String()),
    column("version", String()),
    column("title", String()),
    column("position", String()),
    column("pass_score", Float()),
    column("duration_minutes", Integer()),
    column("validity_months", Integer()),
    column("content_hash", String()),
    column("fingerprint", String()),
)


@dataclass(frozen=True)
class _Blueprint:
    """What forms of one scheme are drawn from, cached per scheme while its fingerprint holds."""

    key: tuple[str, str]  # (scheme content hash, item versions fingerprint)
    units: list[dict[str, Any]]
    pool: list[PoolItem]
    types: dict[int, str]
    # What the candidate sees of each pool item (item versions never change): the view of a
    # form just drawn from this pool needs no database read.
    contents: dict[int, saving.ItemContent]


_blueprints: dict[int, _Blueprint] = {}


async def _blueprint(db: AsyncSession, scheme_id: int, key: tuple[str, str]) -> _Blueprint:
    cached = _blueprints.get(scheme_id)
    if cached is not None and cached.key == key:
        return cached
    units = (
        await db.exec(
            select(SchemeUnit).where(SchemeUnit.scheme_id == scheme_id).order_by(col(SchemeUnit.ordinal))
        )
    ).all()
    rows = await current_pool(db, scheme_id)
    bp = _Blueprint(
        key=key,
        units=[u.snapshot() for u in units],
        pool=[
            PoolItem(
                ref=iv.id or 0,
                unit=iv.unit_code,
                type=iv.type,
                option_ids=tuple(str(o[0]) for o in iv.options) if iv.type != "numeric" else (),
            )
            for iv in rows
        ],
        types={iv.id or 0: iv.type for iv in rows},
        contents={iv.id or 0: saving.item_content(iv.type, iv.stem, iv.options) for iv in rows},
    )
    _blueprints[scheme_id] = bp
    return bp


# Built once: executing it with a parameter dict reuses the compiled statement (building
# ``insert().values(**values)`` per start coerced every value, the form included, each time).
_INSERT_ATTEMPT = insert(ATTEMPT).returning(ATTEMPT.c.id)


async def start_attempt(
    db: AsyncSession, exam_session_id: int, principal: Principal, *, now: datetime | None = None
) -> Attempt:
    """Start (or return) the candidate's attempt in this session.

    The form is drawn with :func:`apkd.exams.assembly.assemble_form` from a fresh seed over
    :func:`apkd.banks.service.current_pool`, and frozen into the attempt (item version ids and
    option order). One attempt per registration: the unique ``registration_id`` settles a race
    between two starts, and the loser returns the winner's attempt.
    """
    attempt, _ = await _start(db, exam_session_id, principal, now or utcnow())
    return attempt


async def start_attempt_view(
    db: AsyncSession, exam_session_id: int, principal: Principal, *, now: datetime | None = None
) -> AttemptView:
    """:func:`start_attempt`, then :func:`attempt_view` of the attempt.

    A form this call just drew is shown from the pool it was drawn from (item versions are
    immutable) and with no responses (none can precede the attempt's own insert): no further
    database read. An attempt that already existed is read as :func:`attempt_view` reads it.
    """
    attempt, bp = await _start(db, exam_session_id, principal, now or utcnow())
    if bp is None:
        return await attempt_view(db, attempt, now=now)
    return _view(attempt, bp.contents, {}, now or utcnow())


async def _start(
    db: AsyncSession, exam_session_id: int, principal: Principal, now: datetime
) -> tuple[Attempt, _Blueprint | None]:
    """The attempt, and the blueprint its form was drawn from if this call created it."""
    conn = await db.connection()
    row = (await conn.execute(_START_LOOKUP, {"sid": exam_session_id, "uid": principal.user_id})).first()
    if row is None:
        raise NotFound("Sesi ujian tidak ditemukan.", code="session_not_found")
    if row.reg_id is None:
        raise Forbidden("Anda tidak terdaftar pada sesi ujian ini.", code="not_registered")
    if row.attempt_id is not None:
        return await _existing_attempt(db, row.attempt_id, principal, now), None
    if row.reg_status != "admitted":
        raise Forbidden(
            "Anda belum diizinkan masuk oleh pengawas. Tunjukkan identitas Anda kepada pengawas.",
            code="not_admitted",
        )
    if not row.starts_at <= now <= row.ends_at:
        raise Forbidden(
            f"Ujian hanya dapat dimulai antara {local_text(row.starts_at, row.timezone)} "
            f"dan {local_text(row.ends_at, row.timezone)}.",
            code="outside_session_window",
        )
    bp = await _blueprint(db, row.scheme_id, (row.content_hash, row.fingerprint))
    seed = new_seed()
    try:
        drawn = assemble_form(
            seed, [UnitBlueprint(u["code"], u["items_per_form"]) for u in bp.units], bp.pool
        )
    except AssemblyError as exc:
        raise Conflict(
            f"Paket soal tidak dapat disusun: {exc.message} Hubungi admin.", code="bank_insufficient"
        ) from exc
    form = {
        "assembly_version": ASSEMBLY_VERSION,
        "scheme": {
            "id": row.scheme_id,
            "code": row.code,
            "version": row.version,
            "title": row.title,
            "position": row.position,
            "pass_score": row.pass_score,
            "duration_minutes": row.duration_minutes,
            "validity_months": row.validity_months,
            "units": bp.units,
        },
        "items": [
            {
                "position": f.position,
                "item_version_id": f.ref,
                "unit": f.unit,
                "type": bp.types[f.ref],
                "option_order": list(f.option_order),
            }
            for f in drawn
        ],
    }
    duration = row.duration_minutes * 60
    values = {
        "registration_id": row.reg_id,
        "session_id": exam_session_id,
        "user_id": principal.user_id,
        "status": "in_progress",
        "seed": seed,
        "form": form,
        "started_at": now,
        "duration_seconds": duration,
        "extension_seconds": 0,
        "paused_seconds": 0,
        "deadline": now + timedelta(seconds=duration),
        "bound_sid": principal.sid,
    }
    try:
        attempt_id = (await conn.execute(_INSERT_ATTEMPT, values)).scalar_one()
    except IntegrityError:
        # Another request of this candidate started it first (unique registration_id).
        await db.rollback()
        found = (await db.exec(select(Attempt.id).where(Attempt.registration_id == row.reg_id))).first()
        if found is None:
            raise
        return await _existing_attempt(db, found, principal, now), None
    await db.commit()
    attempt = Attempt(id=attempt_id, **values)
    saving.cache_form(attempt_id, saving.form_info_from(principal.user_id, exam_session_id, seed, form))
    return attempt, bp


async def _existing_attempt(
    db: AsyncSession, attempt_id: int, principal: Principal, now: datetime
) -> Attempt:
    found = await _reload(db, attempt_id)
    assert found is not None
    return await _candidate_access(db, found, principal, now)


async def _reload(db: AsyncSession, attempt_id: int, *, lock: bool = False) -> Attempt | None:
    stmt = select(Attempt).where(Attempt.id == attempt_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return (await db.exec(stmt)).first()


async def _expire_if_overdue(db: AsyncSession, a: Attempt, now: datetime, *, lock: bool = False) -> Attempt:
    """Close on access: an attempt past deadline + grace becomes ``expired``."""
    if a.status == "in_progress" and a.deadline < now - GRACE:
        await close_overdue(db, now, attempt_id=a.id)
        found = await _reload(db, a.id or 0, lock=lock)
        assert found is not None
        return found
    return a


async def _candidate_access(db: AsyncSession, a: Attempt, principal: Principal, now: datetime) -> Attempt:
    """A candidate's call on their attempt: close it if overdue; check (or take) the binding."""
    if a.user_id != principal.user_id:
        raise Forbidden("Ujian ini bukan milik Anda.", code="not_your_attempt")
    a = await _expire_if_overdue(db, a, now)
    if a.status in OPEN_STATUSES and a.bound_sid != principal.sid:
        if a.bound_sid == "" and await bind_login(db, a.id or 0, a.session_id, principal):
            found = await _reload(db, a.id or 0)
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
    if principal.role == "candidate":
        return await _candidate_access(db, a, principal, now)
    await session_for_staff(db, a.session_id, principal)
    return await _expire_if_overdue(db, a, now)


async def attempt_view(db: AsyncSession, a: Attempt, *, now: datetime | None = None) -> AttemptView:
    """The attempt as the candidate sees it: no answer, tolerance or points, ever."""
    now = now or utcnow()
    form_items = a.form.get("items", [])
    contents = await saving.item_contents(db, [int(it["item_version_id"]) for it in form_items])
    responses = {
        r.position: r for r in (await db.exec(select(Response).where(Response.attempt_id == a.id))).all()
    }
    await db.commit()
    return _view(a, contents, responses, now)


def _view(
    a: Attempt, contents: dict[int, saving.ItemContent], responses: dict[int, Response], now: datetime
) -> AttemptView:
    form_items = a.form.get("items", [])
    items: list[AttemptItem] = []
    for it in form_items:
        content = contents[int(it["item_version_id"])]
        r = responses.get(int(it["position"]))
        items.append(
            AttemptItem(
                position=int(it["position"]),
                type=content.type,
                stem=content.stem,
                options=[OptionPublic(id=o, text=content.options[o]) for o in it.get("option_order", [])],
                response=r.response if r is not None else None,
                unit=str(it["unit"]),
                flagged=bool(r.flagged) if r is not None else False,
            )
        )
    return AttemptView(
        id=a.id or 0,
        session_id=a.session_id,
        status=a.status,
        scheme_code=str(a.form.get("scheme", {}).get("code", "")),
        started_at=iso(a.started_at),
        deadline=iso(_deadline_now(a, now)),
        server_time=iso(now),
        remaining_seconds=_remaining(a, now),
        submitted_at=iso(a.submitted_at) if a.submitted_at else None,
        current_position=a.current_position,
        items=items,
    )


def attempt_status(a: Attempt, now: datetime | None = None) -> AttemptStatus:
    now = now or utcnow()
    return AttemptStatus(
        id=a.id or 0,
        session_id=a.session_id,
        status=a.status,
        started_at=iso(a.started_at),
        deadline=iso(_deadline_now(a, now)),
        server_time=iso(now),
        remaining_seconds=_remaining(a, now),
        extension_seconds=a.extension_seconds,
        paused_seconds=a.paused_seconds,
        bound=a.bound_sid != "",
    )


# --- submit -----------------------------------------------------------------------------------------


async def submit_attempt(
    db: AsyncSession, attempt_id: int, principal: Principal, *, now: datetime | None = None
) -> SubmitResult:
    """Submit: idempotent; of two racing submits exactly one changes the attempt."""
    now = now or utcnow()
    a = await get_attempt_for(db, attempt_id, principal, now=now)
    if principal.role != "candidate":
        raise Forbidden("Hanya peserta yang dapat mengumpulkan ujiannya.", code="forbidden")
    conn = await db.connection()
    res = await conn.execute(
        update(ATTEMPT)
        .where(
            ATTEMPT.c.id == attempt_id,
            ATTEMPT.c.status == "in_progress",
            ATTEMPT.c.bound_sid == principal.sid,
            ATTEMPT.c.deadline >= now - GRACE,
        )
        .values(status="submitted", submitted_at=now, closed_at=now, close_reason="submitted")
    )
    if res.rowcount == 1:
        await audit.record(
            db,
            "attempt.submitted",
            "attempt",
            attempt_id,
            actor=principal.username,
            details={"session_id": a.session_id},
        )
        await db.commit()
        return SubmitResult(id=attempt_id, status="submitted", submitted_at=iso(now))
    await db.rollback()
    found = await _reload(db, attempt_id)
    assert found is not None
    a = await _expire_if_overdue(db, found, now)
    if a.status == "submitted" and a.submitted_at is not None:
        return SubmitResult(id=attempt_id, status="submitted", submitted_at=iso(a.submitted_at))
    if a.status == "paused":
        raise Conflict(
            "Ujian sedang dihentikan sementara oleh pengawas; kumpulkan setelah dilanjutkan.",
            code="attempt_paused",
        )
    if a.status in CLOSED_STATUSES:
        raise_closed(a.status)
    await raise_not_bound(db, attempt_id, principal)


# --- proctor controls -----------------------------------------------------------------------------


async def _attempt_for_proctor(
    db: AsyncSession, attempt_id: int, principal: Principal, now: datetime
) -> Attempt:
    a = await _reload(db, attempt_id, lock=True)
    if a is None:
        raise NotFound("Ujian tidak ditemukan.", code="attempt_not_found")
    await session_for_staff(db, a.session_id, principal)
    return await _expire_if_overdue(db, a, now, lock=True)


def _store_clock(a: Attempt, c: Clock) -> None:
    a.extension_seconds, a.paused_seconds, a.paused_at = c.extension_seconds, c.paused_seconds, c.paused_at
    # Stored deadline: while paused, the deadline as of the pause's start (the view adds the
    # pause so far); the sweeper ignores paused attempts.
    a.deadline = deadline(c, c.paused_at) if c.paused_at is not None else deadline(c)


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
    why = _reason(reason)
    a = await _attempt_for_proctor(db, attempt_id, principal, now)
    if a.status in CLOSED_STATUSES:
        raise_closed(a.status)
    target = "in_progress" if running else "paused"
    if a.status == target:
        await db.commit()
        return a
    _store_clock(a, (resume if running else pause)(clock_of(a), now))
    a.status = target
    db.add(a)
    await _action(
        db, principal, a.session_id, "resume" if running else "pause", attempt=a, reason=why, now=now
    )
    await db.commit()
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
    why = _reason(reason)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_EXTEND_MINUTES:
        raise Unprocessable(
            f"Tambahan waktu harus 1 sampai {MAX_EXTEND_MINUTES} menit.", code="invalid_minutes"
        )
    a = await _attempt_for_proctor(db, attempt_id, principal, now)
    if a.status in CLOSED_STATUSES:
        raise_closed(a.status)
    _store_clock(a, extend(clock_of(a), minutes))
    db.add(a)
    await _action(db, principal, a.session_id, "extend", attempt=a, reason=why, minutes=minutes, now=now)
    await db.commit()
    return a


async def terminate_attempt(
    db: AsyncSession, attempt_id: int, principal: Principal, reason: str, *, now: datetime | None = None
) -> Attempt:
    now = now or utcnow()
    why = _reason(reason)
    a = await _attempt_for_proctor(db, attempt_id, principal, now)
    if a.status in CLOSED_STATUSES:
        raise_closed(a.status)
    if a.status == "paused":
        _store_clock(a, resume(clock_of(a), now))
    a.status, a.closed_at, a.close_reason = "terminated", now, why
    db.add(a)
    await _action(db, principal, a.session_id, "terminate", attempt=a, reason=why, now=now)
    await db.commit()
    return a


async def release_attempt(
    db: AsyncSession, attempt_id: int, principal: Principal, reason: str, *, now: datetime | None = None
) -> Attempt:
    """Free the attempt from its login: the next login of its candidate to call holds it."""
    now = now or utcnow()
    why = _reason(reason)
    a = await _attempt_for_proctor(db, attempt_id, principal, now)
    if a.status in CLOSED_STATUSES:
        raise_closed(a.status)
    if a.bound_sid:
        # The login it was bound to is refused for good: an old tab still open cannot take it back.
        db.add(AttemptRelease(attempt_id=a.id or 0, sid=a.bound_sid, released_at=now))
    a.bound_sid = ""
    db.add(a)
    await _action(db, principal, a.session_id, "release", attempt=a, reason=why, now=now)
    await db.commit()
    return a


# --- roster, incidents, minutes ------------------------------------------------------------------


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
                remaining_seconds=_remaining(a, now) if a is not None else None,
                deadline=iso(_deadline_now(a, now)) if a is not None else None,
                last_saved_at=iso(a.last_saved_at) if a is not None and a.last_saved_at else None,
                current_position=a.current_position if a is not None else None,
                seat=reg.seat,
                waiting=a is None and reg.status == "registered" and reg.arrived_at is not None,
                awaiting_device=a is not None and a.status in OPEN_STATUSES and a.bound_sid == "",
                idle_seconds=(
                    int((now - (a.last_saved_at or a.started_at)).total_seconds())
                    if a is not None and a.status == "in_progress"
                    else None
                ),
            )
        )
    await db.commit()
    return out


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
    text = (description or "").strip()
    if not text:
        raise Unprocessable("Uraian kejadian wajib diisi.", code="description_required")
    if len(text) > 5000:
        raise Unprocessable("Uraian kejadian paling panjang 5000 karakter.", code="description_too_long")
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
    await db.commit()
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


async def minutes(
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
        admitted=sum(1 for r in regs if r.status == "admitted"),
        started=len(attempts),
        in_progress=by_status.get("in_progress", 0),
        paused=by_status.get("paused", 0),
        submitted=by_status.get("submitted", 0),
        expired=by_status.get("expired", 0),
        terminated=by_status.get("terminated", 0),
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
    await db.commit()
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
    )
