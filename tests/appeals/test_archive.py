"""``apkd archive --session ID`` writes a signed bundle that ``apkd archive verify FILE`` checks
offline, and that fails when one byte changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from apkd.archive.bundle import verify
from grading.gradingkit import KEYS, right

ROOT = Path(__file__).resolve().parents[2]


def apkd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apkd", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


async def test_an_archive_verifies_offline_and_fails_when_one_byte_changes(
    client, make_user, login, factory, db, settings, tmp_path
) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    failed = await factory.attempt(es, bank, await factory.candidate("yohanes"), right("A1", "B1"))
    await factory.attempt(es, bank, await factory.candidate("maria"), dict(KEYS))
    es_id, failed_id = es.id, failed.id
    await make_user("admin", username="admin1")
    h = await login("admin1")
    assert (await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)).status_code == 200
    r = await client.post(
        f"/api/v1/attempts/{failed_id}/appeals",
        headers=await login("yohanes"),
        json={"reason": "Soal 2 ambigu."},
    )
    assert r.status_code == 201
    jwks = (await client.get("/.well-known/jwks.json")).json()
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))

    env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}
    env.update(
        {
            "APKD_VAR_DIR": str(tmp_path),
            "APKD_DATABASE_URL": settings.database_url,
            "APKD_SECRET_KEY": settings.secret_key,
        }
    )
    out = tmp_path / "arsip.jws"
    r = apkd(env, "archive", "--session", str(es_id), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert f"Arsip sesi #{es_id} ditulis" in r.stdout

    offline = {k: v for k, v in env.items() if k != "APKD_DATABASE_URL"}
    offline["APKD_DATABASE_URL"] = "sqlite+aiosqlite:////nonexistent/none.db"  # no database is needed
    r = apkd(offline, "archive", "verify", str(out), "--jwks", str(tmp_path / "jwks.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Arsip SAH" in r.stdout and "GAGAL" not in r.stdout

    data = out.read_bytes()
    report = verify(data, jwks)
    payload = report.payload
    assert report.ok and payload is not None
    assert [a["attempt_id"] for a in payload["appeals"]] == [failed_id]
    assert len(payload["results"]) == 2 and len(payload["credentials"]) == 1
    assert payload["decision"]["decided_by"] == "admin1"
    assert {"responses", "minutes", "results", "appeals", "credentials", "audit"} <= set(payload["retention"])
    actions = [e["action"] for e in payload["audit"]["events"]]
    assert "results.published" in actions and "appeal.lodged" in actions
    assert all("password_hash" not in u for u in payload["users"])

    # one byte changed anywhere (header, payload, signature, the final newline) fails
    dot1, dot2 = data.index(b"."), data.rindex(b".")
    for pos in (5, dot1 + 40, len(data) // 2, dot2 + 10, len(data) - 2, len(data) - 1):
        changed = bytearray(data)
        changed[pos] = ord("A") if changed[pos] != ord("A") else ord("B")
        assert not verify(bytes(changed), jwks).ok, pos
    bad = tmp_path / "rusak.jws"
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(changed))
    r = apkd(offline, "archive", "verify", str(bad))
    assert r.returncode == 1 and "TIDAK SAH" in r.stdout

    # a bundle signed by another key is refused against the issuer's JWKS
    other = {"keys": [{**k, "x": jwks["keys"][0]["x"][::-1]} for k in jwks["keys"]]}
    assert not verify(data, other).ok
