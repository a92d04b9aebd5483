"""Request and response shapes of the credentials API (msgspec Structs, never table models)."""

from __future__ import annotations

from msgspec import Struct

from apkd.bounds import Reason


class ReasonRequest(Struct):
    reason: Reason


class HolderPublic(Struct):
    full_name: str
    nip_masked: str
    instansi: str | None


class SchemeRef(Struct):
    code: str
    version: str
    title: str


class CredentialSummary(Struct):
    number: str
    status: str  # valid | revoked | suspended | expired
    holder: HolderPublic
    scheme: SchemeRef
    valid_from: str
    valid_until: str
    issued_at: str
    verify_url: str
    attempt_id: int | None
    renews: str | None
    linkedin_url: str = ""  # opens LinkedIn's "add certification" form, filled in


class CredentialDetail(Struct):
    number: str
    status: str
    holder: HolderPublic
    scheme: SchemeRef
    valid_from: str
    valid_until: str
    issued_at: str
    vc_jwt: str
    qr_text: str
    verify_url: str
    kid: str
    attempt_id: int | None
    renews: str | None
    revocation_reason: str | None
    suspension_reason: str | None
    linkedin_url: str = ""


class StatusChanged(Struct):
    number: str
    status: str


class SigningKeyPublic(Struct):
    """A signing key as the console shows it (never the private part)."""

    purpose: str  # credential | log
    kid: str  # the RFC 7638 thumbprint
    thumbprint_uri: str  # RFC 9278
    status: str  # active | retired | compromised
    created_at: str
    retired_at: str | None
    compromised_at: str | None
    compromise_reason: str | None


class KeyRotate(Struct):
    reason: Reason
