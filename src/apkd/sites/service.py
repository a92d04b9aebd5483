"""The site flow's rules (issue 16; docs/decisions/024-site-packages.md): export and ingest at
the centre, import, unlock and seal on a site server. Every function is given a session and
flushes; the caller (a request or a CLI command) commits. The one exception is the count of
wrong unlock codes, committed before the refusal is raised (like login failures).

Rows travel with their central ids: a site server's database holds the session, its scheme,
pool, candidates and proctors under the same ids as the centre, so a form drawn on site names
the centre's item versions. Attempts are the site's own and get new ids at ingest.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import User
from apkd.banks.models import Item, ItemVersion, Scheme, SchemeUnit
from apkd.banks.service import current_pool
from apkd.config import Settings
from apkd.dbtypes import utcnow
from apkd.errors import AppError, Forbidden, NotFound
from apkd.exams.clocks import local_text
from apkd.exams.models import (
    Attempt,
    ExamSession,
    Incident,
    ProctorAction,
    Registration,
    Response,
    ResponseHistory,
    SessionProctor,
)
from apkd.exams.saving import close_overdue
from apkd.exams.states import CLOSED_STATUSES
from apkd.signing.keys import (
    b64url_decode,
    b64url_encode,
    decrypt_private_key,
    encrypt_private_key,
    generate_key,
    public_jwk,
    thumbprint,
)
from apkd.signing.keystore import signer
from apkd.signing.models import KeyPurpose
from apkd.sites import package as pkg
from apkd.sites.models import SiteLoad, SitePackage

log = logging.getLogger("apkd.sites")

# A site may unlock this long before the session starts (proctors open the room early).
UNLOCK_LEAD = timedelta(minutes=30)
# The site clock may lag the centre's this much before its date is "clearly wrong".
CLOCK_TOLERANCE = timedelta(minutes=10)
# A package can be loaded until its session ends plus this (a late delivery still sits).
EXPIRY_AFTER_END = timedelta(hours=12)


class SiteError(AppError):
    """A refusal of the site flow; ``code`` says which (see the codes raised below)."""

    status = 409
    code = "site_refused"


# --- helpers -------------------------------------------------------------------------------------


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def _dt(text: Any) -> datetime | None:
    return None if text is None else datetime.fromisoformat(str(text))


def _req_dt(text: Any) -> datetime:
    value = _dt(text)
    if value is None:
        raise pkg.PackageError("malformed", "Tanggal wajib tidak ada di berkas.")
    return value


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


def _datetimes(model: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the ISO strings of ``model``'s datetime and date fields parsed back."""
    out = dict(data)
    for name, field in model.model_fields.items():
        if name not in out or out[name] is None:
            continue
        if field.annotation in (datetime, datetime | None):
            out[name] = datetime.fromisoformat(out[name])
        elif field.annotation in (date, date | None):
            out[name] = date.fromisoformat(out[name])
    return out


_USER_FIELDS = (
    "id", "username", "password_hash", "role", "full_name", "nip", "instansi", "jabatan",
    "region_code", "is_active", "created_at",
)  # fmt: skip
_SCHEME_FIELDS = (
    "id", "code", "version", "title", "position", "duration_minutes", "validity_months",
    "pass_score", "content_hash", "updated_at", "draw_rules",
)  # fmt: skip
_UNIT_FIELDS = ("id", "scheme_id", "code", "title", "items_per_form", "min_score", "ordinal")
_SESSION_FIELDS = (
    "id", "scheme_id", "title", "venue", "timezone", "starts_at", "ends_at", "capacity", "created_at",
)  # fmt: skip
_REG_FIELDS = (
    "id", "session_id", "user_id", "status", "registered_at", "admitted_at", "admitted_by", "arrived_at", "seat",
)  # fmt: skip
_ITEM_FIELDS = ("id", "scheme_id", "external_id", "retired_at")
_VERSION_FIELDS = (
    "id", "item_id", "version", "content_hash", "unit_code", "type", "stem", "options", "answer",
    "tolerance", "points", "reference", "created_at", "level", "review_status", "reviewer", "reviewed_at",
)  # fmt: skip
_ATTEMPT_FIELDS = (
    "id", "registration_id", "user_id", "status", "seed", "form", "started_at", "duration_seconds",
    "extension_seconds", "paused_seconds", "paused_at", "deadline", "submitted_at", "closed_at",
    "close_reason", "last_saved_at", "current_position",
)  # fmt: skip
_RESPONSE_FIELDS = ("attempt_id", "position", "response", "seq", "flagged", "saved_at")
_HISTORY_FIELDS = ("id", "attempt_id", "position", "response", "seq", "saved_at")
_INCIDENT_FIELDS = (
    "id", "attempt_id", "category", "description", "item_position", "reported_by", "created_at",
)  # fmt: skip
_ACTION_FIELDS = (
    "id", "attempt_id", "registration_id", "action", "reason", "minutes", "item_position", "actor_id",
    "created_at",
)  # fmt: skip
_AUDIT_FIELDS = ("seq", "at", "actor", "action", "subject_type", "subject_id", "details", "prev_hash", "hash")


# --- export (centre) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    package_id: str
    data: bytes
    unlock_code: str
    digest: str
    issuer_kid: str


async def export_package(
    db: AsyncSession, settings: Settings, session_id: int, *, actor: str | None, now: datetime | None = None
) -> Exported:
    """Write the signed package of one exam session and record it; the unlock code is returned
    once and stored nowhere."""
    now = now or utcnow()
    exam = await db.get(ExamSession, session_id)
    if exam is None:
        raise NotFound(f"Sesi ujian {session_id} tidak ditemukan.", code="session_not_found")
    if exam.results_published_at is not None or exam.ends_at <= now:
        raise SiteError("Sesi ujian ini sudah berakhir; paket tidak dapat dibuat.", code="session_over")
    started = (await db.exec(select(Attempt.id).where(Attempt.session_id == session_id).limit(1))).first()
    if started is not None:
        raise SiteError(
            "Sesi ini sudah berjalan di pusat (ada peserta yang mulai); paket lokasi tidak dapat dibuat.",
            code="session_started_centrally",
        )
    scheme = await db.get(Scheme, exam.scheme_id)
    assert scheme is not None
    units = (
        await db.exec(
            select(SchemeUnit).where(SchemeUnit.scheme_id == scheme.id).order_by(col(SchemeUnit.ordinal))
        )
    ).all()
    pool = await current_pool(db, exam.scheme_id)
    items = (await db.exec(select(Item).where(col(Item.id).in_({v.item_id for v in pool})))).all()
    regs = (
        await db.exec(
            select(Registration).where(Registration.session_id == session_id).order_by(col(Registration.id))
        )
    ).all()
    proctors = (
        await db.exec(select(SessionProctor.user_id).where(SessionProctor.session_id == session_id))
    ).all()
    user_ids = {r.user_id for r in regs} | set(proctors)
    users = (await db.exec(select(User).where(col(User.id).in_(user_ids)).order_by(col(User.id)))).all()

    issuer = await signer(db, settings, KeyPurpose.CREDENTIAL)
    site_key = generate_key()
    site_jwk = public_jwk(site_key)
    site_kid = thumbprint(site_jwk)
    package_id = secrets.token_hex(16)
    # Signs the site's state reports before the unlock (in clear: docs/decisions/042).
    report_key = generate_key()
    report_jwk = public_jwk(report_key)
    report_kid = thumbprint(report_jwk)
    code = pkg.new_unlock_code()
    raw_site_key = site_key.private_bytes_raw()
    secret = {
        "items": [_row(i, _ITEM_FIELDS) for i in sorted(items, key=lambda i: i.id or 0)],
        "item_versions": [_row(v, _VERSION_FIELDS) for v in sorted(pool, key=lambda v: v.id or 0)],
        "site_private_key": b64url_encode(raw_site_key),
    }
    expires_at = exam.ends_at + EXPIRY_AFTER_END
    body = {
        "package_id": package_id,
        "created_at": now.isoformat(),
        "expires_at": expires_at.isoformat(),
        "issuer": {
            "name": settings.issuer_name,
            "url": settings.base_url,
            "jwk": {**public_jwk(issuer.private_key), "kid": issuer.kid},
        },
        "site_key": {**site_jwk, "kid": site_kid},
        "report_key": {"kid": report_kid, "d": b64url_encode(report_key.private_bytes_raw())},
        "session": _row(exam, _SESSION_FIELDS),
        "scheme": _row(scheme, _SCHEME_FIELDS),
        "units": [_row(u, _UNIT_FIELDS) for u in units],
        "users": [_row(u, _USER_FIELDS) for u in users],
        "registrations": [_row(r, _REG_FIELDS) for r in regs],
        "proctors": sorted(proctors),
        "secret": pkg.encrypt_secret(secret, code, package_id),
    }
    data = pkg.seal_envelope(pkg.PACKAGE_FORMAT, body, issuer.private_key, issuer.kid)
    digest = pkg.open_envelope(data, pkg.PACKAGE_FORMAT).digest
    db.add(
        SitePackage(
            id=package_id,
            session_id=session_id,
            digest=digest,
            site_kid=site_kid,
            site_public_jwk=site_jwk,
            created_at=now,
            expires_at=expires_at,
            created_by=actor,
            report_kid=report_kid,
            report_public_jwk=report_jwk,
        )
    )
    await audit.record(
        db,
        "site.package_exported",
        "exam_session",
        session_id,
        actor=actor,
        details={"package_id": package_id, "digest": digest, "candidates": len(regs), "items": len(pool)},
    )
    await db.flush()
    return Exported(package_id=package_id, data=data, unlock_code=code, digest=digest, issuer_kid=issuer.kid)


# --- import (site) -------------------------------------------------------------------------------


def _refuse(exc: pkg.PackageError, what: str = "package") -> SiteError:
    return SiteError(exc.message, code=f"{what}_{exc.code}", status=422)


def _verified_package(data: bytes, fingerprint: str | None) -> pkg.Envelope:
    try:
        env = pkg.open_envelope(data, pkg.PACKAGE_FORMAT)
        issuer = env.body.get("issuer")
        jwk = issuer.get("jwk") if isinstance(issuer, dict) else None
        if not isinstance(jwk, dict):
            raise pkg.PackageError("malformed", "Paket tidak memuat kunci publik penerbit.")
        env.verify(jwk)
    except pkg.PackageError as exc:
        raise _refuse(exc) from None
    if fingerprint is not None and fingerprint.strip() != env.kid:
        raise SiteError(
            f"Sidik kunci penerbit paket ({env.kid}) tidak sama dengan yang Anda berikan ({fingerprint.strip()}).",
            code="package_wrong_issuer",
            status=422,
        )
    return env


async def _put_same(db: AsyncSession, model: type[Any], data: dict[str, Any], same: tuple[str, ...]) -> None:
    """Insert ``data`` as a ``model`` row under its central id, or accept the row already there
    when it agrees on ``same`` (a proctor or scheme shared by two packages)."""
    values = _datetimes(model, data)
    existing = await db.get(model, values["id"])
    if existing is None:
        db.add(model(**values))
        return
    if any(getattr(existing, k) != values[k] for k in same):
        raise SiteError(
            f"Basis data lokasi ini sudah memuat data lain dengan nomor yang sama ({model.__tablename__} "
            f"{values['id']}); muat paket ke basis data lokasi yang baru.",
            code="site_database_conflict",
        )


async def import_package(
    db: AsyncSession, data: bytes, *, fingerprint: str | None = None, now: datetime | None = None
) -> SiteLoad:
    """Load a package into this site's database after checking its signature, expiry and that
    it is not loaded yet. Items stay encrypted until :func:`unlock`."""
    now = now or utcnow()
    env = _verified_package(data, fingerprint)
    body = env.body
    try:
        package_id = str(body["package_id"])
        created_at, expires_at = _req_dt(body["created_at"]), _req_dt(body["expires_at"])
        session, scheme = body["session"], body["scheme"]
        site_kid = str(body["site_key"]["kid"])
    except (KeyError, TypeError, ValueError, pkg.PackageError):
        raise SiteError("Isi paket tidak lengkap.", code="package_malformed", status=422) from None
    if now > expires_at:
        raise SiteError(
            f"Paket ini kedaluwarsa sejak {expires_at.isoformat()}; minta paket baru ke pusat.",
            code="package_expired",
        )
    if now < created_at - CLOCK_TOLERANCE:
        raise SiteError(
            "Jam komputer lokasi lebih awal daripada waktu pembuatan paket: periksa tanggal dan jam komputer ini.",
            code="site_clock_wrong",
        )
    if await db.get(SiteLoad, package_id) is not None:
        raise SiteError("Paket ini sudah dimuat di lokasi ini.", code="package_already_loaded")
    other = (await db.exec(select(SiteLoad).where(SiteLoad.session_id == session["id"]))).first()
    if other is not None:
        raise SiteError(
            f"Sesi {session['id']} sudah dimuat dari paket lain ({other.package_id}).",
            code="package_already_loaded",
        )
    for u in body["users"]:
        await _put_same(db, User, u, ("username",))
    await db.flush()
    await _put_same(db, Scheme, scheme, ("code", "content_hash"))
    await db.flush()
    for unit in body["units"]:
        await _put_same(db, SchemeUnit, unit, ("scheme_id", "code"))
    await _put_same(db, ExamSession, session, ("scheme_id", "starts_at"))
    await db.flush()
    for uid in body["proctors"]:
        if await db.get(SessionProctor, (session["id"], uid)) is None:
            db.add(SessionProctor(session_id=session["id"], user_id=uid))
    for reg in body["registrations"]:
        await _put_same(db, Registration, reg, ("session_id", "user_id"))
    load = SiteLoad(
        package_id=package_id,
        session_id=session["id"],
        digest=env.digest,
        issuer_kid=env.kid,
        package_file=data,
        created_at=created_at,
        expires_at=expires_at,
        loaded_at=now,
        load_offset_seconds=int((now - created_at).total_seconds()),
        site_kid=site_kid,
    )
    db.add(load)
    await audit.record(
        db,
        "site.package_loaded",
        "exam_session",
        session["id"],
        actor=None,
        details={"package_id": package_id, "digest": env.digest, "issuer_kid": env.kid},
    )
    await db.flush()
    return load


# --- unlock (site) -------------------------------------------------------------------------------


async def _load_of(db: AsyncSession, session_id: int) -> SiteLoad:
    load = (await db.exec(select(SiteLoad).where(SiteLoad.session_id == session_id))).first()
    if load is None:
        raise NotFound(
            f"Tidak ada paket yang dimuat untuk sesi {session_id} di lokasi ini.", code="package_not_loaded"
        )
    return load


async def unlock(
    db: AsyncSession,
    settings: Settings,
    session_id: int,
    code: str,
    *,
    actor: str | None,
    now: datetime | None = None,
) -> SiteLoad:
    """Open a loaded package with its code, inside the session's window, so attempts can start.

    A wrong code is counted (committed, so the refusal cannot erase it) and refused.
    """
    now = now or utcnow()
    load = await _load_of(db, session_id)
    exam = await db.get(ExamSession, session_id)
    assert exam is not None
    if now < load.created_at - CLOCK_TOLERANCE:
        raise SiteError(
            "Jam komputer lokasi lebih awal daripada waktu pembuatan paket: periksa tanggal dan jam "
            "komputer ini sebelum membuka paket.",
            code="site_clock_wrong",
        )
    opens = exam.starts_at - UNLOCK_LEAD
    if now < opens:
        raise Forbidden(
            f"Paket baru dapat dibuka mulai {opens.isoformat()} (30 menit sebelum sesi dimulai).",
            code="unlock_too_early",
        )
    if now > exam.ends_at:
        raise Forbidden("Waktu sesi sudah berakhir; paket tidak dapat dibuka lagi.", code="unlock_too_late")
    env = pkg.open_envelope(load.package_file, pkg.PACKAGE_FORMAT)
    try:
        secret = pkg.decrypt_secret(env.body["secret"], code, load.package_id)
    except pkg.WrongCode:
        load.failed_unlocks += 1
        await audit.record(
            db, "site.unlock_refused", "exam_session", session_id, actor=actor,
            details={"package_id": load.package_id, "failed_unlocks": load.failed_unlocks},
        )  # fmt: skip
        await db.commit()  # counted even though the refusal below rolls the request back
        raise Forbidden(
            f"Kode pembuka salah (percobaan gagal ke-{load.failed_unlocks}).", code="unlock_wrong_code"
        ) from None
    except pkg.PackageError as exc:
        raise _refuse(exc) from None
    if load.unlocked_at is not None:  # again, with the right code: nothing more to do
        return load
    for item in secret["items"]:
        await _put_same(db, Item, item, ("scheme_id", "external_id"))
    await db.flush()
    for version in secret["item_versions"]:
        await _put_same(db, ItemVersion, version, ("item_id", "content_hash"))
    site_key = pkg.private_key_from_raw(b64url_decode(secret["site_private_key"]))
    load.site_key_enc = encrypt_private_key(site_key, settings.secret_key, load.site_kid)
    load.unlocked_at = now
    load.unlock_offset_seconds = int((now - load.created_at).total_seconds())
    db.add(load)
    await audit.record(
        db,
        "site.unlocked",
        "exam_session",
        session_id,
        actor=actor,
        details={
            "package_id": load.package_id,
            "items": len(secret["item_versions"]),
            "clock_offset_seconds": load.unlock_offset_seconds,
            "failed_unlocks": load.failed_unlocks,
        },
    )
    await db.flush()
    return load


async def start_refusal(db: AsyncSession, session_id: int) -> str | None:
    """Why a candidate may not start in this session on this site now, or None."""
    load = (await db.exec(select(SiteLoad).where(SiteLoad.session_id == session_id))).first()
    if load is None:
        return None
    if load.unlocked_at is None:
        return "Paket ujian belum dibuka oleh pengawas. Tunggu aba-aba pengawas."
    if load.sealed_at is not None:
        return "Sesi ujian di lokasi ini sudah ditutup (disegel)."
    return None


# --- seal (site) ---------------------------------------------------------------------------------


async def _site_key(load: SiteLoad, settings: Settings) -> Any:
    if load.site_key_enc is None:
        raise SiteError(
            "Paket belum pernah dibuka di lokasi ini; tidak ada hasil untuk disegel.", code="not_unlocked"
        )
    return decrypt_private_key(load.site_key_enc, settings.secret_key, load.site_kid)


async def _results_body(db: AsyncSession, load: SiteLoad, seal_seq: int) -> dict[str, Any]:
    """Everything the session left in this database, in a fixed order (a re-seal is identical)."""
    sid = load.session_id
    regs = (
        await db.exec(
            select(Registration).where(Registration.session_id == sid).order_by(col(Registration.id))
        )
    ).all()
    attempts = (
        await db.exec(
            select(Attempt)
            .where(Attempt.session_id == sid)
            .order_by(col(Attempt.id))
            .execution_options(populate_existing=True)
        )
    ).all()
    ids = [a.id for a in attempts]
    responses = (
        await db.exec(
            select(Response)
            .where(col(Response.attempt_id).in_(ids))
            .order_by(col(Response.attempt_id), col(Response.position))
        )
    ).all()
    history = (
        await db.exec(
            select(ResponseHistory)
            .where(col(ResponseHistory.attempt_id).in_(ids))
            .order_by(col(ResponseHistory.id))
        )
    ).all()
    incidents = (
        await db.exec(select(Incident).where(Incident.session_id == sid).order_by(col(Incident.id)))
    ).all()
    actions = (
        await db.exec(
            select(ProctorAction).where(ProctorAction.session_id == sid).order_by(col(ProctorAction.id))
        )
    ).all()
    events = (
        await db.exec(
            select(audit.AuditEvent)
            .where(col(audit.AuditEvent.seq) <= seal_seq)
            .order_by(col(audit.AuditEvent.seq))
        )
    ).all()
    return {
        "package_id": load.package_id,
        "package_digest": load.digest,
        "session_id": sid,
        "sealed_at": _iso(load.sealed_at),
        "minutes": {
            "loaded_at": _iso(load.loaded_at),
            "load_clock_offset_seconds": load.load_offset_seconds,
            "unlocked_at": _iso(load.unlocked_at),
            "unlock_clock_offset_seconds": load.unlock_offset_seconds,
            "failed_unlocks": load.failed_unlocks,
            "registered": len(regs),
            "started": len(attempts),
            "absent": len(regs) - len(attempts),
        },
        "registrations": [_row(r, _REG_FIELDS) for r in regs],
        "attempts": [_row(a, _ATTEMPT_FIELDS) for a in attempts],
        "responses": [_row(r, _RESPONSE_FIELDS) for r in responses],
        "response_history": [_row(h, _HISTORY_FIELDS) for h in history],
        "incidents": [_row(i, _INCIDENT_FIELDS) for i in incidents],
        "proctor_actions": [_row(p, _ACTION_FIELDS) for p in actions],
        "audit": [_row(e, _AUDIT_FIELDS) for e in events],
    }


async def seal(
    db: AsyncSession, settings: Settings, session_id: int, *, actor: str | None, now: datetime | None = None
) -> bytes:
    """Close the session on this site and return the signed results file.

    The first seal closes every open attempt (overdue ones as the sweeper would, the rest as
    ``expired`` with reason ``site_sealed``: their acknowledged answers count) and records the
    seal in the audit chain; a later seal writes the same file again from the database.
    """
    now = now or utcnow()
    load = await _load_of(db, session_id)
    key = await _site_key(load, settings)
    if load.sealed_at is None:
        await close_overdue(db, now, session_id=session_id, commit=False)
        conn = await db.connection()
        closed = (
            (
                await conn.execute(
                    update(Attempt)
                    .where(col(Attempt.session_id) == session_id, col(Attempt.status).not_in(CLOSED_STATUSES))
                    .values(status="expired", closed_at=now, close_reason="site_sealed")
                    .returning(col(Attempt.id))
                )
            )
            .scalars()
            .all()
        )
        load.sealed_at = now
        db.add(load)
        await audit.record(
            db,
            "site.sealed",
            "site_package",
            load.package_id,
            actor=actor,
            details={"session_id": session_id, "closed_open_attempts": sorted(closed)},
        )
        await db.flush()
    seal_event = (
        await db.exec(
            select(audit.AuditEvent).where(
                audit.AuditEvent.action == "site.sealed", audit.AuditEvent.subject_id == load.package_id
            )
        )
    ).one()
    body = await _results_body(db, load, seal_event.seq)
    data = pkg.seal_envelope(pkg.RESULTS_FORMAT, body, key, load.site_kid)
    load.results_digest = pkg.open_envelope(data, pkg.RESULTS_FORMAT).digest
    db.add(load)
    await db.flush()
    return data


def _check_chain(events: list[dict[str, Any]]) -> str:
    """The head hash of a site's audit chain as carried in its results; SiteError when broken."""
    prev = audit.GENESIS
    for n, ev in enumerate(events, start=1):
        expected = audit.event_hash(
            prev, ev["seq"], datetime.fromisoformat(ev["at"]), ev["actor"], ev["action"],
            ev["subject_type"], ev["subject_id"], ev["details"],
        )  # fmt: skip
        if ev["seq"] != n or ev["prev_hash"] != prev or ev["hash"] != expected:
            raise SiteError(
                f"Rantai audit lokasi rusak pada peristiwa #{n}.", code="results_audit_broken", status=422
            )
        prev = ev["hash"]
    return prev


# --- ingest (centre) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ingested:
    package_id: str
    session_id: int
    attempts: int
    already: bool  # the same file was ingested before: nothing changed


async def ingest(
    db: AsyncSession, data: bytes, *, actor: str | None, via: str = "cli", now: datetime | None = None
) -> Ingested:
    """Verify a site's results file and store its attempts as if they had run here. Idempotent;
    a different file for a package whose results are already in is refused."""
    now = now or utcnow()
    try:
        env = pkg.open_envelope(data, pkg.RESULTS_FORMAT)
    except pkg.PackageError as exc:
        raise _refuse(exc, "results") from None
    package_id = env.body.get("package_id")
    row = await db.get(SitePackage, package_id) if isinstance(package_id, str) else None
    if row is None:
        raise SiteError(
            "Berkas hasil ini bukan untuk paket yang diterbitkan pusat ini.",
            code="results_unknown_package",
            status=422,
        )
    try:
        env.verify({**row.site_public_jwk})
    except pkg.PackageError as exc:
        raise _refuse(exc, "results") from None
    body = env.body
    if body.get("package_digest") != row.digest or body.get("session_id") != row.session_id:
        raise SiteError(
            "Berkas hasil tidak cocok dengan paket yang diterbitkan.",
            code="results_package_mismatch",
            status=422,
        )
    if row.results_digest is not None:
        if secrets.compare_digest(row.results_digest, env.digest):
            return Ingested(row.id, row.session_id, len(body["attempts"]), already=True)
        log.warning(
            "site results refused: package %s already has results %s, got %s",
            row.id,
            row.results_digest,
            env.digest,
        )
        raise SiteError(
            "Hasil untuk paket ini sudah diterima dari berkas lain; berkas ini bertentangan dan ditolak. "
            "Periksa kedua berkas bersama pengawas lokasi.",
            code="results_conflict",
        )
    existing = (
        await db.exec(select(Attempt.id).where(Attempt.session_id == row.session_id).limit(1))
    ).first()
    if existing is not None:
        raise SiteError(
            "Sesi ini sudah memiliki percobaan ujian di pusat; hasil lokasi tidak dapat digabung.",
            code="results_conflict",
        )
    try:
        head = _check_chain(body["audit"])
        new_ids = await _store_results(db, row, body)
    except (KeyError, TypeError, ValueError, AttributeError, IntegrityError):
        # Signed by the site key, yet not what seal writes: a broken or forged site program.
        raise SiteError(
            "Berkas hasil bertanda tangan sah tetapi isinya tidak sesuai format hasil lokasi.",
            code="results_malformed",
            status=422,
        ) from None
    row.results_digest = env.digest
    row.results_file = data
    row.ingested_at = now
    row.ingested_via = via
    db.add(row)
    await audit.record(
        db,
        "site.results_ingested",
        "exam_session",
        row.session_id,
        actor=actor or f"site:{row.id}",
        details={
            "source": "site",
            "package_id": row.id,
            "results_digest": env.digest,
            "attempts": {str(k): v for k, v in sorted(new_ids.items())},
            "site_audit_head": head,
            "site_audit_events": len(body["audit"]),
            "site_minutes": body["minutes"],
            "via": via,
        },
    )
    await db.flush()
    return Ingested(row.id, row.session_id, len(new_ids), already=False)


def _mismatch(what: str) -> SiteError:
    return SiteError(
        f"Berkas hasil memuat {what} yang tidak dikenal pusat untuk sesi ini.",
        code="results_package_mismatch",
        status=422,
    )


async def _store_results(db: AsyncSession, row: SitePackage, body: dict[str, Any]) -> dict[int, int]:
    """Store a verified results body as the session's attempts; site attempt id -> central id.

    The site key only proves which site wrote the file, so everything it names is checked
    against what the centre knows: the session's registrations and people, and the item
    versions of the session's scheme. Nothing else is taken from the file."""
    exam = await db.get(ExamSession, row.session_id)
    assert exam is not None
    regs = {
        r.id: r
        for r in (await db.exec(select(Registration).where(Registration.session_id == row.session_id))).all()
    }
    proctors = set(
        (
            await db.exec(select(SessionProctor.user_id).where(SessionProctor.session_id == row.session_id))
        ).all()
    )
    people = proctors | {r.user_id for r in regs.values()}
    scheme_versions = set(
        (
            await db.exec(
                select(ItemVersion.id)
                .join(Item, col(Item.id) == col(ItemVersion.item_id))
                .where(Item.scheme_id == exam.scheme_id)
            )
        ).all()
    )
    for r in body["registrations"]:
        reg = regs.get(r["id"])
        if reg is None or reg.user_id != r["user_id"] or (r["admitted_by"] not in people | {None}):
            raise _mismatch("pendaftaran")
        reg.status = str(r["status"])
        reg.admitted_at = _dt(r["admitted_at"])
        reg.admitted_by = r["admitted_by"]
        reg.arrived_at = _dt(r["arrived_at"])
        reg.seat = r["seat"]
        db.add(reg)
    new_ids: dict[int, int] = {}
    positions: dict[int, set[int]] = {}
    for a in body["attempts"]:
        values = _datetimes(Attempt, {k: v for k, v in a.items() if k != "id"})
        reg = regs.get(values["registration_id"])
        items = values["form"]["items"]
        if (
            reg is None
            or reg.user_id != values["user_id"]
            or values["status"] not in CLOSED_STATUSES
            or not {i["item_version_id"] for i in items} <= scheme_versions
        ):
            raise _mismatch("percobaan")
        attempt = Attempt(session_id=row.session_id, bound_sid=f"site:{row.id}", **values)
        db.add(attempt)
        await db.flush()
        assert attempt.id is not None
        new_ids[a["id"]] = attempt.id
        positions[attempt.id] = {int(i["position"]) for i in items}

    def mapped(value: Any) -> int | None:
        return None if value is None else new_ids[value]

    for r in body["responses"]:
        attempt_id = new_ids[r["attempt_id"]]
        if r["position"] not in positions[attempt_id]:
            raise _mismatch("jawaban")
        db.add(Response(**_datetimes(Response, {**r, "attempt_id": attempt_id})))
    for h in body["response_history"]:
        values = {k: v for k, v in h.items() if k != "id"}
        values.update(attempt_id=new_ids[h["attempt_id"]], sid="site")
        db.add(ResponseHistory(**_datetimes(ResponseHistory, values)))
    for i in body["incidents"]:
        if i["reported_by"] not in people:
            raise _mismatch("pelapor kejadian")
        values = {k: v for k, v in i.items() if k != "id"}
        values.update(session_id=row.session_id, attempt_id=mapped(i["attempt_id"]))
        db.add(Incident(**_datetimes(Incident, values)))
    for p in body["proctor_actions"]:
        if p["actor_id"] not in people or (
            p["registration_id"] is not None and p["registration_id"] not in regs
        ):
            raise _mismatch("tindakan pengawas")
        values = {k: v for k, v in p.items() if k != "id"}
        values.update(session_id=row.session_id, attempt_id=mapped(p["attempt_id"]))
        db.add(ProctorAction(**_datetimes(ProctorAction, values)))
    await db.flush()
    return new_ids


# --- state ---------------------------------------------------------------------------------------

# How far a package went, in order; a report never moves a package back (docs/decisions/042).
STATES = ("exported", "loaded", "unlocked", "sealed", "ingested")
REPORT_STATES = ("loaded", "unlocked", "sealed")
_RANK = {name: n for n, name in enumerate(STATES)}
# A report is a few hundred bytes; anything much bigger is not one.
REPORT_MAX_BYTES = 16 * 1024


def package_state(row: SitePackage) -> str:
    """The latest state the centre knows: ingested here, else what the site last reported."""
    if row.ingested_at is not None:
        return "ingested"
    return row.site_state or "exported"


def site_state(load: SiteLoad) -> str:
    """The state a site reports: loaded, unlocked or sealed."""
    if load.sealed_at is not None:
        return "sealed"
    if load.unlocked_at is not None:
        return "unlocked"
    return "loaded"


def load_state(load: SiteLoad) -> str:
    return "pushed" if load.pushed_at is not None else site_state(load)


def report_due(load: SiteLoad) -> bool:
    """The centre has not acknowledged the site's current state yet."""
    return load.reported_state != site_state(load)


async def packages(db: AsyncSession) -> list[SitePackage]:
    return list((await db.exec(select(SitePackage).order_by(col(SitePackage.created_at)))).all())


async def loads(db: AsyncSession) -> list[SiteLoad]:
    return list((await db.exec(select(SiteLoad).order_by(col(SiteLoad.loaded_at)))).all())


async def record_push(
    db: AsyncSession, session_id: int, error: str | None, *, now: datetime | None = None
) -> None:
    """Note on the site that the centre acknowledged the results (``error`` None) or why not."""
    load = await _load_of(db, session_id)
    if error is None:
        load.pushed_at = now or utcnow()
    load.push_error = error
    db.add(load)
    await db.flush()


# --- state reports (site -> centre) -----------------------------------------------------------------


def centre_url(settings: Settings, load: SiteLoad) -> str | None:
    """Where this site reports: APKD_CENTRE_URL, else the centre's address the package carries."""
    if settings.centre_url:
        return settings.centre_url
    issuer = pkg.open_envelope(load.package_file, pkg.PACKAGE_FORMAT).body.get("issuer")
    url = issuer.get("url") if isinstance(issuer, dict) else None
    return str(url).rstrip("/") if isinstance(url, str) and url.startswith(("http://", "https://")) else None


async def load_of_session(db: AsyncSession, session_id: int) -> SiteLoad:
    return await _load_of(db, session_id)


async def _report_signer(load: SiteLoad, settings: Settings) -> tuple[Any, str]:
    if load.site_key_enc is not None:
        return await _site_key(load, settings), load.site_kid
    key = pkg.open_envelope(load.package_file, pkg.PACKAGE_FORMAT).body.get("report_key")
    if not isinstance(key, dict) or not isinstance(key.get("d"), str):
        raise SiteError(
            "Paket ini dibuat sebelum ada laporan keadaan; keadaan baru dapat dilaporkan setelah paket dibuka.",
            code="report_unavailable",
        )
    return pkg.private_key_from_raw(b64url_decode(key["d"])), str(key["kid"])


async def build_report(
    db: AsyncSession, settings: Settings, load: SiteLoad, *, now: datetime | None = None
) -> bytes:
    """A signed report of this package's state on this site, with a sequence number above
    every earlier one (the site clock's milliseconds, or the last number + 1 when the clock
    went back). Flushes the new number; the caller commits before sending."""
    now = now or utcnow()
    key, kid = await _report_signer(load, settings)
    seq = max(load.report_seq + 1, int(now.timestamp() * 1000))
    sid = load.session_id
    regs = len((await db.exec(select(Registration.id).where(Registration.session_id == sid))).all())
    statuses = (await db.exec(select(Attempt.status).where(Attempt.session_id == sid))).all()
    body = {
        "package_id": load.package_id,
        "session_id": sid,
        "seq": seq,
        "state": site_state(load),
        "sent_at": now.isoformat(),
        "loaded_at": _iso(load.loaded_at),
        "unlocked_at": _iso(load.unlocked_at),
        "sealed_at": _iso(load.sealed_at),
        "load_clock_offset_seconds": load.load_offset_seconds,
        "unlock_clock_offset_seconds": load.unlock_offset_seconds,
        "failed_unlocks": load.failed_unlocks,
        "counts": {
            "registered": regs,
            "started": len(statuses),
            "submitted": sum(1 for x in statuses if x == "submitted"),
        },
    }
    load.report_seq = seq
    db.add(load)
    await db.flush()
    return pkg.seal_envelope(pkg.REPORT_FORMAT, body, key, kid)


def answered_offset(text: str) -> int | None:
    """The site clock's offset the centre measured, from its answer to a report."""
    try:
        value = json.loads(text).get("clock_offset_seconds")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def record_report(
    db: AsyncSession,
    package_id: str,
    state: str | None,
    error: str | None,
    *,
    offset: int | None = None,
    now: datetime | None = None,
) -> None:
    """Note on the site that the centre took the report of ``state`` (and measured the site
    clock ``offset`` seconds off its own), or (``state`` None) why not."""
    load = await db.get(SiteLoad, package_id)
    if load is None:
        return
    if state is not None:
        load.reported_state = state
        load.reported_at = now or utcnow()
        load.report_error = None
        if offset is not None:
            load.centre_offset_seconds = offset
    else:
        load.report_error = (error or "")[:300]
    db.add(load)
    await db.flush()


def _report_refused(message: str, code: str, status: int = 422) -> SiteError:
    return SiteError(message, code=code, status=status)


def _int(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(value)
    return value


async def accept_report(db: AsyncSession, data: bytes, *, now: datetime | None = None) -> SitePackage:
    """Take a site's state report (centre). Verified with the package's site key (or, for
    ``loaded`` only, its report key); a report not newer than the last one taken is refused
    (``report_stale``) and changes nothing, so a replayed or late report never moves a state back."""
    now = now or utcnow()
    if len(data) > REPORT_MAX_BYTES:
        raise _report_refused("Laporan keadaan terlalu besar.", "report_too_large", 413)
    try:
        env = pkg.open_envelope(data, pkg.REPORT_FORMAT)
    except pkg.PackageError as exc:
        raise _refuse(exc, "report") from None
    package_id = env.body.get("package_id")
    row = (
        await db.get(SitePackage, package_id)
        if isinstance(package_id, str) and len(package_id) <= 32
        else None
    )
    if row is None:
        raise _report_refused(
            "Laporan ini bukan untuk paket yang diterbitkan pusat ini.", "report_unknown_package"
        )
    by_report_key = row.report_kid is not None and env.kid == row.report_kid
    jwk = row.report_public_jwk if by_report_key else row.site_public_jwk
    try:
        env.verify({**(jwk or {})})
    except pkg.PackageError as exc:
        raise _refuse(exc, "report") from None
    body = env.body
    try:
        if body["session_id"] != row.session_id:
            raise ValueError("session")
        state = body["state"]
        if state not in REPORT_STATES:
            raise ValueError(state)
        seq = _int(body["seq"], 1, 2**62)
        sent_at = _req_dt(body["sent_at"])
        times = {k: _dt(body.get(f"{k}_at")) for k in REPORT_STATES}
        counts = {k: _int(body["counts"][k], 0, 1_000_000) for k in ("registered", "started", "submitted")}
        failed = _int(body.get("failed_unlocks", 0), 0, 1_000_000)
        offsets = {
            k: None if body.get(k) is None else _int(body[k], -(2**40), 2**40)
            for k in ("load_clock_offset_seconds", "unlock_clock_offset_seconds")
        }
    except (KeyError, TypeError, ValueError, AttributeError, pkg.PackageError):
        raise _report_refused(
            "Laporan keadaan bertanda tangan sah tetapi isinya rusak.", "report_malformed"
        ) from None
    if by_report_key and state != "loaded":
        raise _report_refused(
            "Laporan keadaan setelah paket dibuka harus ditandatangani dengan kunci lokasi.",
            "report_wrong_signer",
        )
    before = row.site_state or "exported"
    if (_RANK[state], seq) <= (_RANK[before], row.report_seq or 0):
        raise _report_refused(
            "Pusat sudah menerima laporan yang lebih baru untuk paket ini; laporan ini diabaikan.",
            "report_stale",
            409,
        )
    row.site_state = state
    row.report_seq = seq
    row.site_loaded_at = times["loaded"]
    row.site_unlocked_at = times["unlocked"]
    row.site_sealed_at = times["sealed"]
    row.last_report_at = now
    row.clock_offset_seconds = int((sent_at - now).total_seconds())
    row.site_counts = {**counts, "failed_unlocks": failed, **offsets}
    db.add(row)
    if _RANK[state] > _RANK[before]:
        await audit.record(
            db,
            "site.state_reported",
            "exam_session",
            row.session_id,
            actor=f"site:{row.id}",
            details={
                "package_id": row.id,
                "state": state,
                "at": _iso(times[state]),
                "clock_offset_seconds": row.clock_offset_seconds,
                **row.site_counts,
            },
        )
    await db.flush()
    return row


# --- the minutes ---------------------------------------------------------------------------------


def offset_text(seconds: int) -> str:
    """3725 -> "+1 jam 2 menit 5 detik" (the site clock ahead), -4 -> "-4 detik"."""
    sign = "+" if seconds > 0 else "-" if seconds < 0 else ""
    s = abs(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "hari"), (hours, "jam"), (minutes, "menit")) if n]
    return sign + " ".join([*parts, f"{s} detik"] if s or not parts else parts)


async def minutes_notes(db: AsyncSession, session_id: int, tz: str) -> list[str]:
    """What the minutes say about a session run on a site server (issue 16): on the site from
    its load, at the centre from the site's reports and the results it took."""
    load = (await db.exec(select(SiteLoad).where(SiteLoad.session_id == session_id))).first()
    if load is not None:
        return _load_notes(load, tz)
    row = (await db.exec(select(SitePackage).where(SitePackage.session_id == session_id))).first()
    return [] if row is None else _package_notes(row, tz)


def _when(dt: datetime | None, tz: str) -> str:
    return "-" if dt is None else local_text(dt, tz)


def _load_notes(load: SiteLoad, tz: str) -> list[str]:
    out = [
        f"Ujian dilaksanakan di server lokasi dengan paket {load.package_id} (dibuat pusat "
        f"{_when(load.created_at, tz)}, jam pusat). Waktu di bawah menurut jam komputer lokasi.",
        f"Paket dimuat {_when(load.loaded_at, tz)} (jam lokasi {offset_text(load.load_offset_seconds)} "
        "sesudah waktu pembuatan paket).",
    ]
    if load.unlocked_at is not None:
        out.append(
            f"Paket dibuka {_when(load.unlocked_at, tz)} (jam lokasi "
            f"{offset_text(load.unlock_offset_seconds or 0)} sesudah waktu pembuatan paket)."
        )
    else:
        out.append("Paket belum dibuka.")
    out.append(f"Kode pembuka salah dimasukkan {load.failed_unlocks} kali.")
    if load.centre_offset_seconds is not None:
        out.append(
            f"Selisih jam komputer lokasi terhadap jam pusat: {offset_text(load.centre_offset_seconds)} "
            f"(diukur saat laporan ke pusat {_when(load.reported_at, tz)})."
        )
    else:
        out.append(
            "Selisih jam komputer lokasi terhadap jam pusat belum terukur (belum ada laporan diterima pusat)."
        )
    if load.sealed_at is not None:
        out.append(f"Sesi disegel di lokasi {_when(load.sealed_at, tz)}.")
    return out


def _package_notes(row: SitePackage, tz: str) -> list[str]:
    out = [f"Sesi ini diujikan di server lokasi dengan paket {row.id}, dibuat {_when(row.created_at, tz)}."]
    minutes: dict[str, Any] = {}
    if row.results_file is not None:
        minutes = pkg.open_envelope(row.results_file, pkg.RESULTS_FORMAT).body.get("minutes") or {}
    loaded = row.site_loaded_at or _dt(minutes.get("loaded_at"))
    unlocked = row.site_unlocked_at or _dt(minutes.get("unlocked_at"))
    if loaded is not None:
        out.append(f"Dimuat di lokasi {_when(loaded, tz)} (jam lokasi).")
    if unlocked is not None:
        offset = minutes.get("unlock_clock_offset_seconds")
        since = (
            f"; jam lokasi {offset_text(offset)} sesudah pembuatan paket" if isinstance(offset, int) else ""
        )
        out.append(f"Dibuka di lokasi {_when(unlocked, tz)} (jam lokasi{since}).")
    if row.site_sealed_at is not None:
        out.append(f"Disegel di lokasi {_when(row.site_sealed_at, tz)} (jam lokasi).")
    if "failed_unlocks" in minutes:
        out.append(f"Kode pembuka salah dimasukkan {minutes['failed_unlocks']} kali.")
    if row.clock_offset_seconds is not None:
        out.append(
            f"Selisih jam komputer lokasi terhadap jam pusat pada laporan terakhir: "
            f"{offset_text(row.clock_offset_seconds)} (diterima {_when(row.last_report_at, tz)})."
        )
    if row.ingested_at is not None:
        out.append(f"Hasil diterima pusat {_when(row.ingested_at, tz)}.")
    return out
