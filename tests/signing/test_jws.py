from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization

from apkd.signing.jws import JWSError, sign_compact, verify_compact
from apkd.signing.keys import generate_key, jwks, public_jwk, thumbprint

TYP = "vc+jwt"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(seg: str) -> bytes:
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))


def compact(header: dict, payload: dict) -> str:
    return b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())


@pytest.fixture(scope="module")
def signer():
    key = generate_key()
    kid = thumbprint(public_jwk(key))
    return key, kid, {kid: key.public_key()}


def expect(code: str, token: str, keys, typ=TYP):
    with pytest.raises(JWSError) as info:
        verify_compact(token, keys, typ)
    assert info.value.code == code, info.value.message
    return info.value


def test_round_trip(signer):
    key, kid, keys = signer
    payload = {"nama": "Ni Luh Putu Ayu Wédari", "nilai": 83.5, "daftar": [1, 2]}
    token = sign_compact(payload, key, kid, TYP)
    verified = verify_compact(token, keys, TYP)
    assert verified.payload == payload
    assert verified.kid == kid
    assert verified.header == {"alg": "EdDSA", "kid": kid, "typ": TYP}


def test_protected_header_is_exactly_alg_kid_typ(signer):
    key, kid, _ = signer
    token = sign_compact({"a": 1}, key, kid, TYP)
    assert unb64(token.split(".")[0]) == b'{"alg":"EdDSA","kid":"' + kid.encode() + b'","typ":"vc+jwt"}'
    assert unb64(token.split(".")[1]) == b'{"a":1}'  # compact separators


def test_bytes_payload_is_signed_as_is(signer):
    key, kid, keys = signer
    token = sign_compact(b'{"x": 1}', key, kid, TYP)
    assert verify_compact(token, keys, TYP).payload == {"x": 1}


def test_altered_payload_is_refused(signer):
    key, kid, keys = signer
    h, _, s = sign_compact({"score": 55}, key, kid, TYP).split(".")
    forged = h + "." + b64(b'{"score":95}') + "." + s
    expect("bad_signature", forged, keys)


def test_altered_signature_is_refused(signer):
    key, kid, keys = signer
    h, p, s = sign_compact({"score": 55}, key, kid, TYP).split(".")
    sig = bytearray(unb64(s))
    sig[10] ^= 0x01
    expect("bad_signature", f"{h}.{p}.{b64(bytes(sig))}", keys)
    expect("bad_signature", f"{h}.{p}.", keys)  # empty signature
    expect("bad_signature", f"{h}.{p}.{s[:-4]}", keys)  # short signature


def test_second_spelling_of_a_signature_is_refused(signer):
    key, kid, keys = signer
    h, p, s = sign_compact({"a": 1}, key, kid, TYP).split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # the last of 86 characters carries 2 unused bits: flipping them decodes to the same bytes
    twin = s[:-1] + alphabet[alphabet.index(s[-1]) ^ 1]
    assert unb64(twin) == unb64(s)
    expect("malformed", f"{h}.{p}.{twin}", keys)


def test_alg_none_is_refused(signer):
    _, kid, keys = signer
    token = compact({"alg": "none", "kid": kid, "typ": TYP}, {"score": 100}) + "."
    expect("bad_header", token, keys)


@pytest.mark.parametrize("alg", ["HS256", "EdDSA ", "eddsa", "ES256", "ed25519", "Ed448", None, 1])
def test_other_algs_are_refused(signer, alg):
    key, kid, keys = signer
    h_p = compact({"alg": alg, "kid": kid, "typ": TYP}, {"a": 1})
    token = h_p + "." + b64(key.sign(h_p.encode()))  # even with a genuine Ed25519 signature
    expect("bad_header", token, keys)


def test_hs256_keyed_with_the_public_key_is_refused(signer):
    key, kid, keys = signer
    raw_pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    for secret in (
        raw_pub,
        json.dumps(public_jwk(key)).encode(),
        json.dumps(public_jwk(key), separators=(",", ":")).encode(),
        public_jwk(key)["x"].encode(),
    ):
        h_p = compact({"alg": "HS256", "kid": kid, "typ": TYP}, {"score": 100})
        token = h_p + "." + b64(hmac.new(secret, h_p.encode(), hashlib.sha256).digest())
        expect("bad_header", token, keys)


def test_unknown_kid_is_refused(signer):
    _, _, keys = signer
    other = generate_key()
    token = sign_compact({"a": 1}, other, thumbprint(public_jwk(other)), TYP)
    expect("unknown_kid", token, keys)


def test_embedded_attacker_jwk_is_ignored(signer):
    _, kid, keys = signer
    attacker = generate_key()
    attacker_jwk = public_jwk(attacker)
    for header_kid, code in ((thumbprint(attacker_jwk), "unknown_kid"), (kid, "bad_signature")):
        header = {"alg": "EdDSA", "kid": header_kid, "typ": TYP, "jwk": attacker_jwk}
        for extra in ({}, {"jku": "https://evil.example/jwks.json"}, {"x5c": ["MIIB"]}):
            h_p = compact({**header, **extra}, {"score": 100})
            token = h_p + "." + b64(attacker.sign(h_p.encode()))
            expect(code, token, keys)


def test_header_extensions_are_refused(signer):
    key, kid, keys = signer
    for header in (
        {"alg": "EdDSA", "kid": kid, "typ": TYP, "crit": ["exp"], "exp": 1},
        {"alg": "EdDSA", "kid": kid, "typ": TYP, "b64": False},
        {"alg": "EdDSA", "typ": TYP},
        {"alg": "EdDSA", "kid": 7, "typ": TYP},
    ):
        h_p = compact(header, {"a": 1})
        expect("bad_header", h_p + "." + b64(key.sign(h_p.encode())), keys)
    # duplicate member names: a second "alg" that some parsers would take
    raw = b'{"alg":"EdDSA","kid":"' + kid.encode() + b'","typ":"vc+jwt","alg":"none"}'
    h_p = b64(raw) + "." + b64(b'{"a":1}')
    expect("bad_header", h_p + "." + b64(key.sign(h_p.encode())), keys)


def test_typ_is_checked(signer):
    key, kid, keys = signer
    expect("bad_typ", sign_compact({"a": 1}, key, kid, "apkd-qr+jwt"), keys, TYP)
    expect("bad_typ", sign_compact({"a": 1}, key, kid, "JWT"), keys, TYP)
    ok = sign_compact({"a": 1}, key, kid, "application/VC+JWT")
    assert verify_compact(ok, keys, TYP).payload == {"a": 1}
    assert verify_compact(sign_compact({"a": 1}, key, kid, "b"), keys, {"a", "b"}).payload == {"a": 1}


@pytest.mark.parametrize("body", [b"[1,2]", b'"text"', b"\xff\xfe", b"{", b'{"a":NaN}', b'{"a":1,"a":2}'])
def test_payload_must_be_a_json_object(signer, body):
    key, kid, keys = signer
    expect("bad_payload", sign_compact(body, key, kid, TYP), keys)


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b", "a.b.c.d", "a!.b.c", "ey J.b.c", "é.b.c", "YQ.YQ.YQ", 42, None]
)
def test_malformed_tokens(signer, token):
    _, _, keys = signer
    expect("malformed", token, keys)


def test_verifies_independently_with_joserfc(signer):
    from joserfc import jws as jose_jws
    from joserfc.jwk import KeySet

    key, kid, _ = signer
    payload = {"type": ["VerifiableCredential"], "name": "Sertifikat Kompetensi"}
    token = sign_compact(payload, key, kid, TYP)
    keyset = KeySet.import_key_set(jwks([public_jwk(key)]))
    with pytest.warns(Warning):  # joserfc flags the polymorphic "EdDSA" (RFC 9864), still verifies
        obj = jose_jws.deserialize_compact(token, keyset, algorithms=["EdDSA"])
    assert obj.headers() == {"alg": "EdDSA", "kid": kid, "typ": TYP}
    assert json.loads(obj.payload) == payload


def test_signing_runs_near_bare_ed25519_speed(signer):
    key, kid, _ = signer
    # a credential-sized payload (~3 KB of JSON)
    payload = {
        "credentialSubject": {"identifier": [{"identityHash": "x" * 64}] * 4, "role": "y" * 120},
        "achievement": {"criteria": {"narrative": "Dinyatakan kompeten " * 60}},
        "credentialStatus": [{"id": "https://apkd.example/api/v1/status-lists/1#123456"}] * 2,
    }
    message = b"h" * 110 + b"." + b64(json.dumps(payload, separators=(",", ":")).encode()).encode()
    n = 500

    def best(fn) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(n):
                fn()
            times.append(time.perf_counter() - start)
        return min(times)

    bare = best(lambda: key.sign(message))
    ours = best(lambda: sign_compact(payload, key, kid, TYP))
    assert bare / ours >= 0.30, f"sign_compact runs at {bare / ours:.0%} of bare Ed25519"
