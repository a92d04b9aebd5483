"""The archive bundle's format (pure: no database).

A bundle is one compact JWS (RFC 7515) followed by a newline: header ``{"alg": "EdDSA",
"kid": ..., "typ": "apkd-archive+json"}``, payload the UTF-8 JSON of the records, signature by
the issuer's Ed25519 key. The payload carries the issuer's JWKS at the time of archiving, so the
bundle verifies with nothing else; given the issuer's published JWKS (``--jwks``) the verifier
also checks that the signing key is the issuer's. Every byte of the file is covered: the header
and payload by the signature, the signature by its canonical base64url spelling, the end by an
exact single newline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from apkd.audit import event_hash
from apkd.signing.jws import JWSError, sign_compact, verify_compact

FORMAT = "apkd-archive/1"
TYP = "apkd-archive+json"

__all__ = ["FORMAT", "TYP", "Check", "Report", "seal", "verify"]


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def encode(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(
        payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default
    ).encode()


def seal(payload: Mapping[str, Any], key: Ed25519PrivateKey, kid: str) -> bytes:
    """The bundle's bytes: the signed payload and a newline."""
    return sign_compact(encode(payload), key, kid, TYP).encode("ascii") + b"\n"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    payload: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok


def _b64d(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _public_keys(jwks: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks.get("keys", []) if isinstance(jwks, Mapping) else []:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        try:
            raw = _b64d(str(jwk["x"]))
            keys[str(jwk["kid"])] = Ed25519PublicKey.from_public_bytes(raw)
        except (KeyError, ValueError, binascii.Error):
            continue
    return keys


def verify(data: bytes, issuer_jwks: Mapping[str, Any] | None = None) -> Report:
    """Check a bundle offline; every check is reported, and a check that could not run fails."""
    report = Report()
    if not data.endswith(b"\n") or data.count(b"\n") != 1:
        report.add("format", False, "berkas harus satu token JWS diakhiri satu baris baru")
        return report
    try:
        token = data[:-1].decode("ascii")
        _h, p_seg, _s = token.split(".")
        embedded = json.loads(_b64d(p_seg))
    except (UnicodeDecodeError, ValueError, binascii.Error):
        report.add("format", False, "bukan token JWS yang dapat dibaca")
        return report
    if not isinstance(embedded, dict) or embedded.get("format") != FORMAT:
        report.add("format", False, f"bukan arsip {FORMAT}")
        return report
    report.add("format", True, FORMAT)
    keys = _public_keys(embedded.get("issuer_jwks") or {})
    try:
        verified = verify_compact(token, keys, TYP)
    except JWSError as exc:
        report.add("signature", False, f"tanda tangan tidak sah: {exc.message}")
        return report
    report.add("signature", True, f"ditandatangani kunci {verified.kid}; isi arsip utuh")
    if issuer_jwks is not None:
        pinned = _public_keys(issuer_jwks).get(verified.kid)
        same = pinned is not None and pinned.public_bytes_raw() == keys[verified.kid].public_bytes_raw()
        report.add(
            "issuer_key",
            same,
            "kunci penanda tangan tercantum dalam JWKS penerbit"
            if same
            else f"kunci {verified.kid} tidak tercantum dalam JWKS penerbit yang diberikan",
        )
    audit = verified.payload.get("audit") or {}
    report.add("audit_chain", *_check_chain(audit))
    digest = hashlib.sha256(data).hexdigest()
    report.add("digest", True, f"SHA-256 berkas {digest}")
    report.payload = verified.payload
    return report


def _check_chain(audit: Mapping[str, Any]) -> tuple[bool, str]:
    """The audit chain segment: each event's hash recomputed, each linked to the one before."""
    events = audit.get("events")
    if not isinstance(events, list):
        return False, "segmen rantai audit tidak ada"
    prev: str | None = None
    seq: int | None = None
    for ev in events:
        try:
            at = datetime.fromisoformat(ev["at"])
            want = event_hash(
                ev["prev_hash"],
                ev["seq"],
                at,
                ev["actor"],
                ev["action"],
                ev["subject_type"],
                ev["subject_id"],
                ev["details"],
            )
        except (KeyError, TypeError, ValueError):
            return False, "peristiwa audit tidak lengkap"
        if want != ev["hash"]:
            return False, f"hash peristiwa #{ev['seq']} tidak cocok"
        if prev is not None and (ev["prev_hash"] != prev or ev["seq"] != (seq or 0) + 1):
            return False, f"peristiwa #{ev['seq']} tidak bersambung dengan sebelumnya"
        prev, seq = ev["hash"], ev["seq"]
    if not events:
        return True, "tidak ada peristiwa audit untuk sesi ini"
    return (
        True,
        f"{len(events)} peristiwa audit (#{events[0]['seq']}-#{events[-1]['seq']}) bersambung dan utuh",
    )
