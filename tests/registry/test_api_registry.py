"""The public registry API and page: statuses, no personal data beyond the minimum, attacks
on POST /verify answered with valid=false (never a 5xx), ETag caching."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from apkd.credentials.number import format_number
from apkd.timefmt import format_date_id

PUBLIC_FIELDS = {
    "number",
    "status",
    "holder_name",
    "nip_masked",
    "instansi",
    "scheme",
    "valid_from",
    "valid_until",
    "issuer",
}


def assert_no_pii(body: str, nip: str) -> None:
    assert nip not in body
    assert nip[:8] not in body  # the birth date part of the NIP
    assert "86.5" not in body  # the score


async def test_valid_credential_record_page_and_verify(client, issue) -> None:
    cred, user = await issue()
    r = await client.get(f"/api/v1/registry/{cred.number}")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == PUBLIC_FIELDS
    assert body["status"] == "valid"
    assert body["holder_name"] == "Siti Aminah Lamuri"
    assert body["nip_masked"] == user.nip[:4] + "*" * 11 + user.nip[-3:]
    assert body["scheme"] == {"code": "BPG", "title": "Bendahara Pengeluaran"}
    assert body["issuer"]["id"] == "https://apkd.test/issuer"
    assert datetime.fromisoformat(body["valid_until"]) > datetime.now(UTC)
    assert_no_pii(r.text, user.nip)

    page = await client.get(f"/v/{cred.number}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "BERLAKU" in page.text and "Siti Aminah Lamuri" in page.text
    assert "Tanda tangan digital sah" in page.text
    wita = ZoneInfo("Asia/Makassar")
    validity = f"{format_date_id(cred.valid_from.astimezone(wita))} s.d. {format_date_id(cred.valid_until.astimezone(wita))}"
    assert validity in page.text  # dates in Indonesian, e.g. "28 November 2026 s.d. 28 November 2029"
    assert_no_pii(page.text, user.nip)
    as_json = await client.get(f"/v/{cred.number}", headers={"Accept": "application/json"})
    data = as_json.json()
    assert set(data) >= PUBLIC_FIELDS | {"valid", "checks"}
    assert data["valid"] is True and data["status"] == "valid" and data["holder_name"] == body["holder_name"]
    assert_no_pii(as_json.text, user.nip)

    for token in (cred.qr_text, cred.vc_jwt, cred.qr_text.split("?t=")[1]):
        r = await client.post("/api/v1/registry/verify", json={"token": token})
        assert r.status_code == 200
        out = r.json()
        assert out["valid"] is True, out["checks"]
        assert out["status"] == "valid"
        assert {c["name"] for c in out["checks"]} >= {"signature", "revocation", "registry_record", "in_log"}
        assert all(c["ok"] for c in out["checks"])
        assert out["credential"]["number"] == cred.number
        assert_no_pii(r.text, user.nip)


async def test_number_check_character_and_unknown(client, issue) -> None:
    cred, _ = await issue()
    typo = cred.number[:-1] + ("A" if cred.number[-1] != "A" else "B")
    r = await client.get(f"/api/v1/registry/{typo}")
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid_number"
    r = await client.get("/api/v1/registry/bukan-nomor")
    assert r.status_code == 400 and r.json()["code"] == "invalid_number"
    unknown = format_number("BPG", "5305", 2026, 999_999)
    r = await client.get(f"/api/v1/registry/{unknown}")
    assert r.status_code == 404
    page = await client.get(f"/v/{unknown}")
    assert page.status_code == 404 and "TIDAK TERDAFTAR" in page.text
    page = await client.get(f"/v/{typo}")
    assert page.status_code == 400 and "PERIKSA KEMBALI NOMOR" in page.text
    assert "karakter cek" not in page.text and "Periksa kembali nomor" in page.text
    assert 'name="nomor"' in page.text  # a box to type it again
    # typed in lower case with a typographic dash still works
    r = await client.get(f"/api/v1/registry/{cred.number.lower().replace('-', '–', 1)}")
    assert r.status_code == 200 and r.json()["number"] == cred.number


@pytest.mark.parametrize(
    ("action", "status", "word"),
    [("revoke", "revoked", "DICABUT"), ("suspend", "suspended", "TIDAK BERLAKU SEMENTARA")],
)
async def test_revoked_and_suspended_everywhere(client, issue, change_status, action, status, word) -> None:
    cred, user = await issue()
    await change_status(cred.number, action, "Pelanggaran kode etik berat")
    r = await client.get(f"/api/v1/registry/{cred.number}")
    assert r.json()["status"] == status
    assert "Pelanggaran" not in r.text  # never the private reason
    if status == "revoked":
        assert r.json()["revoked_at"] == datetime.now(UTC).date().isoformat()
    else:
        assert "revoked_at" not in r.json()

    page = await client.get(f"/v/{cred.number}")
    assert word in page.text and "status-valid" not in page.text
    # no green "signature valid" card beside a red verdict; the next step is said
    assert "Tanda tangan digital sah" not in page.text and "Jangan diterima" in page.text
    assert "Pelanggaran" not in page.text
    if status == "revoked":
        assert "Dicabut pada" in page.text
    assert_no_pii(page.text, user.nip)

    as_json = await client.get(f"/v/{cred.number}", headers={"Accept": "application/json"})
    assert as_json.json()["status"] == status and as_json.json()["valid"] is False

    for token in (cred.qr_text, cred.vc_jwt):
        out = (await client.post("/api/v1/registry/verify", json={"token": token})).json()
        assert out["valid"] is False and out["status"] == status
        failed = {c["name"] for c in out["checks"] if not c["ok"]}
        assert failed == {"revocation" if status == "revoked" else "suspension"}


async def test_reinstated_is_valid_again(client, issue, change_status) -> None:
    cred, _ = await issue()
    await change_status(cred.number, "suspend")
    await change_status(cred.number, "reinstate", "Pemeriksaan selesai")
    out = (await client.post("/api/v1/registry/verify", json={"token": cred.qr_text})).json()
    assert out["valid"] is True and out["status"] == "valid"


async def test_expired_everywhere(client, issue) -> None:
    cred, _ = await issue(issued_at=datetime.now(UTC) - timedelta(days=37 * 31))
    assert (await client.get(f"/api/v1/registry/{cred.number}")).json()["status"] == "expired"
    page = await client.get(f"/v/{cred.number}")
    assert "KEDALUWARSA" in page.text
    out = (await client.post("/api/v1/registry/verify", json={"token": cred.qr_text})).json()
    assert out["valid"] is False and out["status"] == "expired"
    assert [c["name"] for c in out["checks"] if not c["ok"]] == ["validity_period"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_forged_altered_and_garbage_tokens(client, issue) -> None:
    cred, _ = await issue()
    h, p, s = cred.vc_jwt.split(".")
    payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    payload["validUntil"] = "2099-01-01T00:00:00Z"
    altered = ".".join([h, _b64(json.dumps(payload).encode()), s])
    header = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
    alg_none = _b64(json.dumps({**header, "alg": "none"}).encode()) + "." + p + "."
    hs256 = _b64(json.dumps({**header, "alg": "HS256"}).encode()) + "." + p + "." + s
    cases = {
        "altered": (altered, "signature"),
        "alg_none": (alg_none, "signature"),
        "hs256": (hs256, "signature"),
        "garbage": ("ini bukan sertifikat", "format"),
        "huge": ("A" * 40_000, "format"),
        "url_without_token": (cred.qr_text.split("?")[0], "format"),
    }
    for name, (token, check) in cases.items():
        r = await client.post("/api/v1/registry/verify", json={"token": token})
        assert r.status_code == 200, name
        out = r.json()
        assert out["valid"] is False, name
        assert check in {c["name"] for c in out["checks"] if not c["ok"]}, name
        assert out["credential"] is None, name
    for body in ({"token": 12345}, {"token": None}, {}, [1, 2]):
        r = await client.post("/api/v1/registry/verify", json=body)
        assert r.status_code == 200 and r.json()["valid"] is False
    r = await client.post(
        "/api/v1/registry/verify", content=b"{bukan json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid_json"


async def test_tampered_record_and_compromised_key_show_not_valid(client, issue, db, settings) -> None:
    cred, _ = await issue()
    await db.execute(text("UPDATE credential SET holder_name = 'Orang Lain' WHERE id = :i"), {"i": cred.id})
    await db.commit()
    page = await client.get(f"/v/{cred.number}")
    assert "TIDAK SAH" in page.text
    out = (await client.post("/api/v1/registry/verify", json={"token": cred.qr_text})).json()
    assert out["valid"] is False and out["status"] == "invalid"
    assert "nama pemegang" in next(c for c in out["checks"] if c["name"] == "registry_record")["detail"]

    from apkd.credentials.issuer_keys import compromise
    from apkd.registry.service import KEYRING

    await compromise(db, settings, cred.kid, "Kunci tersalin ke laptop pribadi", actor="test")
    await db.commit()
    KEYRING.clear()
    out = (await client.post("/api/v1/registry/verify", json={"token": cred.vc_jwt})).json()
    assert out["valid"] is False and out["status"] == "invalid"
    detail = next(c for c in out["checks"] if c["name"] == "key_not_compromised")["detail"]
    assert "Kunci tersalin ke laptop pribadi" in detail


async def test_record_etag_gives_304(client, issue) -> None:
    cred, _ = await issue()
    r = await client.get(f"/api/v1/registry/{cred.number}")
    etag = r.headers["etag"]
    assert r.headers["cache-control"] == "no-cache"
    again = await client.get(f"/api/v1/registry/{cred.number}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = await client.get(f"/api/v1/registry/{cred.number}", headers={"If-None-Match": '"zzz"'})
    assert other.status_code == 200


async def test_record_served_again_from_the_worker_cache_is_the_same(client, issue) -> None:
    """The second scan is answered from the prebuilt record: same bytes, same headers."""
    cred, _ = await issue()
    first = await client.get(f"/api/v1/registry/{cred.number}")
    second = await client.get(f"/api/v1/registry/{cred.number}")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and first.json()["number"] == cred.number
    assert sorted(first.headers.multi_items()) == sorted(second.headers.multi_items())
    assert first.headers["content-type"] == "application/json"
    assert int(first.headers["content-length"]) == len(first.content)


async def test_status_change_in_this_worker_shows_at_once_despite_the_record_cache(
    client, issue, change_status
) -> None:
    cred, _ = await issue()
    url = f"/api/v1/registry/{cred.number}"
    assert (await client.get(url)).json()["status"] == "valid"  # now cached in this worker
    await change_status(cred.number, "suspend")
    assert (await client.get(url)).json()["status"] == "suspended"
    await change_status(cred.number, "reinstate")
    assert (await client.get(url)).json()["status"] == "valid"


async def test_status_listeners_hear_commits_not_rollbacks(issue, db) -> None:
    from apkd.credentials import service as cred_service

    cred, _ = await issue()
    heard: list[frozenset[str]] = []
    cred_service.on_status_change(heard.append)
    try:
        creds = await cred_service._lock_credentials(db, [cred.id])
        await cred_service._apply(
            db, creds, "suspend", "uji", actor="test", actor_id=None, now=cred.valid_from
        )
        await db.rollback()
        assert heard == []
        await cred_service.suspend(db, cred.number, "Pemeriksaan dugaan pelanggaran", actor="test")
        assert heard == []  # flushed, not committed yet
        await db.commit()
        assert heard == [frozenset({cred.number})]
    finally:
        cred_service._status_listeners.remove(heard.append)
