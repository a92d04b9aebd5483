"""Issue 12, points 2-4: the credential as the validators read it, checked against the
standards' own files (tests/standards/): the OB 3.0 AchievementCredential JSON schema, no
undefined term under the real contexts (pyld, offline), the subject's id and the JWT's sub."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlmodel import select

from apkd.credentials.models import Credential
from apkd.grading import effects
from standards_files import schema_errors, undefined_terms

JWT_ONLY = {"iss", "sub", "iat", "nbf", "exp"}  # registered claims beside the credential


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def _issued(factory, db, **user) -> Credential:
    seeded = await factory.passed_session([await factory.candidate(**user)], score=83.333)
    await effects.current().issue(db, seeded.result_ids, actor=None)
    await db.commit()
    cred = (await db.exec(select(Credential).order_by(Credential.id.desc()))).first()
    await db.commit()  # let go of SQLite's write lock before the app is asked
    return cred


async def test_credential_validates_against_the_ob3_schema(factory, db) -> None:
    cred = await _issued(factory, db, nip="198703122010012003")
    payload = claims_of(cred.vc_jwt)
    assert schema_errors(payload, "ob_v3p0_achievementcredential_schema.json") == []
    # The schema is not a rubber stamp: the old shape (credentialStatus an array) fails it.
    old = dict(payload, credentialStatus=[payload["credentialStatus"], payload["credentialStatus"]])
    assert any(
        "credentialStatus" in e for e in schema_errors(old, "ob_v3p0_achievementcredential_schema.json")
    )


async def test_no_undefined_terms_in_the_credential_nor_the_status_list(factory, db, client) -> None:
    cred = await _issued(factory, db, nip="198703122010012003")
    payload = claims_of(cred.vc_jwt)
    assert undefined_terms(payload) == []  # the JWT payload as a JSON-LD document, claims and all
    # The search finds what it should: an extra member, or the old jti.
    assert undefined_terms(dict(payload, jti=payload["id"])) == ["urn:UNDEFINEDTERM#jti"]
    entry = payload["credentialStatus"]
    r = await client.get(entry["statusListCredential"].removeprefix("https://apkd.test"))
    assert r.status_code == 200
    status_list = claims_of(r.text)
    assert undefined_terms(status_list) == []
    with_profile = dict(status_list, issuer=dict(status_list["issuer"], type=["Profile"]))
    assert undefined_terms(with_profile) == ["urn:UNDEFINEDTERM#Profile"]


async def test_subject_id_is_stable_per_holder_and_is_the_jwt_sub(factory, db) -> None:
    user = await factory.candidate(nip="198703122010012003")
    other = await factory.candidate(nip="198703122010012004")
    first = await factory.passed_session([user, other])
    await effects.current().issue(db, first.result_ids, actor=None)
    await db.commit()
    second = await factory.passed_session([user])
    await effects.current().issue(db, second.result_ids, actor=None)
    await db.commit()
    creds = (await db.exec(select(Credential).order_by(Credential.id))).all()
    subs = {c.number: (c.user_id, claims_of(c.vc_jwt)) for c in creds}
    by_user: dict[int, set[str]] = {}
    for uid, claims in subs.values():
        assert claims["sub"] == claims["credentialSubject"]["id"]
        assert claims["sub"].startswith("urn:uuid:")
        by_user.setdefault(uid, set()).add(claims["sub"])
    assert len(by_user[user.id]) == 1 and len(by_user[other.id]) == 1
    assert by_user[user.id] != by_user[other.id]
    assert len(creds) == 3


async def test_issuer_is_resolvable_and_kid_dereferences_to_the_jwk(factory, db, client) -> None:
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import KeySet, OKPKey

    from apkd.signing import keys as keylib

    cred = await _issued(factory, db)
    header = json.loads(base64.urlsafe_b64decode(cred.vc_jwt.split(".")[0] + "=="))
    payload = claims_of(cred.vc_jwt)
    issuer_id = payload["issuer"]["id"]
    # issuer.id answers with the OB 3.0 Profile.
    r = await client.get(issuer_id.removeprefix("https://apkd.test"))
    assert r.status_code == 200
    profile = r.json()
    assert schema_errors(profile, "ob_v3p0_profile_schema.json") == []
    assert profile["id"] == issuer_id and profile["type"] == ["Profile"] and profile["name"]
    assert profile["url"].startswith("https://apkd.test")
    assert undefined_terms(profile) == []
    # kid: an absolute URL under the issuer, last segment the RFC 9278 thumbprint URI.
    kid = header["kid"]
    prefix = issuer_id + "/keys/urn:ietf:params:oauth:jwk-thumbprint:sha-256:"
    assert kid.startswith(prefix) and kid.removeprefix(prefix) == cred.kid
    r = await client.get(kid.removeprefix("https://apkd.test"))
    assert r.status_code == 200
    jwk = r.json()
    assert keylib.thumbprint(jwk) == cred.kid and "d" not in jwk and jwk["kid"] == kid
    # ... and that JWK alone verifies the vc+jwt with an independent JOSE library.
    token = jose_jwt.decode(cred.vc_jwt, OKPKey.import_key(jwk), algorithms=["EdDSA"])
    assert token.claims["sub"] == payload["credentialSubject"]["id"]
    r = await client.get(prefix.removeprefix("https://apkd.test") + "A" * 43)
    assert r.status_code == 404
    # /.well-known/jwt-vc-issuer names the issuer and its keys, findable by the header's kid.
    meta = (await client.get("/.well-known/jwt-vc-issuer")).json()
    assert meta["issuer"] == payload["iss"] == issuer_id
    jose_jwt.decode(cred.vc_jwt, KeySet.import_key_set(meta["jwks"]), algorithms=["EdDSA"])


async def test_alg_ed25519_is_accepted_as_well_as_eddsa(factory, db, client) -> None:
    """RFC 9864's fully specified "Ed25519": the same signature, another header."""
    from apkd.signing import keys as keylib
    from apkd.signing.jws import verify_compact

    key = keylib.generate_key()
    kid = keylib.thumbprint(keylib.public_jwk(key))
    body = base64.urlsafe_b64encode(b'{"a":1}').rstrip(b"=").decode()
    for alg in ("EdDSA", "Ed25519"):
        head = (
            base64.urlsafe_b64encode(json.dumps({"alg": alg, "kid": kid, "typ": "vc+jwt"}).encode())
            .rstrip(b"=")
            .decode()
        )
        sig = base64.urlsafe_b64encode(key.sign(f"{head}.{body}".encode())).rstrip(b"=").decode()
        assert verify_compact(f"{head}.{body}.{sig}", {kid: key.public_key()}, "vc+jwt").payload == {"a": 1}
