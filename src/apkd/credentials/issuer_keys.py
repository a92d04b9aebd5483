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
from apkd.signing.keys import THUMBPRINT_URI
from apkd.signing.keystore import KeyPurpose, Signer
from apkd.signing.models import SigningKey
from apkd.translog.service import append

__all__ = [
    "Signer",
    "active_signer",
    "compromise",
    "controller_document",
    "controller_id",
    "ensure_keys",
    "issuer_profile",
    "key_status",
    "kid_url",
    "list_keys",
    "public_jwks",
    "rotate",
    "verification_keys",
    "verification_method",
    "with_kid_urls",
]

PURPOSE = KeyPurpose.CREDENTIAL


def kid_url(settings: Settings, thumbprint: str) -> str:
    """The vc+jwt's kid: an absolute URL under the issuer whose last segment is the RFC 9278
    thumbprint URI; GET on it answers with the JWK (credentials.controllers.issuer_key)."""
    return f"{settings.issuer_id}/keys/{THUMBPRINT_URI}{thumbprint}"


async def ensure_keys(session: AsyncSession, settings: Settings) -> SigningKey:
    """The active credential key, created (and flushed) when there is none."""
    return await keystore.ensure_active(session, settings, PURPOSE)


async def active_signer(session: AsyncSession, settings: Settings) -> Signer:
    """The decrypted active credential key (created when none exists yet)."""
    return await keystore.signer(session, settings, PURPOSE)


async def list_keys(session: AsyncSession) -> list[SigningKey]:
    return await keystore.list_keys(session, PURPOSE)


async def rotate(
    session: AsyncSession, settings: Settings, *, actor: str | None, reason: str | None = None
) -> SigningKey:
    """Retire the active credential key and make a new one active (logged). Returns the new key."""
    return await keystore.rotate(session, settings, PURPOSE, actor=actor, log=append, reason=reason)


async def compromise(
    session: AsyncSession, settings: Settings, kid: str, reason: str, *, actor: str | None
) -> SigningKey:
    """Mark a credential key compromised (logged); a new key takes over when it was active."""
    return await keystore.compromise(session, settings, PURPOSE, kid, reason, actor=actor, log=append)


async def public_jwks(session: AsyncSession) -> dict[str, Any]:
    """The JWK Set of the credential keys, kid = thumbprint (see keystore.public_jwks)."""
    return await keystore.public_jwks(session, PURPOSE)


def issuer_profile(settings: Settings) -> dict[str, Any]:
    """The issuer's Open Badges 3.0 Profile, served at issuer.id: the body's name and URL, in
    OB 3.0 terms only (no undefined term). Its keys are found from the vc+jwt's kid URL (under
    the issuer) and /.well-known/jwt-vc-issuer; OB 3.0 has no term for keys."""
    from apkd.credentials.vc import OB3_CONTEXT, VC2_CONTEXT

    base = settings.base_url.rstrip("/")
    return {
        "@context": [VC2_CONTEXT, OB3_CONTEXT],
        "id": settings.issuer_id,
        "type": ["Profile"],
        "name": settings.issuer_name,
        "url": base + "/",
        "description": (
            "Lembaga sertifikasi Aparatur Pengelola Keuangan Daerah (APKD); penerbit sertifikat "
            "kompetensi yang dapat diperiksa di registri publik."
        ),
    }


def controller_id(settings: Settings) -> str:
    """The issuer's controller document (W3C Controlled Identifiers): its keys as Multikeys."""
    return f"{settings.issuer_id}/controller"


def verification_method(settings: Settings, key: Ed25519PublicKey) -> str:
    """A Data Integrity proof's verificationMethod: the controller document's Multikey entry."""
    from apkd.signing.dataintegrity import multikey_public

    return f"{controller_id(settings)}#{multikey_public(key)}"


def controller_document(settings: Settings, jwks: dict[str, Any]) -> dict[str, Any]:
    """The controller document: every trusted credential key as a Multikey, for assertions."""
    from apkd.signing.dataintegrity import multikey_public
    from apkd.signing.keys import public_key_from_jwk

    methods = []
    for jwk in jwks.get("keys", []):
        pub = public_key_from_jwk(jwk)
        methods.append(
            {
                "id": verification_method(settings, pub),
                "type": "Multikey",
                "controller": controller_id(settings),
                "publicKeyMultibase": multikey_public(pub),
            }
        )
    return {
        "@context": "https://www.w3.org/ns/cid/v1",
        "id": controller_id(settings),
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


def with_kid_urls(doc: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The JWK Set as published: each trusted key also under the kid the vc+jwt names (its
    kid_url), so a plain JOSE verifier finds it by the header's kid. Same key, two kids; apkd's
    own reader (keys.keys_from_jwks) takes both as the one thumbprint."""
    keys = list(doc.get("keys", []))
    extra = [{**k, "kid": kid_url(settings, k["kid"])} for k in keys if isinstance(k.get("kid"), str)]
    return {**doc, "keys": keys + extra}


async def verification_keys(
    session: AsyncSession,
) -> tuple[dict[str, Ed25519PublicKey], dict[str, dict[str, Any]]]:
    return await keystore.verification_keys(session, PURPOSE)


async def key_status(session: AsyncSession, kid: str) -> dict[str, Any] | None:
    return await keystore.key_status(session, PURPOSE, kid)
