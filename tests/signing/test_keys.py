from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from apkd.signing.keys import (
    KeyDecryptionError,
    KeyFormatError,
    b64url_decode,
    b64url_encode,
    decrypt_private_key,
    encrypt_private_key,
    generate_key,
    jwks,
    keys_from_jwks,
    public_jwk,
    public_key_from_jwk,
    thumbprint,
)

# RFC 8037 Appendix A.1 (private key) and A.3 (its public key's RFC 7638 thumbprint).
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

SECRET = "rahasia-aplikasi-yang-panjang-sekali"


def rfc8037_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_D))


def test_thumbprint_matches_rfc8037_appendix_a3():
    assert thumbprint({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}) == RFC8037_THUMBPRINT


def test_thumbprint_ignores_member_order_and_optional_members():
    jwk = {"x": RFC8037_X, "use": "sig", "kid": "whatever", "crv": "Ed25519", "alg": "EdDSA", "kty": "OKP"}
    assert thumbprint(jwk) == RFC8037_THUMBPRINT


def test_thumbprint_requires_required_members():
    with pytest.raises(KeyFormatError):
        thumbprint({"kty": "OKP", "x": RFC8037_X})


def test_public_jwk_of_rfc8037_private_key():
    key = rfc8037_key()
    jwk = public_jwk(key)
    assert jwk == {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}
    assert public_jwk(key.public_key()) == jwk
    assert thumbprint(jwk) == RFC8037_THUMBPRINT


def test_public_key_from_jwk_round_trip_and_refusals():
    key = generate_key()
    pub = public_key_from_jwk(public_jwk(key))
    pub.verify(key.sign(b"pesan"), b"pesan")
    with pytest.raises(KeyFormatError):
        public_key_from_jwk({"kty": "EC", "crv": "P-256", "x": RFC8037_X})
    with pytest.raises(KeyFormatError):
        public_key_from_jwk({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X[:-4]})


def test_b64url_decode_is_strict():
    assert b64url_decode(b64url_encode(b"\xff\xfe\x00")) == b"\xff\xfe\x00"
    for bad in ("ab==", "a+b/", "a b", "A", "AB"):  # "AB": non-canonical trailing bits
        with pytest.raises(ValueError):
            b64url_decode(bad)


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def test_encrypted_key_round_trip_signs_like_the_original():
    key = generate_key()
    kid = thumbprint(public_jwk(key))
    blob = encrypt_private_key(key, SECRET, kid)
    restored = decrypt_private_key(blob, SECRET, kid)
    key.public_key().verify(restored.sign(b"data"), b"data")
    assert _raw(restored) == _raw(key)


def test_encrypted_blob_layout_and_randomness():
    key = generate_key()
    blob1 = encrypt_private_key(key, SECRET, "kid-1")
    blob2 = encrypt_private_key(key, SECRET, "kid-1")
    assert blob1[0] == 0x01  # version byte
    assert len(blob1) == 1 + 12 + 32 + 16
    assert blob1 != blob2  # fresh 96-bit nonce each time
    assert _raw(key) not in blob1


def test_wrong_secret_is_refused_with_a_clear_message():
    key = generate_key()
    blob = encrypt_private_key(key, SECRET, "kid-1")
    with pytest.raises(KeyDecryptionError, match="APKD_SECRET_KEY"):
        decrypt_private_key(blob, SECRET + "x", "kid-1")


def test_blob_bound_to_its_kid():
    key = generate_key()
    blob = encrypt_private_key(key, SECRET, "kid-1")
    with pytest.raises(KeyDecryptionError):
        decrypt_private_key(blob, SECRET, "kid-2")


def test_every_tampered_byte_is_detected():
    key = generate_key()
    blob = encrypt_private_key(key, SECRET, "kid-1")
    for i in range(len(blob)):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(KeyDecryptionError):
            decrypt_private_key(bytes(tampered), SECRET, "kid-1")
    with pytest.raises(KeyDecryptionError, match="length"):
        decrypt_private_key(blob[:-1], SECRET, "kid-1")


def test_empty_secret_is_refused():
    with pytest.raises(ValueError):
        encrypt_private_key(generate_key(), "", "kid")


def test_jwks_publishes_public_keys_with_thumbprint_kids():
    k1, k2 = generate_key(), generate_key()
    doc = jwks([public_jwk(k1), public_jwk(k2)])
    assert [e["kid"] for e in doc["keys"]] == [thumbprint(public_jwk(k1)), thumbprint(public_jwk(k2))]
    for entry in doc["keys"]:
        assert entry["alg"] == "EdDSA" and entry["use"] == "sig" and "d" not in entry
    json.dumps(doc)  # serialisable as served
    trusted = keys_from_jwks(doc)
    assert set(trusted) == {thumbprint(public_jwk(k1)), thumbprint(public_jwk(k2))}
    trusted[thumbprint(public_jwk(k2))].verify(k2.sign(b"m"), b"m")


def test_jwks_refuses_private_material_and_foreign_kids():
    private = dict(public_jwk(generate_key()), d=RFC8037_D)
    with pytest.raises(KeyFormatError):
        jwks([private])
    with pytest.raises(KeyFormatError):
        jwks([dict(public_jwk(generate_key()), kid="my-own-name")])


def test_keys_from_jwks_skips_other_key_types_and_rejects_mismatched_kid():
    jwk = public_jwk(generate_key())
    doc = {"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa"}, jwk]}
    assert list(keys_from_jwks(doc)) == [thumbprint(jwk)]
    with pytest.raises(KeyFormatError):
        keys_from_jwks({"keys": [dict(jwk, kid=RFC8037_THUMBPRINT)]})
    with pytest.raises(KeyFormatError):
        keys_from_jwks({"nokeys": []})


def test_thumbprint_is_sha256_of_canonical_json():
    jwk = public_jwk(generate_key())
    canonical = '{"crv":"Ed25519","kty":"OKP","x":"' + jwk["x"] + '"}'
    assert b64url_decode(thumbprint(jwk)) == hashlib.sha256(canonical.encode()).digest()
