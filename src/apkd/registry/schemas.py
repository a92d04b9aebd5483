"""Response shapes of the public registry (docs/contract.md, "Public registry")."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["CheckOut", "IssuerOut", "RegistryRecord", "SchemeOut", "VerifyRequest", "VerifyResponse"]


class VerifyRequest(msgspec.Struct):
    token: str  # a qr_text (URL), a bare QR token, or a vc_jwt


class CheckOut(msgspec.Struct):
    name: str
    ok: bool
    detail: str
    checked: bool = True  # False: the check could not run (and so did not pass)


class SchemeOut(msgspec.Struct):
    code: str
    title: str


class IssuerOut(msgspec.Struct):
    id: str
    name: str


class RegistryRecord(msgspec.Struct, omit_defaults=True):
    number: str
    status: str  # valid | revoked | suspended | expired
    holder_name: str
    nip_masked: str
    instansi: str | None
    scheme: SchemeOut
    valid_from: str
    valid_until: str
    issuer: IssuerOut
    revoked_at: str | None = None  # the date only; never the reason


class VerifyResponse(msgspec.Struct):
    valid: bool
    status: str  # valid | revoked | suspended | expired | invalid | unknown
    checks: list[CheckOut]
    credential: dict[str, Any] | None
    not_checked: list[str] = msgspec.field(default_factory=list)
