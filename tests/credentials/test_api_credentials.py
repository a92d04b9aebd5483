"""The credentials API: holder and admin views, QR images, the PDF, status changes, the JWKS
and the status lists, as a client sees them."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess

import pytest
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pypdf import PdfReader

from apkd.credentials.qrdecode import decode_qr_image
from apkd.credentials.statuslist import Bitstring
from apkd.grading import effects
from apkd.signing.jws import JWSError, verify_compact
from apkd.signing.keys import keys_from_jwks

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    seg = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))


async def issue_for(factory, db, users, **kw):
    seeded = await factory.passed_session(users, **kw)
    await effects.current().issue(db, seeded.result_ids, actor="admin")
    await db.commit()
    return seeded


@pytest.fixture
async def world(factory, db, make_user, login):
    await make_user("admin", username="admin1")
    holder = await factory.candidate(username="bendahara1", full_name="Yohanes Mau")
    other = await factory.candidate(username="bendahara2", full_name="Sarah Lapenangga")
    seeded = await issue_for(factory, db, [holder, other])
    return {
        "admin": await login("admin1"),
        "holder": await login("bendahara1"),
        "other": await login("bendahara2"),
        "session_id": seeded.session_id,
    }


async def my_number(client, headers) -> str:
    r = await client.get("/api/v1/me/credentials", headers=headers)
    assert r.status_code == 200, r.text
    (only,) = r.json()
    return only["number"]


async def test_holder_sees_own_credential_and_not_anothers(client, world) -> None:
    number = await my_number(client, world["holder"])
    r = await client.get(f"/api/v1/credentials/{number}", headers=world["holder"])
    assert r.status_code == 200, r.text
    body = r.json()
    for field in (
        "number",
        "status",
        "holder",
        "scheme",
        "valid_from",
        "valid_until",
        "vc_jwt",
        "qr_text",
        "verify_url",
    ):
        assert field in body
    assert body["status"] == "valid" and body["holder"]["full_name"] == "Yohanes Mau"
    assert body["scheme"]["code"] == "BPG" and body["scheme"]["title"] == "Bendahara Pengeluaran"
    assert body["verify_url"] == f"https://apkd.test/v/{number}"
    assert "+00:00" in body["valid_from"]
    # Another candidate may not read it; an admin may.
    r = await client.get(f"/api/v1/credentials/{number}", headers=world["other"])
    assert r.status_code == 403 and r.json()["code"] == "not_your_credential"
    assert (await client.get(f"/api/v1/credentials/{number}", headers=world["admin"])).status_code == 200
    # Lower case and a typographic dash are the same number.
    r = await client.get(f"/api/v1/credentials/{number.lower()}", headers=world["holder"])
    assert r.status_code == 200 and r.json()["number"] == number


async def test_admin_lists_credentials_of_a_session(client, world) -> None:
    r = await client.get(f"/api/v1/credentials?session_id={world['session_id']}", headers=world["admin"])
    assert r.status_code == 200
    assert sorted(c["holder"]["full_name"] for c in r.json()) == ["Sarah Lapenangga", "Yohanes Mau"]
    r = await client.get(f"/api/v1/credentials?session_id={world['session_id'] + 99}", headers=world["admin"])
    assert r.status_code == 200 and r.json() == []
    assert (await client.get("/api/v1/credentials", headers=world["holder"])).status_code == 403


async def test_mistyped_number_is_refused_before_lookup(client, world) -> None:
    number = await my_number(client, world["holder"])
    wrong_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    r = await client.get(f"/api/v1/credentials/{wrong_check}", headers=world["holder"])
    assert r.status_code == 400 and r.json()["code"] == "bad_check_character"
    r = await client.get("/api/v1/credentials/bukan-nomor", headers=world["holder"])
    assert r.status_code == 400 and r.json()["code"] == "invalid_credential_number"
    # Swapping two digits of the serial is caught by the check character too.
    parts = number.split("-")
    serial = parts[4]
    swapped = serial[:-2] + serial[-1] + serial[-2]
    if swapped != serial:
        typo = "-".join([*parts[:4], swapped, parts[5]])
        r = await client.get(f"/api/v1/credentials/{typo}", headers=world["admin"])
        assert r.status_code in (400, 404)


async def test_vc_jwt_verifies_with_joserfc_using_only_the_published_jwks(client, world) -> None:
    number = await my_number(client, world["holder"])
    vc_jwt = (await client.get(f"/api/v1/credentials/{number}", headers=world["holder"])).json()["vc_jwt"]
    r = await client.get("/.well-known/jwks.json")
    assert r.status_code == 200 and "ETag" in r.headers and "max-age" in r.headers["Cache-Control"]
    jwks = r.json()
    assert all("d" not in k for k in jwks["keys"])
    key_set = KeySet.import_key_set(jwks)  # the document as published, nothing else
    token = jose_jwt.decode(vc_jwt, key_set, algorithms=["EdDSA"])  # kid URL is in the set too
    assert token.header["typ"] == "vc+jwt" and token.header["alg"] == "EdDSA"
    assert token.claims["iss"] == "https://apkd.test/issuer"
    assert token.claims["credentialSubject"]["achievement"]["humanCode"] == "BPG"
    # Conditional GET of the JWKS.
    r2 = await client.get("/.well-known/jwks.json", headers={"If-None-Match": r.headers["ETag"]})
    assert r2.status_code == 304


async def test_forged_tokens_are_refused(client, world) -> None:
    number = await my_number(client, world["holder"])
    vc_jwt = (await client.get(f"/api/v1/credentials/{number}", headers=world["holder"])).json()["vc_jwt"]
    jwks = (await client.get("/.well-known/jwks.json")).json()
    keys = keys_from_jwks(jwks)
    key_set = KeySet.import_key_set(jwks)
    header_seg, payload_seg, sig_seg = vc_jwt.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_seg + "=="))

    claims = claims_of(vc_jwt)
    claims["credentialSubject"]["result"][0]["value"] = "100"
    altered = f"{header_seg}.{b64(json.dumps(claims).encode())}.{sig_seg}"

    none_header = b64(json.dumps({"alg": "none", "kid": header["kid"], "typ": "vc+jwt"}).encode())
    alg_none = f"{none_header}.{payload_seg}."

    import hashlib
    import hmac

    hs_header = b64(json.dumps({"alg": "HS256", "kid": header["kid"], "typ": "vc+jwt"}).encode())
    x = jwks["keys"][0]["x"]
    for secret in (x.encode(), base64.urlsafe_b64decode(x + "=")):
        mac = hmac.new(secret, f"{hs_header}.{payload_seg}".encode(), hashlib.sha256).digest()
        hs256 = f"{hs_header}.{payload_seg}.{b64(mac)}"
        for forged in (altered, alg_none, hs256):
            with pytest.raises(JWSError):
                verify_compact(forged, keys, "vc+jwt")
            with pytest.raises((JoseError, ValueError)):
                jose_jwt.decode(forged, key_set, algorithms=["EdDSA"])
    # and the registry endpoint would see the same: the genuine one still verifies
    assert header["kid"].endswith(":" + verify_compact(vc_jwt, keys, "vc+jwt").kid)  # the thumbprint


async def test_qr_png_decodes_to_exactly_the_qr_text(client, world) -> None:
    number = await my_number(client, world["holder"])
    qr_text = (await client.get(f"/api/v1/credentials/{number}", headers=world["holder"])).json()["qr_text"]
    r = await client.get(f"/api/v1/credentials/{number}/qr.png", headers=world["holder"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert "ETag" in r.headers and "max-age" in r.headers["Cache-Control"]
    png = r.content
    if shutil.which("zbarimg"):
        out = subprocess.run(
            ["zbarimg", "--raw", "-q", "-Sbinary", "-"], input=png, capture_output=True, check=True
        ).stdout
        assert out.rstrip(b"\n").decode() == qr_text
    assert decode_qr_image(png) == qr_text
    # Cached by ETag; SVG too; nobody else's.
    again = await client.get(
        f"/api/v1/credentials/{number}/qr.png",
        headers={**world["holder"], "If-None-Match": r.headers["ETag"]},
    )
    assert again.status_code == 304
    svg = await client.get(f"/api/v1/credentials/{number}/qr.svg", headers=world["admin"])
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.content.lstrip().startswith(b"<?xml") and b"<svg" in svg.content
    assert (
        await client.get(f"/api/v1/credentials/{number}/qr.png", headers=world["other"])
    ).status_code == 403


async def test_certificate_pdf_renders_holder_number_and_units(client, world, settings) -> None:
    number = await my_number(client, world["holder"])
    r = await client.get(f"/api/v1/credentials/{number}/certificate.pdf", headers=world["holder"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(r.content))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Yohanes Mau" in text
    assert number in text
    assert "Regulasi dan Kelembagaan Keuangan Daerah" in text
    assert settings.issuer_place in text
    assert (
        await client.get(f"/api/v1/credentials/{number}/certificate.pdf", headers=world["other"])
    ).status_code == 403


async def fetch_status_bit(client, list_url: str, index: int, keys) -> tuple[bool, dict]:
    path = list_url.removeprefix("https://apkd.test")
    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vc+jwt")
    verified = verify_compact(r.text, keys, "vc+jwt")
    subject = verified.payload["credentialSubject"]
    max_age = int(r.headers["Cache-Control"].split("max-age=")[1].split(",")[0])
    assert max_age * 1000 == subject["ttl"] and "ETag" in r.headers
    return Bitstring.decode(subject["encodedList"]).get(index), verified.payload


async def test_revoke_suspend_reinstate_flip_status_list_bits(client, world) -> None:
    number = await my_number(client, world["holder"])
    body = (await client.get(f"/api/v1/credentials/{number}", headers=world["admin"])).json()
    rev = claims_of(body["vc_jwt"])["credentialStatus"]  # one entry (OB 3.0): revocation
    assert rev["statusPurpose"] == "revocation"
    keys = keys_from_jwks((await client.get("/.well-known/jwks.json")).json())
    from apkd.credentials.qrtoken import verify_qr_text
    from apkd.credentials.statuslist import status_list_url

    qr = verify_qr_text(body["qr_text"], keys)  # the suspension entry is in the QR token
    assert qr.suspension is not None
    sus = {"statusListCredential": status_list_url("https://apkd.test", qr.suspension.list_id)}
    rev_i, sus_i = int(rev["statusListIndex"]), qr.suspension.index

    bit, doc = await fetch_status_bit(client, rev["statusListCredential"], rev_i, keys)
    assert bit is False and doc["credentialSubject"]["statusPurpose"] == "revocation"
    assert doc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert (await fetch_status_bit(client, sus["statusListCredential"], sus_i, keys))[0] is False

    base = f"/api/v1/credentials/{number}"
    r = await client.post(
        f"{base}/suspend", json={"reason": "Sedang diperiksa inspektorat"}, headers=world["admin"]
    )
    assert r.status_code == 200 and r.json() == {"number": number, "status": "suspended"}
    assert (await fetch_status_bit(client, sus["statusListCredential"], sus_i, keys))[0] is True
    r = await client.post(f"{base}/suspend", json={"reason": "lagi"}, headers=world["admin"])
    assert r.status_code == 409 and r.json()["code"] == "already_suspended"

    r = await client.post(f"{base}/reinstate", json={"reason": "Pemeriksaan selesai"}, headers=world["admin"])
    assert r.status_code == 200 and r.json()["status"] == "valid"
    assert (await fetch_status_bit(client, sus["statusListCredential"], sus_i, keys))[0] is False
    r = await client.post(f"{base}/reinstate", json={"reason": "lagi"}, headers=world["admin"])
    assert r.status_code == 409 and r.json()["code"] == "not_suspended"

    r = await client.post(f"{base}/revoke", json={"reason": "  "}, headers=world["admin"])
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await client.post(f"{base}/revoke", json={"reason": "Terbukti curang"}, headers=world["holder"])
    assert r.status_code == 403
    r = await client.post(f"{base}/revoke", json={"reason": "Terbukti curang"}, headers=world["admin"])
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert (await fetch_status_bit(client, rev["statusListCredential"], rev_i, keys))[0] is True
    for action in ("revoke", "suspend", "reinstate"):
        r = await client.post(f"{base}/{action}", json={"reason": "x"}, headers=world["admin"])
        assert r.status_code == 409 and r.json()["code"] == "credential_revoked"
    detail = (await client.get(base, headers=world["holder"])).json()
    assert detail["status"] == "revoked" and detail["revocation_reason"] == "Terbukti curang"


async def test_status_changes_are_in_the_transparency_log_and_audit(client, world, db) -> None:
    from sqlmodel import select

    from apkd.audit import AuditEvent
    from apkd.translog.service import find_entries

    number = await my_number(client, world["holder"])
    await client.post(
        f"/api/v1/credentials/{number}/suspend", json={"reason": "Periksa"}, headers=world["admin"]
    )
    await client.post(
        f"/api/v1/credentials/{number}/reinstate", json={"reason": "Selesai"}, headers=world["admin"]
    )
    await client.post(
        f"/api/v1/credentials/{number}/revoke", json={"reason": "Curang"}, headers=world["admin"]
    )
    types = [event["type"] for _, event in await find_entries(db, number)]
    assert types == ["issued", "suspended", "reinstated", "revoked"]
    actions = [
        a
        for a in (await db.exec(select(AuditEvent.action).order_by(AuditEvent.seq))).all()
        if a.startswith("credential")
    ]
    assert actions == [
        "credentials.issued",
        "credential.suspended",
        "credential.reinstated",
        "credential.revoked",
    ]


async def test_unknown_status_list_and_credential_are_404(client, world) -> None:
    assert (await client.get("/api/v1/status-lists/999999")).status_code == 404
    from apkd.credentials.number import format_number

    unknown = format_number("BPG", "5305", 2026, 999_999)
    r = await client.get(f"/api/v1/credentials/{unknown}", headers=world["admin"])
    assert r.status_code == 404 and r.json()["code"] == "credential_not_found"


async def test_expiry_follows_valid_until(client, factory, db, make_user, login, settings) -> None:
    from datetime import timedelta

    from apkd.credentials.issuing import issue_for_results
    from apkd.db import utcnow

    await make_user("admin", username="admin1")
    holder = await factory.candidate(username="lama1")
    seeded = await factory.passed_session([holder])
    batch = await issue_for_results(
        db, seeded.result_ids, settings=settings, actor=None, now=utcnow() - timedelta(days=4 * 366)
    )
    await db.commit()
    (number,) = batch.numbers
    body = (await client.get(f"/api/v1/credentials/{number}", headers=await login("admin1"))).json()
    assert body["status"] == "expired"
    assert claims_of(body["vc_jwt"])["exp"] < claims_of(body["vc_jwt"])["iat"] + 37 * 31 * 86400


async def test_qr_text_fits_version_16_and_status_list_is_cacheable(client, world) -> None:
    from apkd.credentials.qr import qr_version

    number = await my_number(client, world["holder"])
    body = (await client.get(f"/api/v1/credentials/{number}", headers=world["holder"])).json()
    assert len(body["qr_text"]) <= 500 and qr_version(body["qr_text"]) <= 16
    url = claims_of(body["vc_jwt"])["credentialStatus"]["statusListCredential"].removeprefix(
        "https://apkd.test"
    )
    first = await client.get(url)
    again = await client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert first.headers["Cache-Control"].startswith("public")


async def test_credential_json_verifies_by_its_data_integrity_proof(client, world) -> None:
    """GET .../credential.json: the same credential with an eddsa-rdfc-2022 proof, verified
    with only what the issuer publishes (its controller document's Multikey)."""
    from apkd.signing import dataintegrity as di
    from standards_files import schema_errors, undefined_terms

    mine = (await client.get("/api/v1/me/credentials", headers=world["holder"])).json()
    number = mine[0]["number"]
    detail = (await client.get(f"/api/v1/credentials/{number}", headers=world["holder"])).json()
    r = await client.get(f"/api/v1/credentials/{number}/credential.json", headers=world["holder"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vc+ld+json")
    doc = r.json()
    (proof,) = doc["proof"]  # a proof set of one, as the OB 3.0 schema wants an array
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    jwt_payload = claims_of(detail["vc_jwt"])
    jwt_only = {"iss", "sub", "iat", "nbf", "exp"}
    assert {k: v for k, v in doc.items() if k != "proof"} == {
        k: v for k, v in jwt_payload.items() if k not in jwt_only
    }
    assert schema_errors(doc, "ob_v3p0_achievementcredential_schema.json") == []
    assert undefined_terms(doc) == []

    controller = (await client.get("/issuer/controller")).json()
    methods = {m["id"]: m for m in controller["verificationMethod"] if m["type"] == "Multikey"}
    assert proof["verificationMethod"] in controller["assertionMethod"]

    def resolve(method: str):
        m = methods.get(method)
        return di.public_key_from_multikey(m["publicKeyMultibase"]) if m else None

    from standards_files import document_loader

    di.verify_proof(doc, resolve, loader=document_loader)  # the test's own loader, same files
    tampered = json.loads(json.dumps(doc))
    tampered["credentialSubject"]["result"][0]["value"] = "100"
    import pytest

    with pytest.raises(di.DataIntegrityError):
        di.verify_proof(tampered, resolve, loader=document_loader)
    r = await client.get(f"/api/v1/credentials/{number}/credential.json")
    assert r.status_code == 401
    # The registry verifies it too, by its proof and against the record.
    r = await client.post("/api/v1/registry/verify", json={"credential": doc})
    out = r.json()
    assert r.status_code == 200 and out["valid"] is True, out["checks"]
    assert out["checks"][0]["name"] == "data_integrity" and out["checks"][0]["ok"]
    r = await client.post("/api/v1/registry/verify", json={"credential": tampered})
    assert r.status_code == 200 and r.json()["valid"] is False
    assert r.json()["checks"][0]["name"] == "data_integrity" and not r.json()["checks"][0]["ok"]
    r = await client.post("/api/v1/registry/verify", json={"credential": "nonsense"})
    assert r.status_code == 200 and r.json()["valid"] is False
