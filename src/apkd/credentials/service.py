"""Credentials: the rules, given a session.

Issuing lives in :mod:`apkd.credentials.issuing`, keys in :mod:`apkd.credentials.issuer_keys`;
this module reads credentials, changes their status (revoke, suspend, reinstate), serves
status lists, and implements the credential effects grading calls on publish
(:class:`Effects`, registered by ``apkd.wiring.wire`` when the app or the CLI is built).

Everything runs in the caller's transaction and flushes; the request (or the CLI command)
commits. Settings are always passed in, never read from a module global.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import User
from apkd.banks.models import Scheme, SchemeUnit
from apkd.chunked import chunks
from apkd.config import Settings
from apkd.credentials import issuer_keys
from apkd.credentials.issuer_keys import (
    active_signer,
    ensure_keys,
    key_status,
    public_jwks,
    verification_keys,
)
from apkd.credentials.issuing import (
    ISSUER_TZ,
    IssuedBatch,
    issue_for_results,
    status_list_url,
    verify_url,
)
from apkd.credentials.models import (
    Credential,
    CredentialAction,
    CredentialEvent,
    CredentialStatus,
    EffectiveStatus,
    StatusList,
    StatusPurpose,
)
from apkd.credentials.number import NumberError, check_character, is_valid_number, parse_number
from apkd.credentials.statuslist import Bitstring, build_status_list_credential, encode_list
from apkd.db import is_postgres, utcnow
from apkd.errors import BadRequest, Conflict, NotFound
from apkd.exams.models import Attempt
from apkd.httpcache import etag_for
from apkd.signing.jws import sign_compact
from apkd.textrules import clean_reason
from apkd.timefmt import iso_utc
from apkd.translog.service import append

if TYPE_CHECKING:
    from apkd.credentials.pdf import CertificateData

__all__ = [
    "STATUS_LIST_TTL_SECONDS",
    "Effects",
    "IssuedBatch",
    "active_signer",
    "canonical_number",
    "certificate_data",
    "certificate_pdf",
    "change_status",
    "credential_document",
    "data_integrity_credential",
    "effective_status",
    "ensure_keys",
    "get_by_number",
    "issue_for_results",
    "key_status",
    "list_credentials",
    "public_jwks",
    "reinstate",
    "revoke",
    "revoke_many",
    "scheme_titles",
    "signed_status_list",
    "status_list_bits",
    "suspend",
    "verification_keys",
    "verify_url",
]

STATUS_LIST_TTL_SECONDS = 300
# A signed status list stays valid this long past its issue: a replayed old list is refused
# after that, while caches of up to a ttl never serve an expired one.
STATUS_LIST_VALIDITY = timedelta(days=1)
MAX_REASON = 500

# --- numbers and reads ------------------------------------------------------------------


def canonical_number(text: str) -> str:
    """The canonical spelling of a typed number; BadRequest (before any lookup) when it is
    not one: code ``bad_check_character`` for a typo the check character caught, else
    ``invalid_credential_number``."""
    try:
        return parse_number(text).text
    except NumberError as exc:
        norm = text.strip().upper()
        body = norm.rsplit("-", 1)[0] if "-" in norm else norm
        try:
            fixed = f"{body}-{check_character(body)}"
        except NumberError:
            fixed = ""
        if fixed and fixed != norm and is_valid_number(fixed):
            raise BadRequest(
                "Karakter cek nomor sertifikat tidak cocok: ada salah ketik. Periksa kembali nomor "
                "sertifikat.",
                code="bad_check_character",
            ) from exc
        raise BadRequest(
            f"Nomor sertifikat tidak sah: {exc}. Bentuknya APKD-SKEMA-WILAYAH-TAHUN-NOMOR-CEK.",
            code="invalid_credential_number",
        ) from exc


def effective_status(cred: Credential, now: datetime | None = None) -> EffectiveStatus:
    """valid | revoked | suspended | expired (expiry follows validUntil)."""
    if cred.status == CredentialStatus.REVOKED:
        return EffectiveStatus.REVOKED
    if cred.status == CredentialStatus.SUSPENDED:
        return EffectiveStatus.SUSPENDED
    if (now or utcnow()) >= cred.valid_until:
        return EffectiveStatus.EXPIRED
    return EffectiveStatus.VALID


async def get_by_number(session: AsyncSession, number: str) -> Credential | None:
    """The credential with this number (any spelling parse_number accepts); None if unknown
    or malformed."""
    try:
        text = parse_number(number).text
    except NumberError:
        return None
    return (await session.exec(select(Credential).where(Credential.number == text))).first()


async def list_credentials(
    session: AsyncSession,
    *,
    session_id: int | None = None,
    user_id: int | None = None,
    limit: int = 10_000,
) -> list[Credential]:
    stmt = select(Credential)
    if session_id is not None:
        stmt = stmt.join(Attempt, col(Attempt.id) == col(Credential.attempt_id)).where(
            Attempt.session_id == session_id
        )
    if user_id is not None:
        stmt = stmt.where(Credential.user_id == user_id)
    stmt = stmt.order_by(col(Credential.issued_at), col(Credential.id)).limit(limit)
    return list((await session.exec(stmt)).all())


async def scheme_titles(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = (
        await session.exec(select(Scheme.code, Scheme.title).where(col(Scheme.code).in_(set(codes))))
    ).all()
    return {code: title for code, title in rows}


# --- status changes ---------------------------------------------------------------------

_ACTIONS: dict[str, tuple[StatusPurpose, bool, CredentialAction, str]] = {
    # action: (purpose of the list touched, bit value, event type, audit action)
    "revoke": (StatusPurpose.REVOCATION, True, CredentialAction.REVOKED, "credential.revoked"),
    "suspend": (StatusPurpose.SUSPENSION, True, CredentialAction.SUSPENDED, "credential.suspended"),
    "reinstate": (StatusPurpose.SUSPENSION, False, CredentialAction.REINSTATED, "credential.reinstated"),
}


def _reason_code(reason: str) -> str:
    return "regraded" if reason == "regraded" else "admin_decision"


def _check_transition(cred: Credential, action: str) -> None:
    if cred.status == CredentialStatus.REVOKED:
        raise Conflict(
            "Sertifikat ini sudah dicabut; pencabutan bersifat permanen.", code="credential_revoked"
        )
    if action == "suspend" and cred.status == CredentialStatus.SUSPENDED:
        raise Conflict("Sertifikat ini sudah dibekukan.", code="already_suspended")
    if action == "reinstate" and cred.status != CredentialStatus.SUSPENDED:
        raise Conflict("Hanya sertifikat yang sedang dibekukan yang dapat dipulihkan.", code="not_suspended")


async def _lock_credentials(session: AsyncSession, ids: Sequence[int]) -> list[Credential]:
    stmt = select(Credential).where(col(Credential.id).in_(ids)).order_by(col(Credential.id))
    if is_postgres(session):
        stmt = stmt.with_for_update()
    return list((await session.exec(stmt.execution_options(populate_existing=True))).all())


# --- telling this process's caches that a status changed ----------------------------------

StatusListener = Callable[[frozenset[str]], None]
_CHANGED = "apkd.credentials.changed_numbers"
_status_listeners: list[StatusListener] = []


def on_status_change(listener: StatusListener) -> StatusListener:
    """Call `listener(numbers)` after a transaction that changed those credentials' status
    commits (in this process: other workers' caches expire on their own)."""
    _status_listeners.append(listener)
    return listener


@event.listens_for(Session, "after_commit")
def _tell_listeners(session: Session) -> None:
    numbers = session.info.pop(_CHANGED, None)
    if numbers:
        for listener in _status_listeners:
            listener(frozenset(numbers))


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)


async def _apply(
    session: AsyncSession,
    creds: Sequence[Credential],
    action: str,
    reason: str,
    *,
    actor: str | None,
    actor_id: int | None,
    now: datetime,
) -> None:
    """Change the status of already locked credentials: the rows, their status list bits
    (lists locked, each written once), the history, one log append and one audit event."""
    purpose, bit, event_type, audit_action = _ACTIONS[action]
    session.sync_session.info.setdefault(_CHANGED, set()).update(c.number for c in creds)
    by_list: dict[int, list[int]] = defaultdict(list)
    for c in creds:
        if purpose == StatusPurpose.REVOCATION:
            by_list[c.revocation_list_id].append(c.revocation_index)
        else:
            by_list[c.suspension_list_id].append(c.suspension_index)
    stmt = select(StatusList).where(col(StatusList.id).in_(list(by_list))).order_by(col(StatusList.id))
    if is_postgres(session):
        stmt = stmt.with_for_update()
    for row in (await session.exec(stmt.execution_options(populate_existing=True))).all():
        assert row.id is not None
        bits = Bitstring(row.bits)
        for index in by_list[row.id]:
            bits.set(index, bit)
        row.bits = bits.to_bytes()
        row.version += 1
        row.updated_at = now
        session.add(row)
    for c in creds:
        if action == "revoke":
            c.status, c.revoked_at, c.revocation_reason = CredentialStatus.REVOKED, now, reason
        elif action == "suspend":
            c.status, c.suspended_at, c.suspension_reason = CredentialStatus.SUSPENDED, now, reason
        else:
            c.status = CredentialStatus.ACTIVE
        session.add(c)
        assert c.id is not None
        session.add(
            CredentialEvent(
                credential_id=c.id, action=event_type, reason=reason, actor_id=actor_id, created_at=now
            )
        )
    await session.flush()
    time_text = iso_utc(now)
    await append(
        session,
        [
            {
                "type": event_type,
                "number": c.number,
                "vc_sha256": c.vc_sha256,
                "reason_code": _reason_code(reason),
                "time": time_text,
            }
            for c in creds
        ],
    )
    subject = creds[0].number if len(creds) == 1 else f"{len(creds)} sertifikat"
    await audit.record(
        session,
        audit_action,
        "credential",
        subject,
        actor=actor,
        details={"reason": reason, "numbers": [c.number for c in creds][:100], "count": len(creds)},
    )


def _clean_reason(reason: str | None) -> str:
    return clean_reason(reason, max_length=MAX_REASON)


async def change_status(
    session: AsyncSession,
    number: str,
    action: str,
    reason: str | None,
    *,
    actor: str | None,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> Credential:
    """Revoke, suspend or reinstate one credential, with a reason (flushed, not committed)."""
    text = canonical_number(number)
    clean = _clean_reason(reason)
    found = (await session.exec(select(Credential.id).where(Credential.number == text))).first()
    if found is None:
        raise NotFound("Sertifikat dengan nomor ini tidak ditemukan.", code="credential_not_found")
    creds = await _lock_credentials(session, [found])
    cred = creds[0]
    _check_transition(cred, action)
    await _apply(session, creds, action, clean, actor=actor, actor_id=actor_id, now=now or utcnow())
    return cred


async def revoke(session: AsyncSession, number: str, reason: str | None, **kw: Any) -> Credential:
    return await change_status(session, number, "revoke", reason, **kw)


async def suspend(session: AsyncSession, number: str, reason: str | None, **kw: Any) -> Credential:
    return await change_status(session, number, "suspend", reason, **kw)


async def reinstate(session: AsyncSession, number: str, reason: str | None, **kw: Any) -> Credential:
    return await change_status(session, number, "reinstate", reason, **kw)


async def revoke_many(
    session: AsyncSession, credential_ids: Sequence[int], reason: str, *, actor: str | None
) -> int:
    """Revoke these credentials (those not revoked yet) in one batch; no commit."""
    if not credential_ids:
        return 0
    creds = [
        c
        for c in await _lock_credentials(session, sorted(set(credential_ids)))
        if c.status != CredentialStatus.REVOKED
    ]
    if not creds:
        return 0
    actor_id = None
    if actor:
        actor_id = (await session.exec(select(User.id).where(User.username == actor))).first()
    await _apply(session, creds, "revoke", reason, actor=actor, actor_id=actor_id, now=utcnow())
    return len(creds)


# --- status lists -----------------------------------------------------------------------


async def status_list_bits(session: AsyncSession, list_id: int) -> bytes:
    """The raw bitstring of a status list (index 0 = most significant bit of byte 0)."""
    row = await session.get(StatusList, list_id)
    if row is None:
        raise NotFound("Daftar status tidak ditemukan.", code="status_list_not_found")
    return bytes(row.bits)


@dataclass(frozen=True)
class SignedStatusList:
    jwt: str
    etag: str
    max_age: int


_status_cache: dict[tuple[int, int, str, int], SignedStatusList] = {}


async def signed_status_list(
    session: AsyncSession, list_id: int, settings: Settings, *, now: datetime | None = None
) -> SignedStatusList:
    """The status list credential as a vc+jwt, signed by the active key.

    Deterministic per (list version, key, ttl window): validFrom is the start of the
    current ttl window, so every worker produces the same bytes and ETag, and a process
    signs each version at most once per window.
    """
    row = await session.get(StatusList, list_id)
    if row is None:
        raise NotFound("Daftar status tidak ditemukan.", code="status_list_not_found")
    now = now or utcnow()
    ttl = STATUS_LIST_TTL_SECONDS
    window = int(now.timestamp()) // ttl * ttl
    signer = await active_signer(session, settings)
    key = (list_id, row.version, signer.kid, window)
    cached = _status_cache.get(key)
    if cached is not None:
        return cached
    valid_from = datetime.fromtimestamp(window, UTC)
    url = status_list_url(settings, list_id)
    doc = build_status_list_credential(
        url,
        row.purpose,
        encode_list(row.bits),
        # No "type": ["Profile"] here: the status list's only context (VC 2.0) does not
        # define Profile (an undefined term); id and name are defined.
        {"id": settings.issuer_id, "name": settings.issuer_name},
        valid_from,
        ttl * 1000,
        valid_from + STATUS_LIST_VALIDITY,
    )
    claims = dict(doc)
    claims.update(
        {
            "iss": settings.issuer_id,  # no jti: undefined in VC 2.0, and "id" says the same
            "iat": window,
            "nbf": window,
            "exp": int((valid_from + STATUS_LIST_VALIDITY).timestamp()),
        }
    )
    token = sign_compact(claims, signer.private_key, signer.kid, "vc+jwt")
    etag = etag_for(token)
    out = SignedStatusList(jwt=token, etag=etag, max_age=ttl)
    if len(_status_cache) > 256:
        _status_cache.clear()
    _status_cache[key] = out
    return out


# --- the credential with a Data Integrity proof ------------------------------------------

_JWT_CLAIMS = ("iss", "sub", "iat", "nbf", "exp", "jti")


def credential_document(cred: Credential) -> dict[str, Any]:
    """The credential the vc+jwt secures, without the JWT's registered claims."""
    from apkd.signing.keys import b64url_decode

    payload = json.loads(b64url_decode(cred.vc_jwt.split(".")[1]))
    return {k: v for k, v in payload.items() if k not in _JWT_CLAIMS}


async def data_integrity_credential(
    session: AsyncSession, cred: Credential, settings: Settings
) -> dict[str, Any]:
    """The same credential with an embedded DataIntegrityProof (eddsa-rdfc-2022), signed with
    the active issuer key (a Multikey of the controller document); created = validFrom."""
    from apkd.signing.dataintegrity import create_proof

    signer = await active_signer(session, settings)
    doc = credential_document(cred)
    method = issuer_keys.verification_method(settings, signer.private_key.public_key())
    return await anyio.to_thread.run_sync(
        lambda: create_proof(
            doc, signer.private_key, verification_method=method, created=doc["validFrom"], as_set=True
        )
    )


# --- certificate ------------------------------------------------------------------------


async def certificate_data(session: AsyncSession, cred: Credential, settings: Settings) -> CertificateData:
    """What the printed certificate shows, from the credential, its holder, the scheme units
    (as frozen in the attempt's form when there is one) and the settings."""
    # fpdf (and what it pulls in) is imported by the code that prints, not by every program
    # that wires the credential effects (the ``apkd`` command starts faster: decision 053).
    from apkd.credentials.pdf import Attachment, CertificateData

    user = await session.get(User, cred.user_id)
    units: list[tuple[str, str]] = []
    title = cred.scheme_code
    position = ""
    form_scheme: dict[str, Any] | None = None
    if cred.attempt_id is not None:
        attempt = await session.get(Attempt, cred.attempt_id)
        if attempt is not None:
            form_scheme = (attempt.form or {}).get("scheme")
    if form_scheme:
        title = str(form_scheme.get("title") or title)
        position = str(form_scheme.get("position") or "")
        units = [(str(u["code"]), str(u["title"])) for u in form_scheme.get("units", [])]
    else:
        scheme = (await session.exec(select(Scheme).where(Scheme.code == cred.scheme_code))).first()
        if scheme is not None:
            title, position = scheme.title, scheme.position
            rows = (
                await session.exec(
                    select(SchemeUnit)
                    .where(SchemeUnit.scheme_id == scheme.id)
                    .order_by(col(SchemeUnit.ordinal))
                )
            ).all()
            units = [(u.code, u.title) for u in rows]
    status = effective_status(cred)
    since = {"revoked": cred.revoked_at, "suspended": cred.suspended_at}.get(status)
    di_doc = await data_integrity_credential(session, cred, settings)
    attachments = (
        Attachment(
            f"{cred.number}.jwt",
            cred.vc_jwt.encode("ascii"),
            "application/vc+jwt",
            "Kredensial digital (vc+jwt, JWS), diverifikasi dengan kunci publik penerbit",
        ),
        Attachment(
            f"{cred.number}.json",
            json.dumps(di_doc, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"),
            "application/vc+ld+json",
            "Kredensial digital (JSON dengan bukti Data Integrity eddsa-rdfc-2022)",
        ),
    )
    return CertificateData(
        status=str(status),
        status_since=since.astimezone(ISSUER_TZ).date() if since is not None else None,
        attachments=attachments,
        body_name=settings.issuer_name,
        holder_name=cred.holder_name,
        nip=(user.nip if user is not None and user.nip else "-"),
        instansi=cred.instansi or (user.instansi if user is not None and user.instansi else "-"),
        jabatan=(user.jabatan if user is not None and user.jabatan else ""),
        scheme_code=cred.scheme_code,
        scheme_title=title,
        position=position or title,
        units=units,
        place=settings.issuer_place,
        issued_on=cred.valid_from.astimezone(ISSUER_TZ).date(),
        valid_until=cred.valid_until.astimezone(ISSUER_TZ).date(),
        signatory_name=settings.signatory_name,
        signatory_nip=settings.signatory_nip,
        signatory_title=settings.signatory_title,
        number=cred.number,
        qr_text=cred.qr_text,
        verify_url=verify_url(settings, cred.number),
    )


async def certificate_pdf(session: AsyncSession, cred: Credential, settings: Settings) -> bytes:
    from apkd.credentials.pdf import render_certificate

    return render_certificate(await certificate_data(session, cred, settings))


# --- effects of grading -----------------------------------------------------------------


class Effects:
    """apkd.grading.effects.CredentialEffects: issuing on publish, revoking on regrade, with
    the settings of the app or CLI that registered it. Both run in the caller's transaction;
    the caller commits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def issue(self, session: AsyncSession, result_ids: list[int], *, actor: str | None) -> int:
        batch = await issue_for_results(session, result_ids, settings=self.settings, actor=actor)
        return len(batch.numbers)

    async def revoke_regraded(
        self, session: AsyncSession, result_ids: list[int], *, actor: str | None
    ) -> int:
        ids: list[int] = []
        for part in chunks(sorted(set(result_ids))):
            stmt = select(Credential.id).where(
                col(Credential.result_id).in_(part), Credential.status != CredentialStatus.REVOKED
            )
            ids.extend(cid for cid in (await session.exec(stmt)).all() if cid is not None)
        return await revoke_many(session, ids, "regraded", actor=actor)

    async def count_unissued(self, session: AsyncSession, result_ids: list[int]) -> int:
        ids = set(result_ids)
        have: set[int] = set()
        for part in chunks(sorted(ids)):
            stmt = select(Credential.result_id).where(col(Credential.result_id).in_(part))
            have.update(rid for rid in (await session.exec(stmt)).all() if rid is not None)
        return len(ids - have)
