"""The text a credential's QR code holds: ``{APKD_BASE_URL}/v/{number}?t={token}``.

A phone opens the URL (the public verification page); an offline verifier takes the
token from it and checks it with the JWKS alone. The token is a compact JWS (EdDSA,
``typ: apkd-qr+jwt``, kid = the signing key's thumbprint) over short claims:

    n  credential number (required)
    h  holder's full name (required; see "fitting" below)
    m  (tokens issued before issue 12 only) masked NIP "DDDD*DDD"; read, never written:
       nothing derived from the NIP goes into a token any more (decision 005)
    f  validFrom, u  validUntil: integer seconds since the Unix epoch (required)
    s  status: [revocation list id, index, suspension list id, index]; the lists are at
       statuslist.status_list_url(base, id)
    i  instansi (may be cut short, ending in "…")
    d  first 16 bytes of SHA-256 over the vc_jwt (ASCII), base64url: binds the QR to one
       signed credential
The scheme code is not carried: it is part of the number. No NIP, nor anything from it.

Fitting. The whole text must stay within MAX_QR_TEXT_LENGTH = 450 characters: at error
correction M, QR version 16 (the largest qr.py renders) holds 450 bytes. The JWS header
(kid is a 43-character thumbprint) and signature take 204 characters and the URL another
~55-75, which leaves room for about 135-145 bytes of claims. So claims are added by
priority while they fit: first n, h, f, u (the name is cut short, ending in "…", only
when even these do not fit), then s, then i (whole, or cut to fit if at least
MIN_INSTANSI characters remain), then d. A verifier treats s, i and d as optional.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from apkd.credentials.number import NumberError, parse_number
from apkd.signing.jws import JWSError, sign_compact, verify_compact
from apkd.signing.keys import b64url_encode

__all__ = [
    "MAX_QR_TEXT_LENGTH",
    "QR_TYP",
    "QRClaims",
    "QRStatusRef",
    "QRTextTooLong",
    "build_qr_claims",
    "make_qr_text",
    "parse_qr_text",
    "vc_digest",
    "verify_qr_text",
    "verify_qr_token",
]

QR_TYP = "apkd-qr+jwt"
MAX_QR_TEXT_LENGTH = 450
MIN_INSTANSI = 12
MIN_NAME = 16
ELLIPSIS = "…"
_COMPACT_MASK_RE = re.compile(r"([0-9]{4})\*([0-9]{3})")
_DIGEST_RE = re.compile(r"[A-Za-z0-9_-]{22}")
# Length of the compact JWS around a payload: header segment (computed per kid) + 2 dots +
# the 86-character signature.
_SIG_B64_LEN = 86


class QRTextTooLong(ValueError):
    """Even the required claims do not fit the length limit (the base URL is too long)."""


@dataclass(frozen=True)
class QRStatusRef:
    list_id: int | str
    index: int


@dataclass(frozen=True)
class QRClaims:
    number: str
    holder_name: str
    valid_from: datetime
    valid_until: datetime
    nip_masked: str | None = None  # only from tokens issued before issue 12 (claim m)
    revocation: QRStatusRef | None = None
    suspension: QRStatusRef | None = None
    instansi: str | None = None
    vc_digest: str | None = None

    @property
    def scheme_code(self) -> str:
        return parse_number(self.number).scheme


def vc_digest(vc_jwt: str) -> str:
    """First 16 bytes of SHA-256 over the vc_jwt, base64url (22 characters)."""
    return b64url_encode(hashlib.sha256(vc_jwt.encode("ascii")).digest()[:16])


def build_qr_claims(
    *,
    number: str,
    holder_name: str,
    instansi: str | None,
    valid_from: datetime,
    valid_until: datetime,
    revocation: QRStatusRef | None,
    suspension: QRStatusRef | None,
    vc_jwt: str | None,
) -> QRClaims:
    """QRClaims from a credential's data (the vc_jwt digested here); no NIP goes in."""
    return QRClaims(
        number=parse_number(number).text,
        holder_name=holder_name,
        valid_from=valid_from,
        valid_until=valid_until,
        revocation=revocation,
        suspension=suspension,
        instansi=instansi or None,
        vc_digest=vc_digest(vc_jwt) if vc_jwt else None,
    )


def _seconds(dt: datetime) -> int:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return int(dt.timestamp())


def _b64_len(n: int) -> int:
    return (4 * n + 2) // 3


def _payload_bytes(wire: Mapping[str, Any]) -> int:
    return len(json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _cut(text: str, length: int) -> str:
    """`text` within `length` characters, ending in an ellipsis when cut."""
    text = text.strip()
    return text if len(text) <= length else text[: length - 1].rstrip() + ELLIPSIS


def _longest_fit(
    text: str, shortest: int, longest: int, wire: dict[str, Any], name: str, fits: Any
) -> str | None:
    """The longest cut of `text` (between `shortest` and `longest` characters) that fits as
    claim `name`, found by bisection (a longer cut never takes fewer bytes); None if none."""
    lo, hi, best = shortest, longest, None
    while lo <= hi:
        mid = (lo + hi) // 2
        wire[name] = _cut(text, mid)
        if fits(wire):
            best, lo = wire[name], mid + 1
        else:
            hi = mid - 1
    return best


def make_qr_text(
    base_url: str,
    number: str,
    claims: QRClaims,
    key: Ed25519PrivateKey,
    kid: str,
    max_length: int = MAX_QR_TEXT_LENGTH,
) -> str:
    """``{base}/v/{number}?t={jws}``, at most `max_length` characters (see the module docstring)."""
    canonical = parse_number(number).text
    if parse_number(claims.number).text != canonical:
        raise ValueError("claims.number differs from number")
    if claims.vc_digest is not None and not _DIGEST_RE.fullmatch(claims.vc_digest):
        raise ValueError("vc_digest must come from vc_digest()")
    if not base_url.isascii():
        raise ValueError("base URL must be ASCII")

    prefix = f"{base_url.rstrip('/')}/v/{canonical}?t="
    header_json = json.dumps({"alg": "EdDSA", "kid": kid, "typ": QR_TYP}, separators=(",", ":"))
    header_len = _b64_len(len(header_json.encode("utf-8")))
    budget = max_length - len(prefix) - header_len - 2 - _SIG_B64_LEN

    def fits(wire: Mapping[str, Any]) -> bool:
        return _b64_len(_payload_bytes(wire)) <= budget

    wire: dict[str, Any] = {"n": canonical, "h": claims.holder_name.strip()}
    wire["f"] = _seconds(claims.valid_from)
    wire["u"] = _seconds(claims.valid_until)

    if not fits(wire):
        name = wire["h"]
        best = _longest_fit(name, MIN_NAME, len(name) - 1, wire, "h", fits)
        if best is None:
            raise QRTextTooLong(
                f"QR text cannot stay within {max_length} characters with base URL {base_url!r}"
            )
        wire["h"] = best

    def try_add(name: str, value: Any) -> None:
        wire[name] = value
        if not fits(wire):
            del wire[name]

    if claims.revocation is not None and claims.suspension is not None:
        rev, sus = claims.revocation, claims.suspension
        try_add("s", [rev.list_id, rev.index, sus.list_id, sus.index])
    if claims.instansi and claims.instansi.strip():
        instansi = claims.instansi.strip()
        best = _longest_fit(instansi, min(MIN_INSTANSI, len(instansi)), len(instansi), wire, "i", fits)
        if best is None:
            wire.pop("i", None)
        else:
            wire["i"] = best
    if claims.vc_digest is not None:
        try_add("d", claims.vc_digest)

    text = prefix + sign_compact(wire, key, kid, QR_TYP)
    if len(text) > max_length:  # pragma: no cover - the arithmetic above is exact
        raise QRTextTooLong(f"QR text is {len(text)} characters, above {max_length}")
    return text


def parse_qr_text(text: str) -> tuple[str | None, str]:
    """(number, token) from a scanned QR: the URL form, or a bare token (number None).

    The host is not checked here (an offline verifier may read a QR printed for any
    deployment); the signature decides. JWSError("malformed") when it is neither form.
    """
    if not isinstance(text, str):
        raise JWSError("malformed", "QR text is not a string")
    text = text.strip()
    if "/" not in text and "?" not in text:
        if text.count(".") != 2:
            raise JWSError("malformed", "not an apkd QR text nor a compact token")
        return None, text
    parts = urlsplit(text)
    segments = parts.path.rstrip("/").split("/")
    if len(segments) < 3 or segments[-2] != "v":
        raise JWSError("malformed", "the QR URL does not point to /v/{number}")
    try:
        number = parse_number(unquote(segments[-1])).text
    except NumberError as exc:
        raise JWSError("malformed", f"the QR URL holds no valid credential number: {exc}") from None
    tokens = parse_qs(parts.query).get("t", [])
    if len(tokens) != 1 or not tokens[0]:
        raise JWSError("malformed", "the QR URL carries no token (parameter t)")
    return number, tokens[0]


def _bad(message: str) -> JWSError:
    return JWSError("bad_payload", message)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _status(value: Any) -> tuple[QRStatusRef, QRStatusRef]:
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int | str) and not isinstance(v, bool) for v in value[0::2])
        or not all(_int(v) and v >= 0 for v in value[1::2])
    ):
        raise _bad("claim s must be [list id, index, list id, index]")
    return QRStatusRef(value[0], value[1]), QRStatusRef(value[2], value[3])


def _from_wire(wire: Mapping[str, Any]) -> QRClaims:
    number = wire.get("n")
    if not isinstance(number, str):
        raise _bad("claim n (credential number) missing")
    try:
        parsed = parse_number(number)
    except NumberError as exc:
        raise _bad(f"claim n is not a valid credential number: {exc}") from None
    if parsed.text != number:
        raise _bad("claim n is not in canonical form")
    name = wire.get("h")
    if not isinstance(name, str) or not name.strip():
        raise _bad("claim h (holder name) missing")
    nip_masked = None
    if "m" in wire:
        match = _COMPACT_MASK_RE.fullmatch(wire["m"]) if isinstance(wire["m"], str) else None
        if not match:
            raise _bad("claim m is not a masked NIP")
        nip_masked = match.group(1) + "*" * 11 + match.group(2)
    f, u = wire.get("f"), wire.get("u")
    if not (isinstance(f, int) and isinstance(u, int)) or isinstance(f, bool) or isinstance(u, bool):
        raise _bad("claims f and u must be integer seconds")
    if not 0 <= f < u:
        raise _bad("claims f and u must be integer seconds with f < u")
    revocation = suspension = None
    if "s" in wire:
        revocation, suspension = _status(wire["s"])
    instansi = wire.get("i")
    if instansi is not None and not isinstance(instansi, str):
        raise _bad("claim i must be text")
    digest = wire.get("d")
    if digest is not None and not (isinstance(digest, str) and _DIGEST_RE.fullmatch(digest)):
        raise _bad("claim d must be a 22-character base64url digest")
    try:
        valid_from = datetime.fromtimestamp(f, UTC)
        valid_until = datetime.fromtimestamp(u, UTC)
    except (OverflowError, OSError, ValueError):
        raise _bad("claims f and u are out of range") from None
    return QRClaims(
        number=number,
        holder_name=name,
        nip_masked=nip_masked,
        valid_from=valid_from,
        valid_until=valid_until,
        revocation=revocation,
        suspension=suspension,
        instansi=instansi,
        vc_digest=digest,
    )


def verify_qr_token(token: str, keys: Mapping[str, Ed25519PublicKey]) -> QRClaims:
    """Verify a QR token's signature and typ, then its claims; JWSError (with code) otherwise.

    Validity dates and status are NOT judged here: that is the verification policy's job.
    """
    verified = verify_compact(token, keys, QR_TYP)
    return _from_wire(verified.payload)


def verify_qr_text(text: str, keys: Mapping[str, Ed25519PublicKey]) -> QRClaims:
    """parse_qr_text + verify_qr_token, and the URL's number must be the signed one
    (JWSError code ``number_mismatch`` otherwise: a valid token pasted under another number)."""
    number, token = parse_qr_text(text)
    claims = verify_qr_token(token, keys)
    if number is not None and number != claims.number:
        raise JWSError("number_mismatch", f"the URL names {number} but the token is for {claims.number}")
    return claims
