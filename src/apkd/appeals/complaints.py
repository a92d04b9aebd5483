"""Complaints (pengaduan): anyone may complain about a credential or about the certification
body from the public page, without a login, giving a contact. The complainant gets a reference
to follow the state; the body takes it up (diperiksa) and decides it (diterima / ditolak, with
reasons). An upheld complaint about a credential can suspend or withdraw it through the
credential service, recorded with the complaint.

Rate limit: ``settings.complaint_rate_limit`` complaints per client address per hour, counted in
the database (a keyed hash of the address is stored, never the address), so every worker and
host shares the count."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import User
from apkd.accounts.security import Principal
from apkd.appeals.models import Complaint
from apkd.appeals.schemas import (
    ComplaintCreate,
    ComplaintDecision,
    ComplaintPublic,
    ComplaintReceipt,
    ComplaintStatus,
)
from apkd.appeals.states import OPEN_STATES, CaseState, ComplaintAction, ComplaintSubject, label
from apkd.config import Settings
from apkd.credentials import service as credentials
from apkd.db import utcnow
from apkd.errors import Conflict, NotFound, TooManyRequests, Unprocessable
from apkd.exams.clocks import local_iso, local_text
from apkd.textrules import clean_reason, one_line

TZ = "Asia/Makassar"  # the body's own zone for what it tells the public (WITA)
MAX_DESCRIPTION = 5000
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{6,20}$")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def client_hash(settings: Settings, address: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"complaint:{address}".encode(), hashlib.sha256).hexdigest()


def _reference(now: datetime) -> str:
    return f"ADU-{now:%Y}-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


async def lodge(
    db: AsyncSession,
    data: ComplaintCreate,
    *,
    client_address: str,
    settings: Settings,
    now: datetime | None = None,
) -> ComplaintReceipt:
    now = now or utcnow()
    who = client_hash(settings, client_address)
    if settings.complaint_rate_limit > 0:
        since = now - timedelta(hours=1)
        recent = (
            await db.exec(
                select(func.count(), func.min(Complaint.submitted_at)).where(
                    Complaint.client_hash == who, col(Complaint.submitted_at) > since
                )
            )
        ).one()
        if recent[0] >= settings.complaint_rate_limit:
            retry = max(1, math.ceil((recent[1] + timedelta(hours=1) - now).total_seconds()))
            raise TooManyRequests(
                f"Terlalu banyak pengaduan dari alamat Anda (batas {settings.complaint_rate_limit} per jam). "
                f"Coba lagi dalam {math.ceil(retry / 60)} menit.",
                headers={"Retry-After": str(retry)},
            )
    name = one_line(data.name)
    if not name or len(name) > 200:
        raise Unprocessable("Nama wajib diisi (paling panjang 200 karakter).", code="invalid_name")
    contact = one_line(data.contact)
    if not (_EMAIL.fullmatch(contact) or _PHONE.fullmatch(contact)) or len(contact) > 200:
        raise Unprocessable(
            "Kontak harus alamat surel atau nomor telepon yang dapat dihubungi.", code="invalid_contact"
        )
    description = (data.description or "").strip()
    if not description:
        raise Unprocessable("Uraian pengaduan wajib diisi.", code="description_required")
    if len(description) > MAX_DESCRIPTION:
        raise Unprocessable(
            f"Uraian pengaduan paling panjang {MAX_DESCRIPTION} karakter.", code="description_too_long"
        )
    try:
        subject = ComplaintSubject((data.subject or "").strip().lower())
    except ValueError as exc:
        raise Unprocessable(
            "Pokok pengaduan harus 'credential' (sertifikat) atau 'body' (lembaga).", code="invalid_subject"
        ) from exc
    number: str | None = None
    if subject == ComplaintSubject.CREDENTIAL:
        if not (data.credential_number or "").strip():
            raise Unprocessable(
                "Nomor sertifikat yang diadukan wajib diisi.", code="credential_number_required"
            )
        cred = await credentials.get_by_number(db, data.credential_number or "")
        if cred is None:
            raise Unprocessable("Sertifikat dengan nomor ini tidak ditemukan.", code="unknown_credential")
        number = cred.number
    complaint = Complaint(
        reference=_reference(now),
        subject=subject,
        credential_number=number,
        name=name,
        contact=contact,
        description=description,
        client_hash=who,
        state=CaseState.DIAJUKAN,
        submitted_at=now,
        review_due_at=now + timedelta(days=settings.complaint_review_days),
    )
    db.add(complaint)
    await db.flush()
    await audit.record(
        db,
        "complaint.lodged",
        "complaint",
        complaint.id or 0,
        actor=None,
        details={"reference": complaint.reference, "subject": subject, "credential_number": number},
    )
    return ComplaintReceipt(
        reference=complaint.reference,
        state=complaint.state,
        state_text=label(complaint.state),
        submitted_at=local_iso(now, TZ),
        review_due_at=local_iso(complaint.review_due_at, TZ),
        message=(
            f"Pengaduan Anda diterima dengan nomor {complaint.reference}. Simpan nomor ini untuk "
            f"mengikuti perkembangannya; lembaga akan memutusnya paling lambat "
            f"{local_text(complaint.review_due_at, TZ)}."
        ),
    )


async def _by_reference(db: AsyncSession, reference: str, *, lock: bool = False) -> Complaint:
    stmt = select(Complaint).where(Complaint.reference == reference.strip().upper()[:32])
    if lock:
        stmt = stmt.with_for_update()
    found = (await db.exec(stmt.execution_options(populate_existing=True))).first()
    if found is None:
        raise NotFound("Pengaduan dengan nomor ini tidak ditemukan.", code="complaint_not_found")
    return found


async def status(db: AsyncSession, reference: str) -> ComplaintStatus:
    c = await _by_reference(db, reference)
    return ComplaintStatus(
        reference=c.reference,
        state=c.state,
        state_text=label(c.state),
        submitted_at=local_iso(c.submitted_at, TZ),
        decided_at=local_iso(c.decided_at, TZ) if c.decided_at else None,
        decision_reason=c.decision_reason,
    )


async def take_up(db: AsyncSession, reference: str, principal: Principal) -> ComplaintPublic:
    """The body starts examining the complaint (diperiksa), handled by the caller."""
    c = await _by_reference(db, reference, lock=True)
    if c.state not in OPEN_STATES:
        raise Conflict("Pengaduan ini sudah diputuskan.", code="complaint_decided")
    c.state, c.handler_id = CaseState.DIPERIKSA, principal.user_id
    db.add(c)
    await db.flush()
    await audit.record(db, "complaint.taken_up", "complaint", c.id or 0, actor=principal.username, details={})
    return await view(db, c)


async def decide(
    db: AsyncSession,
    reference: str,
    data: ComplaintDecision,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> ComplaintPublic:
    now = now or utcnow()
    c = await _by_reference(db, reference, lock=True)
    if c.state not in OPEN_STATES:
        raise Conflict("Pengaduan ini sudah diputuskan.", code="complaint_decided")
    reason = clean_reason(data.reason, label="Alasan keputusan")
    try:
        action = ComplaintAction((data.action or "none").strip().lower())
    except ValueError as exc:
        raise Unprocessable("Tindakan harus none, suspend atau revoke.", code="invalid_action") from exc
    if action != ComplaintAction.NONE:
        if not data.upheld:
            raise Unprocessable(
                "Sertifikat hanya dibekukan atau dicabut bila pengaduan diterima.", code="invalid_action"
            )
        if c.credential_number is None:
            raise Unprocessable("Pengaduan ini tidak mengenai sertifikat.", code="invalid_action")
        cred = await credentials.change_status(
            db,
            c.credential_number,
            action,
            f"Pengaduan {c.reference}: {reason}",
            actor=principal.username,
            actor_id=principal.user_id,
            now=now,
        )
        c.credential_action, c.credential_status = action, cred.status
    else:
        c.credential_action = ComplaintAction.NONE
    c.state = CaseState.DITERIMA if data.upheld else CaseState.DITOLAK
    c.decided_at, c.decided_by, c.decision_reason = now, principal.user_id, reason
    c.handler_id = c.handler_id or principal.user_id
    db.add(c)
    await db.flush()
    await audit.record(
        db,
        "complaint.decided",
        "complaint",
        c.id or 0,
        actor=principal.username,
        details={"state": c.state, "action": c.credential_action, "credential_number": c.credential_number},
    )
    return await view(db, c)


async def list_complaints(db: AsyncSession, *, state: str | None = None) -> list[ComplaintPublic]:
    stmt = select(Complaint).order_by(col(Complaint.id))
    if state:
        try:
            stmt = stmt.where(Complaint.state == CaseState(state.strip().lower()))
        except ValueError as exc:
            raise Unprocessable(
                "Status harus diajukan, diperiksa, diterima atau ditolak.", code="invalid_state"
            ) from exc
    return [await view(db, c) for c in (await db.exec(stmt)).all()]


async def get(db: AsyncSession, reference: str) -> ComplaintPublic:
    return await view(db, await _by_reference(db, reference))


async def view(db: AsyncSession, c: Complaint) -> ComplaintPublic:
    ids = [i for i in (c.handler_id, c.decided_by) if i is not None]
    names = (
        dict((await db.exec(select(User.id, User.username).where(col(User.id).in_(ids)))).all())
        if ids
        else {}
    )
    return ComplaintPublic(
        id=c.id or 0,
        reference=c.reference,
        subject=c.subject,
        credential_number=c.credential_number,
        name=c.name,
        contact=c.contact,
        description=c.description,
        state=c.state,
        state_text=label(c.state),
        submitted_at=local_iso(c.submitted_at, TZ),
        review_due_at=local_iso(c.review_due_at, TZ),
        overdue=c.state in OPEN_STATES and utcnow() > c.review_due_at,
        handler=names.get(c.handler_id) if c.handler_id else None,
        decided_at=local_iso(c.decided_at, TZ) if c.decided_at else None,
        decided_by=names.get(c.decided_by) if c.decided_by else None,
        decision_reason=c.decision_reason,
        credential_action=c.credential_action,
        credential_status=c.credential_status,
    )
