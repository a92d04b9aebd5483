"""Reissuing the credentials signed before issue 12 in the current shape.

Credentials issued before the NIP change carry, in the vc+jwt, an ``IdentityObject`` with a
salted SHA-256 of the holder's NIP (``identityType: "ext:NIP"``, ``hashed: true`` and its
``salt``), which a few hours of enumeration reverse; their QR token has a masked NIP (claim
``m``); and they had no ``credentialSubject.id``, a ``jti`` claim and a two-entry
``credentialStatus``. :func:`legacy_reasons` says which of these a credential shows.

:func:`reissue` signs each such credential again, with the active key, in today's profile
(vc.py, through the same template issuing uses): the same number, credential id, dates,
status and status list entries, score and role; a new vc+jwt and QR text. Like issuing, it
appends an ``issued`` event per credential to the transparency log (``reason_code``
``reissued``, the new digest and kid: the registry's log check finds it), writes a
``reissued`` history row, and one audit event per batch. It flushes; the caller commits.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.banks.models import Scheme, SchemeUnit
from apkd.config import Settings
from apkd.credentials import issuer_keys
from apkd.credentials.issuing import VC_TYP, holder_subjects, status_list_url
from apkd.credentials.models import Credential, CredentialAction, CredentialEvent
from apkd.credentials.statuslist import StatusEntryRef
from apkd.credentials.templates import QRTextBuilder, scheme_info
from apkd.credentials.vc import HolderInfo, build_credential, format_datetime, jwt_claims
from apkd.db import utcnow
from apkd.exams.models import Attempt
from apkd.signing.jws import sign_compact
from apkd.timefmt import iso_utc
from apkd.translog.service import append

__all__ = ["LegacyCredential", "find_legacy", "legacy_reasons", "reissue"]

REASON_CODE = "reissued"


def _segment(token: str, index: int) -> dict[str, Any]:
    try:
        part = token.split("?t=")[-1].split(".")[index]
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def legacy_reasons(vc_jwt: str, qr_text: str) -> list[str]:
    """What marks this credential as one of the old shape (empty: it is current)."""
    payload = _segment(vc_jwt, 1)
    subject = payload.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    reasons: list[str] = []
    identifiers = subject.get("identifier")
    for ident in identifiers if isinstance(identifiers, list) else []:
        if isinstance(ident, dict) and (
            ident.get("hashed") is True or "salt" in ident or ident.get("identityType") != "name"
        ):
            reasons.append("nip_hash")
            break
    if "m" in _segment(qr_text, 1):
        reasons.append("qr_masked_nip")
    if "id" not in subject:
        reasons.append("no_subject_id")
    if "jti" in payload:
        reasons.append("jti")
    if isinstance(payload.get("credentialStatus"), list):
        reasons.append("status_array")
    return reasons


@dataclass(frozen=True)
class LegacyCredential:
    id: int
    number: str
    reasons: tuple[str, ...]


async def find_legacy(
    session: AsyncSession, *, after_id: int = 0, limit: int = 500
) -> tuple[list[LegacyCredential], int | None]:
    """The legacy credentials among the next `limit` credentials with id above `after_id`, and
    the last id looked at (None when there were none left): scan the table in pages."""
    rows = (
        await session.exec(
            select(Credential.id, Credential.number, Credential.vc_jwt, Credential.qr_text)
            .where(col(Credential.id) > after_id)
            .order_by(col(Credential.id))
            .limit(limit)
        )
    ).all()
    found = [
        LegacyCredential(cid, number, tuple(reasons))
        for cid, number, vc_jwt, qr_text in rows
        if cid is not None and (reasons := legacy_reasons(vc_jwt, qr_text))
    ]
    last = rows[-1][0] if rows else None
    return found, last


async def _form_scheme(session: AsyncSession, cred: Credential) -> dict[str, Any]:
    """The scheme as the attempt froze it (what the credential was issued for), else as it is."""
    if cred.attempt_id is not None:
        attempt = await session.get(Attempt, cred.attempt_id)
        frozen = (attempt.form or {}).get("scheme") if attempt is not None else None
        if frozen:
            return dict(frozen)
    scheme = (await session.exec(select(Scheme).where(Scheme.code == cred.scheme_code))).first()
    if scheme is None:
        raise ValueError(f"{cred.number}: scheme {cred.scheme_code} not found")
    units = (
        await session.exec(
            select(SchemeUnit).where(SchemeUnit.scheme_id == scheme.id).order_by(col(SchemeUnit.ordinal))
        )
    ).all()
    return {
        "code": scheme.code,
        "version": cred.scheme_version or scheme.version,
        "title": scheme.title,
        "position": scheme.position,
        "pass_score": float(scheme.pass_score),
        "units": [{"code": u.code, "title": u.title, "min_score": u.min_score} for u in units],
    }


def _old_score(payload: dict[str, Any]) -> Decimal:
    try:
        return Decimal(str(payload["credentialSubject"]["result"][0]["value"]))
    except (KeyError, IndexError, TypeError, InvalidOperation) as exc:
        raise ValueError("the old credential has no result value") from exc


async def reissue(
    session: AsyncSession, settings: Settings, ids: Sequence[int], *, actor: str | None
) -> list[str]:
    """Sign these credentials again in the current shape (see the module docstring); returns
    their numbers. Flushes, does not commit."""
    if not ids:
        return []
    creds = list(
        (
            await session.exec(
                select(Credential).where(col(Credential.id).in_(list(ids))).order_by(col(Credential.id))
            )
        ).all()
    )
    signer = await issuer_keys.active_signer(session, settings)
    header_kid = issuer_keys.kid_url(settings, signer.kid)
    qr_builder = QRTextBuilder(settings.base_url, signer)
    subjects = await holder_subjects(session, [c.user_id for c in creds])
    now = utcnow()
    events: list[dict[str, Any]] = []
    for cred in creds:
        assert cred.id is not None
        old = _segment(cred.vc_jwt, 1)
        doc = build_credential(
            credential_id=cred.uuid,
            base_url=settings.base_url,
            issuer_id=settings.issuer_id,
            issuer_name=settings.issuer_name,
            scheme=scheme_info(await _form_scheme(session, cred)),
            holder=HolderInfo(full_name=cred.holder_name, jabatan="", instansi=""),
            subject_id=subjects[cred.user_id],
            score=_old_score(old),
            valid_from=cred.valid_from,
            validity_months=1,
            revocation=StatusEntryRef(
                status_list_url(settings, cred.revocation_list_id), cred.revocation_index
            ),
        )
        doc["validUntil"] = format_datetime(cred.valid_until)  # the dates stay as issued
        role = old.get("credentialSubject", {}).get("role")
        if isinstance(role, str) and role.strip(", "):
            doc["credentialSubject"]["role"] = role
        else:
            doc["credentialSubject"].pop("role", None)
        vc_jwt = sign_compact(jwt_claims(doc, settings.issuer_id), signer.private_key, header_kid, VC_TYP)
        vc_hash = hashlib.sha256(vc_jwt.encode("ascii")).digest()
        cred.qr_text = qr_builder.build(
            number=cred.number,
            holder_name=cred.holder_name,
            instansi=cred.instansi,
            valid_from=cred.valid_from,
            valid_until=cred.valid_until,
            revocation=(cred.revocation_list_id, cred.revocation_index),
            suspension=(cred.suspension_list_id, cred.suspension_index),
            vc_jwt=vc_jwt,
            vc_hash=vc_hash,
        )
        cred.vc_jwt, cred.vc_sha256, cred.kid = vc_jwt, vc_hash.hex(), signer.kid
        session.add(cred)
        session.add(
            CredentialEvent(
                credential_id=cred.id,
                action=CredentialAction.REISSUED,
                reason="Diterbitkan ulang tanpa hash NIP (isu 12)",
                created_at=now,
            )
        )
        events.append(
            {
                "type": CredentialAction.ISSUED.value,
                "number": cred.number,
                "vc_sha256": cred.vc_sha256,
                "kid": signer.kid,
                "reason_code": REASON_CODE,
                "time": iso_utc(now),
            }
        )
    await session.flush()
    await append(session, events)
    numbers = [c.number for c in creds]
    await audit.record(
        session,
        "credentials.reissued",
        "credential",
        numbers[0] if len(numbers) == 1 else f"{len(numbers)} sertifikat",
        actor=actor,
        details={
            "count": len(numbers),
            "numbers": numbers[:100],
            "kid": signer.kid,
            "reason": "legacy_nip_hash",
        },
    )
    return numbers
