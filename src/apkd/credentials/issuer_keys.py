"""The issuer's keys: :mod:`apkd.signing.keystore` for purpose ``credential``, with rotation
and compromise written to the transparency log.

Everything runs in the caller's transaction and flushes; the request (or the CLI command)
commits.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.config import Settings
from apkd.signing import keystore
from apkd.signing.keystore import KeyPurpose, Signer
from apkd.signing.models import SigningKey
from apkd.translog.service import append

__all__ = [
    "Signer",
    "active_signer",
    "compromise",
    "ensure_keys",
    "key_status",
    "list_keys",
    "public_jwks",
    "rotate",
    "verification_keys",
]

PURPOSE = KeyPurpose.CREDENTIAL


async def ensure_keys(session: AsyncSession, settings: Settings) -> SigningKey:
    """The active credential key, created (and flushed) when there is none."""
    return await keystore.ensure_active(session, settings, PURPOSE)


async def active_signer(session: AsyncSession, settings: Settings) -> Signer:
    """The decrypted active credential key (created when none exists yet)."""
    return await keystore.signer(session, settings, PURPOSE)


async def list_keys(session: AsyncSession) -> list[SigningKey]:
    return await keystore.list_keys(session, PURPOSE)


async def rotate(session: AsyncSession, settings: Settings, *, actor: str | None) -> SigningKey:
    """Retire the active credential key and make a new one active (logged). Returns the new key."""
    return await keystore.rotate(session, settings, PURPOSE, actor=actor, log=append)


async def compromise(
    session: AsyncSession, settings: Settings, kid: str, reason: str, *, actor: str | None
) -> SigningKey:
    """Mark a credential key compromised (logged); a new key takes over when it was active."""
    return await keystore.compromise(session, settings, PURPOSE, kid, reason, actor=actor, log=append)


async def public_jwks(session: AsyncSession) -> dict[str, Any]:
    """The JWK Set published at /.well-known/jwks.json (see keystore.public_jwks)."""
    return await keystore.public_jwks(session, PURPOSE)


async def verification_keys(
    session: AsyncSession,
) -> tuple[dict[str, Ed25519PublicKey], dict[str, dict[str, Any]]]:
    return await keystore.verification_keys(session, PURPOSE)


async def key_status(session: AsyncSession, kid: str) -> dict[str, Any] | None:
    return await keystore.key_status(session, PURPOSE, kid)
