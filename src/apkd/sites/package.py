"""The two files that travel between the centre and an exam site. Pure module: no database.

Both are one JSON envelope, signed with Ed25519 over a domain-separated message::

    {"format": FORMAT, "kid": <RFC 7638 thumbprint of the signing key>,
     "body": <base64url of the canonical JSON body>, "signature": <base64url>}

    signed message = FORMAT (ASCII) || 0x0A || body bytes

The body is signed as bytes, so a verifier never re-serialises anything; its SHA-256 is the
file's ``digest`` (what the centre records for a package and for a results file).

- A **package** (``PACKAGE_FORMAT``) is signed with the issuer's key. Its ``secret`` member
  (the item pool with answer keys, and the package's private site key) is AES-256-GCM
  encrypted under a key derived from the unlock code with scrypt; the associated data binds
  the ciphertext to the package id. Without the code the file reveals no item.
- A **results** file (``RESULTS_FORMAT``) is signed with the package's site key.
- A **state report** (``REPORT_FORMAT``) is signed with the site key once the package is
  unlocked, before that with the package's report key (docs/decisions/042).

The unlock code is 20 characters of Crockford base32 (100 bits) in groups of four, so
scrypt's cost is a second line of defence, not the only one.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from apkd.signing.keys import KeyFormatError, b64url_decode, b64url_encode, public_key_from_jwk, thumbprint

__all__ = [
    "PACKAGE_FORMAT",
    "REPORT_FORMAT",
    "RESULTS_FORMAT",
    "Envelope",
    "PackageError",
    "WrongCode",
    "canonical_bytes",
    "decrypt_secret",
    "encrypt_secret",
    "new_unlock_code",
    "normalize_code",
    "open_envelope",
    "private_key_from_raw",
    "seal_envelope",
]

PACKAGE_FORMAT = "apkd-site-package/1"
RESULTS_FORMAT = "apkd-site-results/1"
REPORT_FORMAT = "apkd-site-report/1"  # a site's state report (docs/decisions/042)
MAX_FILE_BYTES = 64 * 1024 * 1024

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_CODE_CHARS = 20
# scrypt cost: 2^15 x 8 x 128 B = 32 MiB and ~0.1 s per guess (RFC 7914's interactive figure).
_KDF = {"alg": "scrypt", "n": 2**15, "r": 8, "p": 1}
_NONCE_LEN = 12


class PackageError(Exception):
    """A file that is not what it claims to be. ``code`` is machine-readable, the message Indonesian."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WrongCode(Exception):
    """The unlock code does not open this package."""


def private_key_from_raw(raw: bytes) -> Ed25519PrivateKey:
    if len(raw) != 32:
        raise PackageError("bad_package", "Kunci lokasi di dalam paket rusak.")
    return Ed25519PrivateKey.from_private_bytes(raw)


def canonical_bytes(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


# --- unlock codes --------------------------------------------------------------------------------


def new_unlock_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_CHARS))
    return "-".join(raw[i : i + 4] for i in range(0, _CODE_CHARS, 4))


def normalize_code(text: str) -> str:
    """The code as typed (any case, spaces or dashes, O for 0, I or L for 1) in canonical form."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -\t\r\n")
    cleaned = cleaned.replace("O", "0").replace("I", "1").replace("L", "1")
    return "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))


def _derive(code: str, salt: bytes, kdf: dict[str, Any]) -> bytes:
    if kdf.get("alg") != "scrypt":
        raise PackageError("bad_package", "Paket memakai penurunan kunci yang tidak dikenal.")
    try:
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    except (KeyError, TypeError, ValueError):
        raise PackageError("bad_package", "Parameter penurunan kunci paket rusak.") from None
    if not (2**10 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise PackageError("bad_package", "Parameter penurunan kunci paket di luar batas wajar.")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(normalize_code(code).encode("ascii"))


def encrypt_secret(secret: dict[str, Any], code: str, aad: str) -> dict[str, Any]:
    """``secret`` encrypted under a key derived from ``code``; ``aad`` binds it to its package."""
    salt, nonce = os.urandom(16), os.urandom(_NONCE_LEN)
    key = _derive(code, salt, _KDF)
    ciphertext = AESGCM(key).encrypt(nonce, canonical_bytes(secret), aad.encode("utf-8"))
    return {
        "kdf": {**_KDF, "salt": b64url_encode(salt)},
        "cipher": "A256GCM",
        "nonce": b64url_encode(nonce),
        "ciphertext": b64url_encode(ciphertext),
    }


def decrypt_secret(enc: dict[str, Any], code: str, aad: str) -> dict[str, Any]:
    """Inverse of :func:`encrypt_secret`; :class:`WrongCode` when the code does not open it."""
    try:
        kdf = dict(enc["kdf"])
        salt = b64url_decode(kdf.pop("salt"))
        nonce = b64url_decode(enc["nonce"])
        ciphertext = b64url_decode(enc["ciphertext"])
    except (KeyError, TypeError, ValueError):
        raise PackageError("bad_package", "Bagian terenkripsi paket rusak.") from None
    if enc.get("cipher") != "A256GCM" or len(nonce) != _NONCE_LEN:
        raise PackageError("bad_package", "Bagian terenkripsi paket memakai sandi yang tidak dikenal.")
    key = _derive(code, salt, kdf)
    try:
        plain = AESGCM(key).decrypt(nonce, ciphertext, aad.encode("utf-8"))
    except InvalidTag:
        raise WrongCode() from None
    value = json.loads(plain.decode("utf-8"))
    if not isinstance(value, dict):
        raise PackageError("bad_package", "Isi terenkripsi paket bukan objek.")
    return value


# --- envelopes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """A parsed, not yet verified, file: check it with :meth:`verify` before trusting ``body``."""

    format: str
    kid: str
    body_bytes: bytes
    body: dict[str, Any]
    signature: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body_bytes).hexdigest()

    def verify(self, jwk: dict[str, Any]) -> None:
        """Raise :class:`PackageError` unless ``jwk`` is the key that signed this file."""
        try:
            pub: Ed25519PublicKey = public_key_from_jwk(jwk)
            kid = thumbprint(jwk)
        except KeyFormatError:
            raise PackageError("bad_key", "Kunci publik penanda tangan tidak sah.") from None
        if kid != self.kid:
            raise PackageError(
                "wrong_signer", "Berkas ditandatangani dengan kunci lain dari yang diharapkan."
            )
        try:
            pub.verify(self.signature, _message(self.format, self.body_bytes))
        except InvalidSignature:
            raise PackageError(
                "bad_signature", "Tanda tangan berkas tidak cocok: berkas telah diubah atau rusak."
            ) from None


def _message(fmt: str, body: bytes) -> bytes:
    return fmt.encode("ascii") + b"\n" + body


def seal_envelope(fmt: str, body: dict[str, Any], key: Ed25519PrivateKey, kid: str) -> bytes:
    """The signed file for ``body``. Deterministic: Ed25519 signs the same bytes the same way."""
    body_bytes = canonical_bytes(body)
    doc = {
        "format": fmt,
        "kid": kid,
        "body": b64url_encode(body_bytes),
        "signature": b64url_encode(key.sign(_message(fmt, body_bytes))),
    }
    return json.dumps(doc, indent=1).encode("ascii") + b"\n"


def open_envelope(data: bytes, fmt: str) -> Envelope:
    """Parse a file of format ``fmt``; :class:`PackageError` when it is not one."""
    what = {PACKAGE_FORMAT: "paket ujian", REPORT_FORMAT: "laporan keadaan lokasi"}.get(fmt, "berkas hasil")
    if len(data) > MAX_FILE_BYTES:
        raise PackageError("too_large", f"Berkas terlalu besar untuk sebuah {what}.")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PackageError("malformed", f"Berkas ini bukan {what} apkd (bukan JSON).") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise PackageError("wrong_format", f"Berkas ini bukan {what} apkd ({fmt}).")
    try:
        body_bytes = b64url_decode(doc["body"])
        signature = b64url_decode(doc["signature"])
        kid = doc["kid"]
        body = json.loads(body_bytes.decode("utf-8"))
    except (KeyError, TypeError, ValueError, UnicodeDecodeError):
        raise PackageError("malformed", f"Isi {what} rusak.") from None
    if not isinstance(kid, str) or not isinstance(body, dict) or len(signature) != 64:
        raise PackageError("malformed", f"Isi {what} rusak.")
    return Envelope(format=fmt, kid=kid, body_bytes=body_bytes, body=body, signature=signature)
