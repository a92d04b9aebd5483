"""Ed25519 signing keys: generation, JWK form, RFC 7638 thumbprints, encryption at rest.

Pure module: no database. A key's `kid` everywhere in apkd is its RFC 7638 thumbprint, so
a verifier can recompute it from the public JWK alone.

Private keys are stored encrypted (docs/design.md: "Private keys are encrypted at rest"):

    blob = version (1 byte, 0x01) || nonce (12 bytes) || AES-256-GCM(raw 32-byte key) || tag (16 bytes)

The AES key is derived from the application secret with HKDF-SHA256 (no salt,
info b"apkd signing key v1"); the key's `kid` is the GCM associated data, so a blob moved
to another key row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "BLOB_VERSION",
    "KeyDecryptionError",
    "KeyFormatError",
    "b64url_decode",
    "b64url_encode",
    "decrypt_private_key",
    "encrypt_private_key",
    "generate_key",
    "jwks",
    "keys_from_jwks",
    "public_jwk",
    "public_key_from_jwk",
    "thumbprint",
]

BLOB_VERSION = 0x01
_HKDF_INFO = b"apkd signing key v1"
_NONCE_LEN = 12
_TAG_LEN = 16
_RAW_KEY_LEN = 32


class KeyDecryptionError(Exception):
    """An encrypted private key could not be decrypted (wrong secret, wrong kid, or tampered)."""


class KeyFormatError(ValueError):
    """A JWK or JWKS that is not a well-formed Ed25519 public key."""


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict inverse of b64url_encode: only the base64url alphabet, no padding, no whitespace.

    Raises ValueError on anything else.
    """
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not base64url")
    if len(text) % 4 == 1 or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(raw) != text:  # non-canonical trailing bits
        raise ValueError("not canonical base64url")
    return raw


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_jwk(pub: Ed25519PublicKey | Ed25519PrivateKey) -> dict[str, str]:
    """The public JWK (RFC 8037) of a key: {"kty": "OKP", "crv": "Ed25519", "x": ...}."""
    if isinstance(pub, Ed25519PrivateKey):
        pub = pub.public_key()
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of an OKP key.

    Only the required members crv, kty, x take part, in lexicographic order, with no
    whitespace; any other member (kid, alg, use, ...) is ignored.
    """
    try:
        crv, kty, x = jwk["crv"], jwk["kty"], jwk["x"]
    except KeyError as exc:
        raise KeyFormatError(f"JWK lacks required member {exc.args[0]!r}") from None
    if not all(isinstance(v, str) for v in (crv, kty, x)):
        raise KeyFormatError("JWK members crv, kty and x must be strings")
    canonical = json.dumps({"crv": crv, "kty": kty, "x": x}, separators=(",", ":"), ensure_ascii=False)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 public key of a JWK; KeyFormatError when it is not one."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise KeyFormatError("JWK is not an Ed25519 key (kty OKP, crv Ed25519)")
    x = jwk.get("x")
    try:
        raw = b64url_decode(x) if isinstance(x, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != _RAW_KEY_LEN:
        raise KeyFormatError("JWK member x is not a 32-byte base64url Ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(raw)


def jwks(keys: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A JWK Set of public keys, each with kid = its thumbprint, alg EdDSA and use sig.

    Other members already present are kept. A JWK carrying private material ("d") is
    refused, so a private key can never be published by mistake, and so is one whose kid
    is not its thumbprint.
    """
    out: list[dict[str, Any]] = []
    for key in keys:
        if "d" in key:
            raise KeyFormatError("refusing to publish a JWK with private member 'd'")
        public_key_from_jwk(key)  # validates
        tp = thumbprint(key)
        if key.get("kid", tp) != tp:
            raise KeyFormatError(f"JWK kid {key['kid']!r} is not its RFC 7638 thumbprint")
        entry = dict(key)
        entry.update({"kid": tp, "alg": "EdDSA", "use": "sig"})
        out.append(entry)
    return {"keys": out}


THUMBPRINT_URI = "urn:ietf:params:oauth:jwk-thumbprint:sha-256:"  # RFC 9278


def kid_thumbprint(kid: str) -> str:
    """The thumbprint a kid names: the tail after an RFC 9278 thumbprint URI (a kid URL's last
    segment or fragment, as the vc+jwt carries it), else the kid itself."""
    at = kid.rfind(THUMBPRINT_URI)
    return kid[at + len(THUMBPRINT_URI) :] if at >= 0 else kid


def keys_from_jwks(doc: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """thumbprint -> public key for every Ed25519 key of a JWK Set (other key types skipped).

    A key's kid must be its RFC 7638 thumbprint, or a URL ending in its RFC 9278 thumbprint
    URI (as apkd publishes them); a key without kid is indexed by its thumbprint. A
    mismatching kid raises KeyFormatError: such a set was not published by apkd and is not
    trusted.
    """
    entries = doc.get("keys")
    if not isinstance(entries, list):
        raise KeyFormatError("JWKS has no 'keys' list")
    out: dict[str, Ed25519PublicKey] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        pub = public_key_from_jwk(entry)
        tp = thumbprint(entry)
        kid = entry.get("kid", tp)
        if not isinstance(kid, str) or kid_thumbprint(kid) != tp:
            raise KeyFormatError(f"JWKS key {kid!r} does not match its RFC 7638 thumbprint")
        out[tp] = pub
    return out


def _aes_key(secret: str) -> bytes:
    if not secret:
        raise ValueError("the secret key must not be empty")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return hkdf.derive(secret.encode("utf-8"))


def encrypt_private_key(key: Ed25519PrivateKey, secret: str, kid: str) -> bytes:
    """Encrypt a private key for storage; see the module docstring for the blob layout."""
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    nonce = os.urandom(_NONCE_LEN)
    sealed = AESGCM(_aes_key(secret)).encrypt(nonce, raw, kid.encode("utf-8"))
    return bytes([BLOB_VERSION]) + nonce + sealed


def decrypt_private_key(blob: bytes, secret: str, kid: str) -> Ed25519PrivateKey:
    """Inverse of encrypt_private_key; KeyDecryptionError on a wrong secret, kid or tampering."""
    blob = bytes(blob)
    if len(blob) != 1 + _NONCE_LEN + _RAW_KEY_LEN + _TAG_LEN:
        raise KeyDecryptionError(
            f"encrypted key for kid {kid!r} has the wrong length ({len(blob)} bytes); "
            "the stored blob is damaged"
        )
    if blob[0] != BLOB_VERSION:
        raise KeyDecryptionError(
            f"encrypted key for kid {kid!r} has unknown format version {blob[0]}; "
            "it was written by another version of apkd"
        )
    nonce, sealed = blob[1 : 1 + _NONCE_LEN], blob[1 + _NONCE_LEN :]
    try:
        raw = AESGCM(_aes_key(secret)).decrypt(nonce, sealed, kid.encode("utf-8"))
    except InvalidTag:
        raise KeyDecryptionError(
            f"cannot decrypt the private key {kid!r}: APKD_SECRET_KEY differs from the one it was "
            "encrypted with, or the stored key was altered"
        ) from None
    return Ed25519PrivateKey.from_private_bytes(raw)
