"""What was presented for verification, and the claims of a verified token. Pure module.

:func:`parse_input` recognizes a QR code's text (``<base>/v/<number>?t=<token>``), a bare QR
token or a ``vc+jwt``; :class:`Claims` is what the policy checks (apkd.registry.policy),
built from either kind of token by :func:`claims_from_vc` and :func:`claims_from_qr`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from apkd.credentials import qrtoken
from apkd.credentials.number import ParsedNumber, parse_number
from apkd.credentials.qrtoken import QRClaims
from apkd.signing.keys import b64url_decode, kid_thumbprint

__all__ = [
    "MAX_INPUT_CHARS",
    "QR_TYP",
    "VC_TYP",
    "Claims",
    "Presented",
    "StatusRef",
    "claim_str",
    "claim_time",
    "claims_from_qr",
    "claims_from_vc",
    "parse_input",
    "parsed_number",
    "vc_digest",
]

VC_TYP = "vc+jwt"
QR_TYP = qrtoken.QR_TYP
# Input larger than this is refused before any parsing (a vc+jwt is a few KB).
MAX_INPUT_CHARS = 16 * 1024


# --- what was presented --------------------------------------------------------------------


@dataclass(frozen=True)
class Presented:
    """The input, split but NOT verified. `error` is set when it could not even be parsed."""

    kind: Literal["qr", "vc", "unknown"]
    token: str = ""
    number: str | None = None  # from the URL path, when the input was a QR URL
    kid: str | None = None
    typ: str | None = None
    error: str | None = None


def _looks_like_jws(text: str) -> bool:
    head, _, rest = text.partition(".")
    return text.count(".") == 2 and bool(head) and bool(rest.split(".")[0])


def _peek_header(token: str) -> dict[str, Any]:
    """The protected header, unverified: only to pick the verification path (kind, kid).
    The signature check re-parses it strictly; ValueError when it is not a JSON object."""
    import base64
    import json

    segment = token.split(".", 1)[0]
    if len(segment) > 2048:
        raise ValueError("header too long")
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    header = json.loads(raw)
    if not isinstance(header, dict):
        raise ValueError("header is not an object")
    return header


def parse_input(text: object) -> Presented:
    """Split a QR text (URL or bare token) or a vc+jwt. Never raises."""
    if not isinstance(text, str):
        return Presented("unknown", error="Masukan harus berupa teks.")
    text = text.strip()
    if not text:
        return Presented("unknown", error="Masukan kosong.")
    if len(text) > MAX_INPUT_CHARS:
        return Presented("unknown", error=f"Masukan terlalu panjang (lebih dari {MAX_INPUT_CHARS} karakter).")
    number: str | None = None
    token = text
    if text.lower().startswith(("http://", "https://")):
        try:
            parts = urlsplit(text)
        except ValueError:
            return Presented("unknown", error="Alamat pada kode QR tidak dapat dibaca.")
        segments = [unquote(s) for s in parts.path.split("/") if s]
        if len(segments) >= 2 and segments[-2] == "v":
            number = segments[-1]
        values = parse_qs(parts.query).get("t", [])
        if len(values) != 1 or not values[0]:
            return Presented(
                "unknown",
                number=number,
                error="Alamat tidak memuat token bertanda tangan (parameter t); "
                "hanya nomor yang dapat dicari di registri.",
            )
        token = values[0].strip()
    if not _looks_like_jws(token):
        return Presented(
            "unknown", number=number, error="Bukan token bertanda tangan (JWS ringkas tiga bagian)."
        )
    try:
        header = _peek_header(token)
    except ValueError:
        return Presented("unknown", number=number, error="Kepala (header) token tidak dapat dibaca.")
    typ = header.get("typ")
    kid = kid_thumbprint(header["kid"]) if isinstance(header.get("kid"), str) else None
    typ_norm = typ.lower().removeprefix("application/") if isinstance(typ, str) else None
    kind: Literal["qr", "vc", "unknown"] = "vc" if typ_norm == VC_TYP else "qr"
    return Presented(kind, token=token, number=number, kid=kid, typ=typ if isinstance(typ, str) else None)


# --- verified claims -------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRef:
    purpose: str  # revocation | suspension
    list_url: str
    index: int


@dataclass(frozen=True)
class Claims:
    """What an authentic token says, normalised over the QR token and the vc+jwt."""

    kind: Literal["qr", "vc"]
    number: str | None = None
    credential_id: str | None = None  # urn:uuid:...
    holder_name: str | None = None
    issuer: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    digest: str | None = None  # hex SHA-256 of the vc+jwt (full for a vc, a prefix for a QR token)
    nip_masked: str | None = None
    instansi: str | None = None
    scheme_code: str | None = None
    scheme_title: str | None = None
    # for a QR token, list_url is relative to the issuer's base URL ("/api/v1/status-lists/<id>")
    status_refs: tuple[StatusRef, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=4096)
def parsed_number(number: str) -> ParsedNumber:
    """parse_number, memoized (a busy registry sees the same numbers again and again)."""
    return parse_number(number)


def claim_time(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            return None
        return dt.astimezone(UTC)
    return None


def claim_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _first(payload: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in payload:
            return payload[name]
    return None


def vc_digest(vc_jwt: str) -> str:
    """The credential's digest as stored (credential.vc_sha256): hex SHA-256 of the vc+jwt text."""
    return hashlib.sha256(vc_jwt.encode("ascii", "replace")).hexdigest()


def claims_from_vc(payload: Mapping[str, Any], token: str) -> Claims:
    issuer = payload.get("issuer")
    issuer_id = claim_str(issuer.get("id")) if isinstance(issuer, dict) else claim_str(issuer)
    iss = claim_str(payload.get("iss"))
    if iss is not None and issuer_id is not None and iss != issuer_id:
        issuer_id = None  # disagreeing issuers: treated as no issuer (the issuer check fails)
    subject = payload.get("credentialSubject")
    holder = None
    scheme_code = scheme_title = None
    if isinstance(subject, dict):
        for ident in subject.get("identifier") or []:
            if isinstance(ident, dict) and ident.get("identityType") == "name" and not ident.get("hashed"):
                holder = claim_str(ident.get("identityHash"))
        achievement = subject.get("achievement")
        if isinstance(achievement, dict):
            scheme_code = claim_str(achievement.get("humanCode"))
            scheme_title = claim_str(achievement.get("name"))
    refs: list[StatusRef] = []
    statuses = payload.get("credentialStatus")
    if isinstance(statuses, dict):
        statuses = [statuses]
    for entry in statuses if isinstance(statuses, list) else []:
        if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
            continue
        try:
            index = int(str(entry.get("statusListIndex")))
        except ValueError:
            continue
        url, purpose = claim_str(entry.get("statusListCredential")), claim_str(entry.get("statusPurpose"))
        if url and purpose and index >= 0:
            refs.append(StatusRef(purpose, url, index))
    valid_from = claim_time(payload.get("validFrom"))
    valid_until = claim_time(payload.get("validUntil"))
    return Claims(
        kind="vc",
        number=claim_str(_first(payload, "credentialNumber", "number")),
        credential_id=claim_str(payload.get("id")) or claim_str(payload.get("jti")),
        holder_name=holder,
        issuer=issuer_id,
        valid_from=valid_from,
        valid_until=valid_until,
        digest=vc_digest(token),
        scheme_code=scheme_code,
        scheme_title=scheme_title,
        status_refs=tuple(refs),
        raw=payload,
    )


def claims_from_qr(qr: QRClaims) -> Claims:
    """The claims of a verified QR token (apkd.credentials.qrtoken), normalised."""
    digest = None
    if qr.vc_digest is not None:
        try:
            digest = b64url_decode(qr.vc_digest).hex()
        except ValueError:
            digest = None
    refs: list[StatusRef] = []
    for purpose, ref in (("revocation", qr.revocation), ("suspension", qr.suspension)):
        if ref is not None:
            refs.append(StatusRef(purpose, f"/api/v1/status-lists/{ref.list_id}", ref.index))
    return Claims(
        kind="qr",
        number=qr.number,
        holder_name=qr.holder_name,
        nip_masked=qr.nip_masked,
        valid_from=qr.valid_from,
        valid_until=qr.valid_until,
        digest=digest,
        scheme_code=parsed_number(qr.number).scheme,
        status_refs=tuple(refs),
        instansi=qr.instansi,
    )
