"""Collect what an auditor needs about one exam session and seal it (docs/decisions/027).

The bundle holds: the scheme and its units; the item versions used (with their keys) and their
key corrections; the registrations with the candidates' identity; each attempt's frozen form,
timing (start, deadline, extensions, pauses, submission, closing) and responses with their
full save history; the minutes (proctor actions, incidents, conflicts of interest); results,
result changes and the certification decision; appeals and the complaints about the session's
credentials; the credentials issued (number, status, signed vc+jwt); the segment of the audit
chain from the first event about the session to the last; the retention period of each record
type; and the issuer's JWKS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import User
from apkd.appeals.models import Appeal, AppealItem, Complaint
from apkd.archive.bundle import FORMAT, seal
from apkd.banks.models import ItemVersion, Scheme, SchemeUnit
from apkd.config import Settings
from apkd.credentials.models import Credential
from apkd.db import utcnow
from apkd.errors import NotFound
from apkd.exams.models import (
    Attempt,
    ConflictDeclaration,
    ExamSession,
    Incident,
    ProctorAction,
    Registration,
    ResitGrant,
    Response,
    ResponseHistory,
    SessionProctor,
)
from apkd.grading.models import KeyCorrection, Result, ResultChange
from apkd.signing import keystore
from apkd.signing.models import KeyPurpose

# Never in a bundle: secrets and what only serves verification of a login or a NIP.
_SECRET_COLUMNS = {"password_hash", "nip_salt", "private_key_enc", "bound_sid", "client_hash"}


def _row(obj: SQLModel) -> dict[str, Any]:
    return {k: v for k, v in obj.model_dump().items() if k not in _SECRET_COLUMNS}


def _rows(objs: Any) -> list[dict[str, Any]]:
    return [_row(o) for o in objs]


async def _all(db: AsyncSession, stmt: Any) -> list[Any]:
    return list((await db.exec(stmt)).all())


async def collect(db: AsyncSession, session_id: int, settings: Settings) -> dict[str, Any]:
    exam = await db.get(ExamSession, session_id)
    if exam is None:
        raise NotFound(f"Sesi ujian #{session_id} tidak ditemukan.", code="session_not_found")
    scheme = await db.get(Scheme, exam.scheme_id)
    assert scheme is not None
    units = await _all(
        db, select(SchemeUnit).where(SchemeUnit.scheme_id == scheme.id).order_by(col(SchemeUnit.ordinal))
    )
    regs = await _all(
        db, select(Registration).where(Registration.session_id == session_id).order_by(col(Registration.id))
    )
    attempts = await _all(
        db, select(Attempt).where(Attempt.session_id == session_id).order_by(col(Attempt.id))
    )
    attempt_ids = [a.id for a in attempts]
    responses = await _all(
        db,
        select(Response)
        .where(col(Response.attempt_id).in_(attempt_ids))
        .order_by(col(Response.attempt_id), col(Response.position)),
    )
    history = await _all(
        db,
        select(ResponseHistory)
        .where(col(ResponseHistory.attempt_id).in_(attempt_ids))
        .order_by(col(ResponseHistory.id)),
    )
    iv_ids = sorted({int(i["item_version_id"]) for a in attempts for i in a.form.get("items", [])})
    versions = await _all(
        db, select(ItemVersion).where(col(ItemVersion.id).in_(iv_ids)).order_by(col(ItemVersion.id))
    )
    key_corrections = await _all(
        db,
        select(KeyCorrection)
        .where(col(KeyCorrection.item_version_id).in_(iv_ids))
        .order_by(col(KeyCorrection.id)),
    )
    results = await _all(db, select(Result).where(Result.session_id == session_id).order_by(col(Result.id)))
    changes = await _all(
        db,
        select(ResultChange)
        .where(col(ResultChange.result_id).in_([r.id for r in results]))
        .order_by(col(ResultChange.id)),
    )
    appeals = await _all(db, select(Appeal).where(Appeal.session_id == session_id).order_by(col(Appeal.id)))
    appeal_items = await _all(
        db,
        select(AppealItem)
        .where(col(AppealItem.appeal_id).in_([a.id for a in appeals]))
        .order_by(col(AppealItem.appeal_id), col(AppealItem.position)),
    )
    credentials = await _all(
        db, select(Credential).where(col(Credential.attempt_id).in_(attempt_ids)).order_by(col(Credential.id))
    )
    numbers = [c.number for c in credentials]
    complaints = await _all(
        db, select(Complaint).where(col(Complaint.credential_number).in_(numbers)).order_by(col(Complaint.id))
    )
    grants = await _all(
        db,
        select(ResitGrant)
        .where(col(ResitGrant.source).in_([f"appeal:{a.id}" for a in appeals]))
        .order_by(col(ResitGrant.id)),
    )
    proctors = await _all(db, select(SessionProctor).where(SessionProctor.session_id == session_id))
    actions = await _all(
        db,
        select(ProctorAction).where(ProctorAction.session_id == session_id).order_by(col(ProctorAction.id)),
    )
    incidents = await _all(
        db, select(Incident).where(Incident.session_id == session_id).order_by(col(Incident.id))
    )
    conflicts = await _all(
        db,
        select(ConflictDeclaration)
        .where(ConflictDeclaration.session_id == session_id)
        .order_by(col(ConflictDeclaration.id)),
    )
    user_ids = {r.user_id for r in regs} | {p.user_id for p in proctors} | {a.actor_id for a in actions}
    user_ids |= {i.reported_by for i in incidents} | {exam.decided_by} | {a.reviewer_id for a in appeals}
    user_ids |= {k.actor_id for k in key_corrections} | {c.proctor_id for c in conflicts}
    users = await _all(
        db,
        select(User).where(col(User.id).in_([u for u in user_ids if u is not None])).order_by(col(User.id)),
    )
    events = await _audit_segment(
        db, session_id, attempt_ids, [r.id for r in regs], [a.id for a in appeals], numbers
    )
    ends = exam.ends_at
    return {
        "format": FORMAT,
        "generated_at": utcnow(),
        "issuer": {"name": settings.issuer_name, "base_url": settings.base_url},
        "retention": {
            name: {
                "years": years,
                "keep_until": (ends + timedelta(days=round(365.25 * years))).date().isoformat(),
            }
            for name, years in settings.retention_years
        },
        "session": _row(exam),
        "decision": {
            "decided_by": next((u.username for u in users if u.id == exam.decided_by), None),
            "decided_at": exam.decided_at,
            "results_published_at": exam.results_published_at,
        },
        "scheme": {**_row(scheme), "units": _rows(units)},
        "item_versions": _rows(versions),
        "key_corrections": _rows(key_corrections),
        "users": _rows(users),
        "proctors": _rows(proctors),
        "registrations": _rows(regs),
        "attempts": _rows(attempts),
        "responses": _rows(responses),
        "response_history": _rows(history),
        "minutes": {
            "proctor_actions": _rows(actions),
            "incidents": _rows(incidents),
            "conflicts": _rows(conflicts),
        },
        "results": _rows(results),
        "result_changes": _rows(changes),
        "appeals": _rows(appeals),
        "appeal_items": _rows(appeal_items),
        "resit_grants": _rows(grants),
        "complaints": _rows(complaints),
        "credentials": _rows(credentials),
        "audit": {"events": events},
        "issuer_jwks": await keystore.public_jwks(db, KeyPurpose.CREDENTIAL),
    }


async def _audit_segment(
    db: AsyncSession,
    session_id: int,
    attempt_ids: list[int | None],
    registration_ids: list[int | None],
    appeal_ids: list[int | None],
    numbers: list[str],
) -> list[dict[str, Any]]:
    """Every audit event from the first one about the session to the last (those in between
    included, so the chain can be recomputed)."""
    A = audit.AuditEvent
    about: list[Any] = [
        and_(col(A.subject_type) == "exam_session", col(A.subject_id) == str(session_id)),
        col(A.details).contains(f'"session_id":{session_id},'),
        col(A.details).contains(f'"session_id":{session_id}}}'),
    ]
    for kind, ids in (("attempt", attempt_ids), ("registration", registration_ids), ("appeal", appeal_ids)):
        if ids:
            about.append(and_(col(A.subject_type) == kind, col(A.subject_id).in_([str(i) for i in ids])))
    if numbers:
        about.append(and_(col(A.subject_type) == "credential", col(A.subject_id).in_(numbers)))
    seqs = list((await db.exec(select(A.seq).where(or_(*about)))).all())
    if not seqs:
        return []
    rows = await _all(
        db, select(A).where(col(A.seq) >= min(seqs), col(A.seq) <= max(seqs)).order_by(col(A.seq))
    )
    return [
        {
            "seq": e.seq,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "subject_type": e.subject_type,
            "subject_id": e.subject_id,
            "details": e.details,
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }
        for e in rows
    ]


async def build(db: AsyncSession, session_id: int, settings: Settings) -> bytes:
    """The signed bundle of the session (signed with the issuer's active credential key)."""
    payload = await collect(db, session_id, settings)
    signer = await keystore.signer(db, settings, KeyPurpose.CREDENTIAL)
    return seal(payload, signer.private_key, signer.kid)
