"""W3C Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (VC Data Integrity EdDSA
Cryptosuites v1.0, section 3.3), and Ed25519 keys as Multikeys.

Create (3.3.1-3.3.5): canonicalize the document without its proof and the proof options
(with the document's ``@context``) by RDFC-1.0 (pyld's URDNA2015, the same algorithm and
output), hash each with SHA-256, sign ``sha256(proof config) || sha256(document)`` with
Ed25519, and attach the proof with ``proofValue`` = base58btc multibase of the signature.
Verify reverses it. tests/signing/test_dataintegrity.py reproduces the W3C test vectors
byte for byte.

JSON-LD contexts are loaded only from files shipped with apkd (``contexts/``), never from the
network: a document naming any other context is refused (DataIntegrityError).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "CRYPTOSUITE",
    "DataIntegrityError",
    "b58decode",
    "b58encode",
    "canonicalize",
    "create_proof",
    "document_loader",
    "multikey_private",
    "multikey_public",
    "public_key_from_multikey",
    "verify_proof",
]

CRYPTOSUITE = "eddsa-rdfc-2022"
_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub
_ED25519_PRIV = b"\x80\x26"  # multicodec ed25519-priv
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_CONTEXT_DIR = Path(__file__).parent / "contexts"
CONTEXT_FILES = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-context-3.0.3.json",
}
_loaded: dict[str, Any] = {}

Loader = Callable[[str, Any], dict[str, Any]]


class DataIntegrityError(ValueError):
    """A proof that cannot be made or does not verify; the message says why."""


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _ALPHABET[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58decode(text: str) -> bytes:
    n = 0
    for ch in text:
        i = _ALPHABET.find(ch)
        if i < 0:
            raise DataIntegrityError(f"not base58btc: {ch!r}")
        n = n * 58 + i
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def multikey_public(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """publicKeyMultibase of an Ed25519 key: "z" + base58btc(0xed01 || raw public key)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return "z" + b58encode(_ED25519_PUB + pub.public_bytes(Encoding.Raw, PublicFormat.Raw))


def multikey_private(key: Ed25519PrivateKey) -> str:
    """secretKeyMultibase: "z" + base58btc(0x8026 || 32-byte seed)."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    return "z" + b58encode(_ED25519_PRIV + key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def public_key_from_multikey(value: str) -> Ed25519PublicKey:
    if not value.startswith("z"):
        raise DataIntegrityError("publicKeyMultibase must be base58btc (z...)")
    raw = b58decode(value[1:])
    if len(raw) != 34 or not raw.startswith(_ED25519_PUB):
        raise DataIntegrityError("publicKeyMultibase is not an Ed25519 public key")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """pyld document loader over the contexts shipped with apkd; never goes online."""
    name = CONTEXT_FILES.get(url)
    if name is None:
        raise DataIntegrityError(f"context {url} is not one apkd knows (no network lookups)")
    if url not in _loaded:
        _loaded[url] = json.loads((_CONTEXT_DIR / name).read_text(encoding="utf-8"))
    return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(_loaded[url])}


def canonicalize(doc: Mapping[str, Any], loader: Loader = document_loader) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document."""
    from pyld import jsonld

    try:
        out = jsonld.normalize(
            copy.deepcopy(dict(doc)),
            {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader},
        )
    except DataIntegrityError:
        raise
    except Exception as exc:  # pyld's JsonLdError and friends: an unusable document
        raise DataIntegrityError(f"JSON-LD canonicalization failed: {exc}") from None
    return str(out)


def _hash_data(doc: Mapping[str, Any], proof_config: Mapping[str, Any], loader: Loader) -> bytes:
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    return (
        hashlib.sha256(canonicalize(proof_config, loader).encode()).digest()
        + hashlib.sha256(canonicalize(unsecured, loader).encode()).digest()
    )


def _proof_config(doc: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    config = {k: v for k, v in options.items() if k != "proofValue"}
    if config.get("type") != "DataIntegrityProof" or config.get("cryptosuite") != CRYPTOSUITE:
        raise DataIntegrityError(f"the proof must be a DataIntegrityProof with cryptosuite {CRYPTOSUITE}")
    config["@context"] = doc["@context"]
    return config


def create_proof(
    doc: Mapping[str, Any],
    key: Ed25519PrivateKey,
    *,
    verification_method: str,
    created: str,
    proof_purpose: str = "assertionMethod",
    loader: Loader = document_loader,
    as_set: bool = False,
) -> dict[str, Any]:
    """`doc` with an embedded eddsa-rdfc-2022 DataIntegrityProof (a new dict). `as_set`: the
    proof as a one-element array (a proof set), which the OB 3.0 schema requires."""
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    signature = key.sign(_hash_data(doc, _proof_config(doc, options), loader))
    proof = {**options, "proofValue": "z" + b58encode(signature)}
    return {**{k: v for k, v in doc.items() if k != "proof"}, "proof": [proof] if as_set else proof}


def verify_proof(
    doc: Mapping[str, Any],
    resolve: Callable[[str], Ed25519PublicKey | None],
    *,
    loader: Loader = document_loader,
) -> dict[str, Any]:
    """Verify `doc`'s embedded proof; `resolve` maps its verificationMethod to a trusted key
    (None: unknown). Returns the proof; DataIntegrityError says what is wrong."""
    proof = doc.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]  # a proof set of one
    if not isinstance(proof, Mapping):
        raise DataIntegrityError(
            "no proof (one DataIntegrityProof, alone or in a set of one) in the document"
        )
    value = proof.get("proofValue")
    method = proof.get("verificationMethod")
    if not isinstance(value, str) or not value.startswith("z") or not isinstance(method, str):
        raise DataIntegrityError("proofValue (base58btc) or verificationMethod missing")
    key = resolve(method)
    if key is None:
        raise DataIntegrityError(f"unknown verification method {method}")
    signature = b58decode(value[1:])
    if len(signature) != 64:
        raise DataIntegrityError("an Ed25519 signature is 64 bytes")
    try:
        key.verify(signature, _hash_data(doc, _proof_config(doc, proof), loader))
    except InvalidSignature:
        raise DataIntegrityError("the proof does not verify: the document or proof was altered") from None
    return dict(proof)
