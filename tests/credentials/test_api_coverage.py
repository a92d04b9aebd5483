"""Who is certified where (issue 14): the coverage view, the renewal list and the export of
valid credentials, for the admin, the auditor and a viewer scoped to one kabupaten/kota."""

from __future__ import annotations

import csv
import io

import pytest

from apkd.grading import effects

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

ALOR = "Badan Keuangan dan Aset Daerah Kabupaten Alor"
KUPANG = "BPKAD Kota Kupang"


@pytest.fixture
async def world(factory, db, make_user, login):
    await make_user("admin", username="admin1")
    await make_user("auditor", username="auditor1")
    await make_user("candidate", username="peserta-lain")
    await make_user("viewer", username="viewer-alor", region_code="5305")
    await make_user("viewer", username="viewer-kupang", region_code="5371")
    a1 = await factory.candidate(username="alor1", full_name="Yohanes Mau")
    a2 = await factory.candidate(username="alor2", full_name="Sarah Lapenangga")
    k1 = await factory.candidate(
        username="kupang1", full_name="Maria Ndun", region_code="5371", instansi=KUPANG
    )
    failed = await factory.candidate(username="alor3", full_name="Daniel Laukoli")
    seeded = await factory.passed_session([a1, a2, k1])
    await effects.current().issue(db, seeded.result_ids, actor="admin")
    await db.commit()
    await factory.passed_session([failed], score=40.0, passed=False)
    return {
        name: await login(name)
        for name in ("admin1", "auditor1", "viewer-alor", "viewer-kupang", "peserta-lain")
    }


def rows_by_key(body):
    return {(r["key"], r["scheme_code"]): r for r in body["rows"]}


async def test_coverage_per_province_regency_and_instansi(client, world) -> None:
    admin = world["admin1"]
    r = await client.get("/api/v1/coverage", headers=admin)
    assert r.status_code == 200, r.text
    (prov,) = r.json()["rows"]
    assert (prov["key"], prov["certified"], prov["not_passed"], prov["revoked"]) == ("53", 3, 1, 0)
    assert prov["expiring"] == 0  # valid for 36 months

    r = await client.get("/api/v1/coverage?level=regency&province=53", headers=admin)
    rows = rows_by_key(r.json())
    assert rows[("5305", "BPG")]["certified"] == 2
    assert rows[("5305", "BPG")]["not_passed"] == 1
    assert rows[("5371", "BPG")]["certified"] == 1

    # a revocation moves the officer from certified to revoked
    listing = await client.get("/api/v1/exports/credentials?regency=5371", headers=admin)
    number = listing.json()["items"][0]["number"]
    r = await client.post(
        f"/api/v1/credentials/{number}/revoke", json={"reason": "data salah"}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await client.get("/api/v1/coverage?level=instansi&regency=5371", headers=admin)
    (row,) = r.json()["rows"]
    assert (row["key"], row["certified"], row["revoked"]) == (KUPANG, 0, 1)

    # the auditor reads it too; expiring counts what ends within the horizon
    r = await client.get("/api/v1/coverage?months=60", headers=world["auditor1"])
    assert r.status_code == 200
    assert r.json()["rows"][0]["expiring"] == 2


async def test_viewer_sees_its_own_regency_only(client, world) -> None:
    viewer = world["viewer-alor"]
    r = await client.get("/api/v1/coverage?level=regency", headers=viewer)
    assert r.status_code == 200, r.text
    assert [row["key"] for row in r.json()["rows"]] == ["5305"]
    assert r.json()["scope"] == "5305"
    for url in (
        "/api/v1/coverage?level=instansi&regency=5371",
        "/api/v1/coverage?province=52",
        "/api/v1/exports/credentials?regency=5371",
        "/api/v1/renewals.csv?regency=5371",
    ):
        r = await client.get(url, headers=viewer)
        assert r.status_code == 403, url
        assert r.json()["code"] == "outside_scope"

    r = await client.get("/api/v1/exports/credentials", headers=viewer)
    names = sorted(i["full_name"] for i in r.json()["items"])
    assert names == ["Sarah Lapenangga", "Yohanes Mau"]
    assert all(len(i["nip"]) == 18 for i in r.json()["items"])

    r = await client.get("/api/v1/exports/credentials", headers=world["viewer-kupang"])
    assert [i["full_name"] for i in r.json()["items"]] == ["Maria Ndun"]

    # a viewer reads nothing else of the console
    r = await client.get("/api/v1/credentials", headers=viewer)
    assert r.status_code == 403


async def test_export_pages_and_csv(client, world) -> None:
    admin = world["admin1"]
    r = await client.get("/api/v1/exports/credentials?per_page=2", headers=admin)
    body = r.json()
    assert (body["total"], len(body["items"]), body["next_page"]) == (3, 2, 2)
    r2 = await client.get("/api/v1/exports/credentials?per_page=2&page=2", headers=admin)
    assert len(r2.json()["items"]) == 1 and r2.json()["next_page"] is None
    numbers = {i["number"] for i in body["items"]} | {i["number"] for i in r2.json()["items"]}
    assert len(numbers) == 3

    r = await client.get(f"/api/v1/exports/credentials.csv?instansi={ALOR}", headers=world["auditor1"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert sorted(t["nama"] for t in table) == ["Sarah Lapenangga", "Yohanes Mau"]
    assert {t["instansi"] for t in table} == {ALOR}

    assert (await client.get("/api/v1/renewals?months=6", headers=admin)).json()["total"] == 0
    soon = await client.get("/api/v1/renewals.csv?months=60", headers=admin)
    assert len(list(csv.DictReader(io.StringIO(soon.content.decode("utf-8-sig"))))) == 3


async def test_refused_to_others_and_bad_input(client, world) -> None:
    r = await client.get("/api/v1/coverage", headers=world["peserta-lain"])
    assert r.status_code == 403
    assert (await client.get("/api/v1/coverage")).status_code == 401
    for url in (
        "/api/v1/coverage?level=planet",
        "/api/v1/coverage?regency=53x5",
        "/api/v1/coverage?months=0",
    ):
        r = await client.get(url, headers=world["admin1"])
        assert r.status_code in (400, 422), url


async def test_viewer_needs_a_region(client, world) -> None:
    r = await client.post(
        "/api/v1/users",
        json={"username": "viewer-x", "password": "rahasia-123", "role": "viewer", "full_name": "Peninjau"},
        headers=world["admin1"],
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_region_code"


async def test_session_certificates_zip(client, world) -> None:
    import zipfile

    admin = world["admin1"]
    listing = (await client.get("/api/v1/exports/credentials?per_page=10", headers=admin)).json()["items"]
    revoked = listing[0]["number"]
    await client.post(f"/api/v1/credentials/{revoked}/revoke", json={"reason": "salah cetak"}, headers=admin)
    creds = (await client.get("/api/v1/credentials", headers=admin)).json()
    detail = await client.get(f"/api/v1/credentials/{creds[0]['number']}", headers=admin)
    attempt = await client.get(f"/api/v1/attempts/{detail.json()['attempt_id']}", headers=admin)
    session_id = attempt.json()["session_id"]

    r = await client.get(f"/api/v1/sessions/{session_id}/certificates.zip", headers=admin)
    assert r.status_code == 200, r.text
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    pdfs = sorted(n for n in archive.namelist() if n.endswith(".pdf"))
    assert len(pdfs) == 2 and f"sertifikat-{revoked}.pdf" not in pdfs
    assert all(archive.read(n).startswith(b"%PDF") for n in pdfs)
    assert "revoked" in archive.read("daftar.csv").decode("utf-8-sig")
    assert (
        await client.get(f"/api/v1/sessions/{session_id}/certificates.zip", headers=world["auditor1"])
    ).status_code == 403
    assert (await client.get("/api/v1/sessions/999999/certificates.zip", headers=admin)).status_code == 404


async def test_officer_search_by_nip_or_name_with_history(client, world) -> None:
    admin = world["admin1"]
    r = await client.get("/api/v1/officers?q=laukoli", headers=admin)
    assert r.status_code == 200, r.text
    (daniel,) = r.json()
    assert daniel["full_name"] == "Daniel Laukoli" and daniel["credentials"] == []
    (sat,) = daniel["attempts"]
    assert (sat["score"], sat["outcome"], sat["published"]) == (40.0, "belum_kompeten", True)

    r = await client.get("/api/v1/officers?q=Mau", headers=admin)
    (yohanes,) = [o for o in r.json() if o["full_name"] == "Yohanes Mau"]
    assert yohanes["credentials"][0]["status"] == "valid"
    by_nip = await client.get(f"/api/v1/officers?q={yohanes['nip'][:12]}", headers=admin)
    assert "Yohanes Mau" in [o["full_name"] for o in by_nip.json()]

    # the Kupang viewer finds no Alor officer
    r = await client.get("/api/v1/officers?q=Mau", headers=world["viewer-kupang"])
    assert r.status_code == 200 and r.json() == []
    r = await client.get("/api/v1/officers?q=ab", headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "query_too_short"


async def test_session_certificates_as_one_merged_pdf(client, world) -> None:
    from pypdf import PdfReader

    admin = world["admin1"]
    listing = (await client.get("/api/v1/exports/credentials?per_page=10", headers=admin)).json()["items"]
    revoked = listing[0]["number"]
    await client.post(f"/api/v1/credentials/{revoked}/revoke", json={"reason": "salah cetak"}, headers=admin)
    creds = (await client.get("/api/v1/credentials", headers=admin)).json()
    detail = await client.get(f"/api/v1/credentials/{creds[0]['number']}", headers=admin)
    attempt = await client.get(f"/api/v1/attempts/{detail.json()['attempt_id']}", headers=admin)
    session_id = attempt.json()["session_id"]
    one = await client.get(f"/api/v1/credentials/{creds[0]['number']}/certificate.pdf", headers=admin)
    pages_each = len(PdfReader(io.BytesIO(one.content)).pages)

    r = await client.get(f"/api/v1/sessions/{session_id}/certificates.pdf", headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.headers["x-certificate-count"] == "2"
    merged = PdfReader(io.BytesIO(r.content))
    assert len(merged.pages) == 2 * pages_each
    text = "\n".join(page.extract_text() for page in merged.pages)
    kept = sorted(c["number"] for c in creds if c["number"] != revoked)
    assert all(n in text for n in kept) and revoked not in text
    assert len(merged.outline) == 2
    assert (
        await client.get(f"/api/v1/sessions/{session_id}/certificates.pdf", headers=world["auditor1"])
    ).status_code == 403
    r = await client.get("/api/v1/sessions/999999/certificates.pdf", headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "no_certificates"


async def test_key_status_and_rotation_with_a_reason(client, world, db) -> None:
    from apkd.audit import AuditEvent

    admin = world["admin1"]
    r = await client.get("/api/v1/keys", headers=world["auditor1"])
    assert r.status_code == 200, r.text
    before = [k for k in r.json() if k["purpose"] == "credential"]
    assert [k["status"] for k in before] == ["active"]
    assert before[0]["thumbprint_uri"] == "urn:ietf:params:oauth:jwk-thumbprint:sha-256:" + before[0]["kid"]
    assert "private_key_enc" not in before[0]
    r = await client.post("/api/v1/keys/rotate", json={"reason": "x"}, headers=world["auditor1"])
    assert r.status_code == 403
    r = await client.post("/api/v1/keys/rotate", json={"reason": "   "}, headers=admin)
    assert r.status_code == 422
    r = await client.post("/api/v1/keys/rotate", json={"reason": "Rotasi tahunan"}, headers=admin)
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["status"] == "active" and new["kid"] != before[0]["kid"]
    keys = [
        k for k in (await client.get("/api/v1/keys", headers=admin)).json() if k["purpose"] == "credential"
    ]
    assert [(k["kid"], k["status"]) for k in keys] == [(new["kid"], "active"), (before[0]["kid"], "retired")]
    assert keys[1]["retired_at"]
    # the retired key stays published: what it signed still verifies
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert {before[0]["kid"], new["kid"]} <= {k["kid"] for k in jwks["keys"]}
    from sqlmodel import select

    event = (await db.exec(select(AuditEvent).where(AuditEvent.action == "keys.rotated"))).all()[-1]
    assert "Rotasi tahunan" in event.details
