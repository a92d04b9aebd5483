"""Compact JWS (RFC 7515) with EdDSA over Ed25519 (RFC 8037), and nothing else.

Signing writes the protected header exactly as {"alg":"EdDSA","kid":kid,"typ":typ}.

Verification fails closed, with a distinct code for each reason (JWSError.code):

- ``malformed``      not three base64url segments, or a header that is not a JSON object
- ``bad_header``     alg other than exactly "EdDSA" or "Ed25519" (RFC 9864's fully specified
                     name; so "none", "HS256", "EdDSA " ... are refused), a ``crit`` member, b64 other than true, duplicate members,
                     or a missing/non-string kid
- ``unknown_kid``    the kid is not one of the keys the caller trusts
- ``bad_signature``  the Ed25519 signature does not verify
- ``bad_typ``        typ is not one of the expected ones
- ``bad_payload``    the (authentic) payload is not a JSON object

A kid is a key's RFC 7638 thumbprint, or a URL whose tail is its RFC 9278 thumbprint URI
(``.../urn:ietf:params:oauth:jwk-thumbprint:sha-256:<thumbprint>``, as the vc+jwt carries
it); :func:`kid_thumbprint` reduces both to the thumbprint, which is what ``keys`` is keyed
by and what Verified.kid holds.

The verification key comes only from the caller's ``keys`` by kid: header members that
would name a key (jwk, jku, x5u, x5c, x5t, x5t#S256) are ignored. ``typ`` compares as
RFC 7515 section 4.1.9 says (case-insensitively, an "application/" prefix optional).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from apkd.signing.keys import THUMBPRINT_URI, kid_thumbprint

__all__ = [
    "ACCEPTED_ALGS",
    "ALG",
    "MAX_TOKEN_LENGTH",
    "THUMBPRINT_URI",
    "JWSError",
    "Verified",
    "kid_thumbprint",
    "protected_header",
    "sign_compact",
    "unverified_header",
    "verify_compact",
]

ALG = "EdDSA"
ACCEPTED_ALGS = frozenset({"EdDSA", "Ed25519"})  # RFC 9864: "Ed25519" is EdDSA over Ed25519
# A credential is a few KB; anything far larger is refused before any decoding work.
MAX_TOKEN_LENGTH = 256 * 1024
_SIG_LEN = 64
_B64URL_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

ERROR_CODES = ("malformed", "bad_header", "unknown_kid", "bad_signature", "bad_typ", "bad_payload")


class JWSError(Exception):
    """A token that does not verify. `code` is machine-readable, `message` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Verified:
    header: dict[str, Any]
    payload: dict[str, Any]
    kid: str


def _b64e(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@lru_cache(maxsize=64)
def protected_header(kid: str, typ: str) -> bytes:
    """The base64url protected header that sign_compact puts before the payload."""
    header = json.dumps({"alg": ALG, "kid": kid, "typ": typ}, separators=(",", ":"), ensure_ascii=False)
    return _b64e(header.encode("utf-8"))


_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def sign_compact(payload: dict[str, Any] | bytes, key: Ed25519PrivateKey, kid: str, typ: str) -> str:
    """Sign `payload` (a dict, serialised as compact UTF-8 JSON, or raw bytes) as a compact JWS."""
    body = payload if isinstance(payload, bytes) else _dumps(payload).encode("utf-8")
    signing_input = protected_header(kid, typ) + b"." + _b64e(body)
    return (signing_input + b"." + _b64e(key.sign(signing_input))).decode("ascii")


def _b64d(segment: str, what: str) -> bytes:
    raw = segment.encode("ascii")  # caller checked the alphabet
    if len(raw) % 4 == 1:
        raise JWSError("malformed", f"{what} is not valid base64url")
    try:
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        raise JWSError("malformed", f"{what} is not valid base64url") from None


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise _Duplicate(name)
        out[name] = value
    return out


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"non-standard JSON constant {name}")


def _json_object(raw: bytes) -> dict[str, Any] | None:
    """Parse a JSON object strictly; None when it is not one. _Duplicate propagates."""
    try:
        value = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_reject_constant
        )
    except _Duplicate:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _split(token: object) -> tuple[str, str, str]:
    if not isinstance(token, str):
        raise JWSError("malformed", "token is not a string")
    if len(token) > MAX_TOKEN_LENGTH:
        raise JWSError("malformed", f"token longer than {MAX_TOKEN_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise JWSError("malformed", "a compact JWS has exactly three dot-separated parts")
    if not token.isascii() or not _B64URL_CHARS.issuperset(token.replace(".", "").encode("ascii")):
        raise JWSError("malformed", "token has characters outside base64url")
    return parts[0], parts[1], parts[2]


def _parse_header(segment: str) -> dict[str, Any]:
    try:
        header = _json_object(_b64d(segment, "header"))
    except _Duplicate as dup:
        raise JWSError("bad_header", f"header member {dup.args[0]!r} appears twice") from None
    if header is None:
        raise JWSError("malformed", "header is not a JSON object")
    return header


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header of a token, NOT verified: for diagnostics (e.g. showing the kid)."""
    return _parse_header(_split(token)[0])


def _typ_norm(value: str) -> str:
    value = value.lower()
    return value[len("application/") :] if value.startswith("application/") else value


def verify_compact(
    token: str, keys: Mapping[str, Ed25519PublicKey], expected_typ: str | set[str] | frozenset[str]
) -> Verified:
    """Verify a compact JWS against trusted `keys` (kid -> key); JWSError if anything is off."""
    h_seg, p_seg, s_seg = _split(token)
    header = _parse_header(h_seg)

    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ACCEPTED_ALGS:
        raise JWSError("bad_header", f"alg must be 'EdDSA' or 'Ed25519', got {alg!r}")
    if "crit" in header:
        raise JWSError("bad_header", "critical header extensions (crit) are not supported")
    if "b64" in header and header["b64"] is not True:
        raise JWSError("bad_header", "unencoded payloads (b64) are not supported")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JWSError("bad_header", "header has no kid")
    # jwk, jku, x5u, x5c, x5t: deliberately never consulted.

    kid = kid_thumbprint(kid)
    key = keys.get(kid)
    if key is None:
        raise JWSError("unknown_kid", f"no trusted key with kid {kid!r}")

    signature = _b64d(s_seg, "signature")
    if len(signature) != _SIG_LEN:
        raise JWSError("bad_signature", "an Ed25519 signature is 64 bytes")
    if _b64e(signature).decode("ascii") != s_seg:  # unused trailing bits set: a second spelling
        raise JWSError("malformed", "signature is not canonical base64url")
    try:
        key.verify(signature, (h_seg + "." + p_seg).encode("ascii"))
    except InvalidSignature:
        raise JWSError("bad_signature", "signature does not verify with the key of this kid") from None

    typ = header.get("typ")
    wanted = {expected_typ} if isinstance(expected_typ, str) else set(expected_typ)
    if not isinstance(typ, str) or _typ_norm(typ) not in {_typ_norm(t) for t in wanted}:
        raise JWSError("bad_typ", f"typ must be {' or '.join(sorted(wanted))}, got {typ!r}")

    try:
        payload = _json_object(_b64d(p_seg, "payload"))
    except _Duplicate as dup:
        raise JWSError("bad_payload", f"payload member {dup.args[0]!r} appears twice") from None
    except JWSError as exc:
        raise JWSError("bad_payload", exc.message) from None
    if payload is None:
        raise JWSError("bad_payload", "payload is not a JSON object")
    return Verified(header=header, payload=payload, kid=kid)
