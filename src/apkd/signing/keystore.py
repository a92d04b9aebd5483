"""Signing keys in the database: create, rotate, mark compromised, publish, sign with.

One store for both purposes (:class:`~apkd.signing.models.KeyPurpose`): the credential
issuer's keys and the transparency log's key. Keys are Ed25519 (:mod:`apkd.signing.keys`);
the private half is stored encrypted with a key derived from APKD_SECRET_KEY, and ``kid`` is
the RFC 7638 thumbprint. Exactly one key per purpose is ``active`` (it signs from now on);
rotated keys are ``retired`` and stay published so what they signed still verifies; a
``compromised`` key stays in the database with its reason, so everything it signed fails
verification saying why.

Writers serialize on the database (advisory lock on PostgreSQL, the write lock on SQLite),
never in process memory, so several workers never create two active keys. Everything here
runs in the caller's transaction and flushes; the caller (the request, or a CLI command)
commits.

Rotation and compromise are public events: the caller hands in ``log``, the function that
appends them to the transparency log (this package imports no other domain; see
:mod:`apkd.credentials.issuer_keys`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.config import Settings
from apkd.db import serialize, utcnow
from apkd.errors import Conflict, NotFound, Unprocessable
from apkd.signing import keys as keylib
from apkd.signing.models import KeyPurpose, KeyStatus, SigningKey
from apkd.timefmt import iso_utc

__all__ = [
    "KeyPurpose",
    "KeyStatus",
    "LogAppend",
    "Signer",
    "active_key",
    "compromise",
    "ensure_active",
    "key_status",
    "list_keys",
    "public_jwks",
    "rotate",
    "signer",
    "verification_keys",
]

# What appends events to the transparency log (apkd.translog.service.append).
LogAppend = Callable[[AsyncSession, Sequence[Mapping[str, Any]]], Awaitable[object]]

# The database lock each purpose's writers take (names kept from before the store was shared).
_LOCKS = {KeyPurpose.CREDENTIAL: "signing_key:credential", KeyPurpose.LOG: "translog_log_key"}


@dataclass(frozen=True)
class Signer:
    """An active signing key, decrypted: what issuing and checkpoints sign with."""

    kid: str
    private_key: Ed25519PrivateKey


# Decrypted private keys by (kid, secret fingerprint). Only a cache of what the database
# holds: which key is active is read from the database each time a signer is asked for.
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


def _new_row(settings: Settings, purpose: KeyPurpose) -> SigningKey:
    private = keylib.generate_key()
    jwk = keylib.public_jwk(private)
    kid = keylib.thumbprint(jwk)
    return SigningKey(
        kid=kid,
        purpose=purpose,
        public_jwk=jwk,
        private_key_enc=keylib.encrypt_private_key(private, settings.secret_key, kid),
        status=KeyStatus.ACTIVE,
        created_at=utcnow(),
    )


async def active_key(session: AsyncSession, purpose: KeyPurpose) -> SigningKey | None:
    """The active key of ``purpose``; None when there is none yet."""
    return (
        await session.exec(
            select(SigningKey)
            .where(SigningKey.purpose == purpose, SigningKey.status == KeyStatus.ACTIVE)
            .order_by(col(SigningKey.id).desc())
            .limit(1)
        )
    ).first()


async def ensure_active(session: AsyncSession, settings: Settings, purpose: KeyPurpose) -> SigningKey:
    """The active key of ``purpose``, created (and flushed) when there is none.

    Race-safe: creation is serialized in the database and re-checked under the lock.
    """
    row = await active_key(session, purpose)
    if row is not None:
        return row
    await serialize(session, _LOCKS[purpose])
    row = await active_key(session, purpose)
    if row is None:
        row = _new_row(settings, purpose)
        session.add(row)
        await session.flush()
    return row


async def signer(session: AsyncSession, settings: Settings, purpose: KeyPurpose) -> Signer:
    """The decrypted active key of ``purpose`` (created when none exists yet)."""
    row = await ensure_active(session, settings, purpose)
    return Signer(kid=row.kid, private_key=_decrypt(row, settings))


async def list_keys(session: AsyncSession, purpose: KeyPurpose) -> list[SigningKey]:
    """Every key of ``purpose``, oldest first."""
    stmt = select(SigningKey).where(SigningKey.purpose == purpose).order_by(col(SigningKey.id))
    return list((await session.exec(stmt)).all())


async def rotate(
    session: AsyncSession,
    settings: Settings,
    purpose: KeyPurpose,
    *,
    actor: str | None,
    log: LogAppend,
    reason: str | None = None,
) -> SigningKey:
    """Retire the active key of ``purpose`` and make a new one active; returns the new key.

    Logs ``key_rotated`` (through ``log``) and then an audit event, in that order (the lock
    order of :func:`apkd.translog.service.append`).
    """
    await serialize(session, _LOCKS[purpose])
    now = utcnow()
    old = await active_key(session, purpose)
    if old is not None:
        old.status = KeyStatus.RETIRED
        old.retired_at = now
        session.add(old)
    new = _new_row(settings, purpose)
    session.add(new)
    await session.flush()
    await log(session, [{"type": "key_rotated", "kid": new.kid, "time": iso_utc(now)}])
    await audit.record(
        session,
        "keys.rotated",
        "signing_key",
        new.kid,
        actor=actor,
        details={"previous_kid": old.kid if old else None, **({"reason": reason} if reason else {})},
    )
    return new


async def compromise(
    session: AsyncSession,
    settings: Settings,
    purpose: KeyPurpose,
    kid: str,
    reason: str,
    *,
    actor: str | None,
    log: LogAppend,
) -> SigningKey:
    """Mark a key compromised: everything it signed then fails verification with ``reason``.
    When it was the active key, a new key becomes active at once."""
    reason = reason.strip()
    if not reason:
        raise Unprocessable("Alasan wajib diisi.", code="reason_required")
    await serialize(session, _LOCKS[purpose])
    row = (
        await session.exec(select(SigningKey).where(SigningKey.kid == kid, SigningKey.purpose == purpose))
    ).first()
    if row is None:
        raise NotFound(f"Kunci penanda tangan {kid!r} tidak ditemukan.", code="key_not_found")
    if row.status == KeyStatus.COMPROMISED:
        raise Conflict("Kunci ini sudah ditandai bocor.", code="key_already_compromised")
    now = utcnow()
    was_active = row.status == KeyStatus.ACTIVE
    row.status = KeyStatus.COMPROMISED
    row.compromised_at = now
    row.compromise_reason = reason
    if was_active and row.retired_at is None:
        row.retired_at = now
    session.add(row)
    replacement: SigningKey | None = None
    if was_active:
        replacement = _new_row(settings, purpose)
        session.add(replacement)
    await session.flush()
    events: list[dict[str, Any]] = [{"type": "key_compromised", "kid": kid, "time": iso_utc(now)}]
    if replacement is not None:
        events.append({"type": "key_rotated", "kid": replacement.kid, "time": iso_utc(now)})
    await log(session, events)
    await audit.record(
        session,
        "keys.compromised",
        "signing_key",
        kid,
        actor=actor,
        details={"reason": reason, "replacement_kid": replacement.kid if replacement else None},
    )
    # A compromised key never signs again in this process (the cache is only an optimisation).
    _decrypted.pop((kid, _secret_fp(settings.secret_key)), None)
    return row


def _iso(dt: Any) -> str | None:
    return iso_utc(dt) if dt is not None else None


def _status_of(row: SigningKey) -> dict[str, Any]:
    return {"status": row.status, "reason": row.compromise_reason, "compromised_at": _iso(row.compromised_at)}


async def public_jwks(session: AsyncSession, purpose: KeyPurpose) -> dict[str, Any]:
    """The JWK Set of ``purpose`` (the credential keys' one is /.well-known/jwks.json).

    ``keys``: every key that is trusted to have signed, current (``status: active``) and
    retired, with ``kid`` = thumbprint, ``alg`` EdDSA, ``use`` sig. A compromised key is NOT
    in ``keys`` (a plain JOSE verifier must not accept what it signed: fail closed); it is
    listed under ``compromised_keys`` (``status: compromised``, ``compromise_reason``,
    ``compromised_at``), so that a verifier that knows apkd can say why a signature fails.
    """
    rows = await list_keys(session, purpose)
    good = [
        {**row.public_jwk, "kid": row.kid, "status": row.status, "created": _iso(row.created_at)}
        for row in rows
        if row.status != KeyStatus.COMPROMISED
    ]
    doc: dict[str, Any] = keylib.jwks(good)
    doc["compromised_keys"] = [
        {
            **keylib.jwks([{**row.public_jwk, "kid": row.kid}])["keys"][0],
            "status": KeyStatus.COMPROMISED.value,
            "compromise_reason": row.compromise_reason,
            "compromised_at": _iso(row.compromised_at),
        }
        for row in rows
        if row.status == KeyStatus.COMPROMISED
    ]
    return doc


async def verification_keys(
    session: AsyncSession, purpose: KeyPurpose
) -> tuple[dict[str, Ed25519PublicKey], dict[str, dict[str, Any]]]:
    """Every key of ``purpose`` (compromised ones included) and each key's status.

    Returns ``(kid -> public key, kid -> {"status", "reason", "compromised_at"})``. A
    verification policy checks the signature with the first map and then fails what a
    ``compromised`` key signed, giving ``reason``.
    """
    rows = await list_keys(session, purpose)
    public = {row.kid: keylib.public_key_from_jwk(row.public_jwk) for row in rows}
    return public, {row.kid: _status_of(row) for row in rows}


async def key_status(session: AsyncSession, purpose: KeyPurpose, kid: str) -> dict[str, Any] | None:
    """{"status", "reason", "compromised_at"} of a key; None when unknown."""
    row = (
        await session.exec(select(SigningKey).where(SigningKey.kid == kid, SigningKey.purpose == purpose))
    ).first()
    return None if row is None else _status_of(row)
