"""Credential signing keys in the database: create, rotate, mark compromised, publish.

Keys are Ed25519 (:mod:`apkd.credentials.keys`); the private half is stored encrypted with
a key derived from APKD_SECRET_KEY, and ``kid`` is the RFC 7638 thumbprint. Exactly one key
of purpose ``credential`` is ``active`` (it signs from now on); rotated keys are ``retired``
and stay published so what they signed still verifies; a ``compromised`` key stays in the
database with its reason, so every credential it signed fails verification saying why.

Writers serialize on the database (advisory lock on PostgreSQL, the write lock on SQLite),
never in process memory, so several workers never create two active keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.config import Settings
from apkd.credentials import keys as keylib
from apkd.credentials.models import SigningKey
from apkd.db import serialize, utcnow
from apkd.errors import Conflict, NotFound, Unprocessable

PURPOSE = "credential"
KEY_STATUSES = ("active", "retired", "compromised")
_LOCK = "signing_key:credential"


@dataclass(frozen=True)
class Signer:
    """The active signing key, decrypted: what issuing signs with."""

    kid: str
    private_key: Ed25519PrivateKey


# Decrypted private keys by (kid, secret fingerprint). Only a cache of what the database
# holds: which key is active is read from the database on every issuing batch.
_decrypted: dict[tuple[str, str], Ed25519PrivateKey] = {}


def _secret_fp(secret: str) -> str:
    return hashlib.sha256(b"apkd-keystore-cache\0" + secret.encode()).hexdigest()[:16]


def _decrypt(row: SigningKey, settings: Settings) -> Ed25519PrivateKey:
    cache_key = (row.kid, _secret_fp(settings.secret_key))
    key = _decrypted.get(cache_key)
    if key is None:
        key = keylib.decrypt_private_key(row.private_key_enc, settings.secret_key, row.kid)
        _decrypted[cache_key] = key
    return key


def _new_row(settings: Settings) -> SigningKey:
    private = keylib.generate_key()
    jwk = keylib.public_jwk(private)
    kid = keylib.thumbprint(jwk)
    return SigningKey(
        kid=kid,
        purpose=PURPOSE,
        public_jwk=jwk,
        private_key_enc=keylib.encrypt_private_key(private, settings.secret_key, kid),
        status="active",
        created_at=utcnow(),
    )


async def _active_row(session: AsyncSession) -> SigningKey | None:
    return (
        await session.exec(
            select(SigningKey)
            .where(SigningKey.purpose == PURPOSE, SigningKey.status == "active")
            .order_by(col(SigningKey.id).desc())
            .limit(1)
        )
    ).first()


async def ensure_keys(session: AsyncSession, settings: Settings) -> SigningKey:
    """The active credential key, created (and flushed, not committed) when there is none."""
    row = await _active_row(session)
    if row is not None:
        return row
    await serialize(session, _LOCK)
    row = await _active_row(session)
    if row is None:
        row = _new_row(settings)
        session.add(row)
        await session.flush()
    return row


async def active_signer(session: AsyncSession, settings: Settings) -> Signer:
    """The decrypted active key (created when none exists yet)."""
    row = await ensure_keys(session, settings)
    return Signer(kid=row.kid, private_key=_decrypt(row, settings))


async def list_keys(session: AsyncSession) -> list[SigningKey]:
    return list(
        (
            await session.exec(
                select(SigningKey).where(SigningKey.purpose == PURPOSE).order_by(col(SigningKey.id))
            )
        ).all()
    )


async def _log(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    from apkd.translog.service import append

    await append(session, events)


async def rotate(session: AsyncSession, settings: Settings, *, actor: str | None) -> SigningKey:
    """Retire the active key and make a new one active; commits. Returns the new key."""
    await serialize(session, _LOCK)
    now = utcnow()
    old = await _active_row(session)
    if old is not None:
        old.status = "retired"
        old.retired_at = now
        session.add(old)
    new = _new_row(settings)
    session.add(new)
    await session.flush()
    await _log(
        session,
        [
            {
                "type": "key_rotated",
                "kid": new.kid,
                "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ],
    )
    await audit.record(
        session,
        "keys.rotated",
        "signing_key",
        new.kid,
        actor=actor,
        details={"previous_kid": old.kid if old else None},
    )
    await session.commit()
    return new


async def compromise(
    session: AsyncSession, settings: Settings, kid: str, reason: str, *, actor: str | None
) -> SigningKey:
    """Mark a key compromised (commits). Every credential it signed then fails verification
    with ``reason``. When it was the active key, a new key becomes active at once."""
    reason = reason.strip()
    if not reason:
        raise Unprocessable("Alasan wajib diisi.", code="reason_required")
    await serialize(session, _LOCK)
    row = (
        await session.exec(select(SigningKey).where(SigningKey.kid == kid, SigningKey.purpose == PURPOSE))
    ).first()
    if row is None:
        raise NotFound(f"Kunci penanda tangan {kid!r} tidak ditemukan.", code="key_not_found")
    if row.status == "compromised":
        raise Conflict("Kunci ini sudah ditandai bocor.", code="key_already_compromised")
    now = utcnow()
    was_active = row.status == "active"
    row.status = "compromised"
    row.compromised_at = now
    row.compromise_reason = reason
    if was_active and row.retired_at is None:
        row.retired_at = now
    session.add(row)
    replacement: SigningKey | None = None
    if was_active:
        replacement = _new_row(settings)
        session.add(replacement)
    await session.flush()
    events: list[dict[str, Any]] = [
        {"type": "key_compromised", "kid": kid, "time": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
    ]
    if replacement is not None:
        events.append(
            {
                "type": "key_rotated",
                "kid": replacement.kid,
                "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    await _log(session, events)
    await audit.record(
        session,
        "keys.compromised",
        "signing_key",
        kid,
        actor=actor,
        details={"reason": reason, "replacement_kid": replacement.kid if replacement else None},
    )
    await session.commit()
    _decrypted.pop((kid, _secret_fp(settings.secret_key)), None)
    return row


def _iso(dt: Any) -> str | None:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt is not None else None


async def public_jwks(session: AsyncSession) -> dict[str, Any]:
    """The JWK Set published at /.well-known/jwks.json.

    ``keys``: every credential key that is trusted to have signed, current (``status:
    active``) and retired, with ``kid`` = thumbprint, ``alg`` EdDSA, ``use`` sig. A
    compromised key is NOT in ``keys`` (a plain JOSE verifier must not accept what it
    signed: fail closed); it is listed under ``compromised_keys`` (``status:
    compromised``, ``compromise_reason``, ``compromised_at``), so that a verifier that
    knows apkd can say why a credential fails.
    """
    rows = await list_keys(session)
    good = [
        {**row.public_jwk, "kid": row.kid, "status": row.status, "created": _iso(row.created_at)}
        for row in rows
        if row.status != "compromised"
    ]
    doc: dict[str, Any] = keylib.jwks(good)
    doc["compromised_keys"] = [
        {
            **keylib.jwks([{**row.public_jwk, "kid": row.kid}])["keys"][0],
            "status": "compromised",
            "compromise_reason": row.compromise_reason,
            "compromised_at": _iso(row.compromised_at),
        }
        for row in rows
        if row.status == "compromised"
    ]
    return doc


async def verification_keys(
    session: AsyncSession,
) -> tuple[dict[str, Ed25519PublicKey], dict[str, dict[str, Any]]]:
    """Every credential key (compromised ones included) and each key's status.

    Returns ``(kid -> public key, kid -> {"status", "reason", "compromised_at"})``. A
    verification policy checks the signature with the first map and then fails a
    credential whose key's status is ``compromised``, giving ``reason``.
    """
    rows = await list_keys(session)
    public = {row.kid: keylib.public_key_from_jwk(row.public_jwk) for row in rows}
    status = {
        row.kid: {
            "status": row.status,
            "reason": row.compromise_reason,
            "compromised_at": _iso(row.compromised_at),
        }
        for row in rows
    }
    return public, status


async def key_status(session: AsyncSession, kid: str) -> dict[str, Any] | None:
    """{"status", "reason", "compromised_at"} of a credential key; None when unknown."""
    row = (
        await session.exec(select(SigningKey).where(SigningKey.kid == kid, SigningKey.purpose == PURPOSE))
    ).first()
    if row is None:
        return None
    return {"status": row.status, "reason": row.compromise_reason, "compromised_at": _iso(row.compromised_at)}
