"""Issue 12: credentials signed before the NIP change (a salted NIP hash in the subject, a
masked NIP in the QR token, no subject id, a jti, two status entries) are found and signed
again in the current shape, keeping number, dates and status, logged like an issuance."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from apkd.audit import AuditEvent
from apkd.credentials import issuer_keys
from apkd.credentials.models import Credential, CredentialEvent, CredentialHolder
from apkd.credentials.qrtoken import QR_TYP
from apkd.credentials.reissue import find_legacy, legacy_reasons, reissue
from apkd.credentials.statuslist import status_list_entry, status_list_url
from apkd.grading import effects
from apkd.signing.jws import sign_compact
from apkd.translog.service import find_entries
from standards_files import schema_errors, undefined_terms

NIP = "198703122010012003"
SALT = "9f2c4b7e1a3d5c6e8f0a1b2c3d4e5f60"


def payload_of(token: str) -> dict:
    part = token.split("?t=")[-1].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def make_old_shape(db, settings, cred: Credential) -> None:
    """Rewrite a freshly issued credential as the code before issue 12.1 signed it
    (git show 9cbb6ce: vc.py, qrtoken.py)."""
    signer = await issuer_keys.active_signer(db, settings)
    old = payload_of(cred.vc_jwt)
    subject = old["credentialSubject"]
    del subject["id"]
    del subject["achievement"]["image"]
    subject["identifier"].append(
        {
            "type": "IdentityObject",
            "identityType": "ext:NIP",
            "hashed": True,
            "identityHash": "sha256$" + hashlib.sha256((NIP + SALT).encode()).hexdigest(),
            "salt": SALT,
        }
    )
    old.pop("sub")
    old["jti"] = old["id"]
    old["credentialStatus"] = [
        old["credentialStatus"],
        status_list_entry(
            status_list_url(settings.base_url, cred.suspension_list_id), "suspension", cred.suspension_index
        ),
    ]
    cred.vc_jwt = sign_compact(old, signer.private_key, signer.kid, "vc+jwt")
    cred.vc_sha256 = hashlib.sha256(cred.vc_jwt.encode()).hexdigest()
    wire = {
        "n": cred.number,
        "h": cred.holder_name,
        "m": NIP[:4] + "*" + NIP[-3:],
        "f": int(cred.valid_from.timestamp()),
        "u": int(cred.valid_until.timestamp()),
    }
    cred.qr_text = f"{settings.base_url}/v/{cred.number}?t=" + sign_compact(
        wire, signer.private_key, signer.kid, QR_TYP
    )
    db.add(cred)


async def test_legacy_credentials_are_found_and_reissued_in_the_current_shape(
    factory, db, settings, client
) -> None:
    holder = await factory.candidate(nip=NIP, full_name="Maria Goreti Lelang")
    other = await factory.candidate(full_name="Yohanes Mau")
    current = await factory.candidate(full_name="Sarah Lapenangga")
    seeded = await factory.passed_session([holder, other, current], score=83.33)
    await effects.current().issue(db, seeded.result_ids, actor="admin")
    await db.commit()
    creds = {c.user_id: c for c in (await db.exec(select(Credential))).all()}
    for user in (holder, other):
        await make_old_shape(db, settings, creds[user.id])
    await db.commit()
    from apkd.credentials import service

    await service.suspend(db, creds[other.id].number, "Sedang diperiksa", actor="admin")
    await db.commit()
    before = {
        uid: (c.number, c.uuid, c.valid_from, c.valid_until, c.status, c.vc_jwt, payload_of(c.vc_jwt))
        for uid, c in creds.items()
    }
    assert NIP not in before[holder.id][5] and SALT in json.dumps(before[holder.id][6])  # the old shape

    # Found, with what makes them old; the current one is not.
    found, last = await find_legacy(db, limit=2)
    found2, last2 = await find_legacy(db, after_id=last, limit=2)
    assert {f.number for f in found + found2} == {creds[holder.id].number, creds[other.id].number}
    assert set(found[0].reasons) == {"nip_hash", "qr_masked_nip", "no_subject_id", "jti", "status_array"}
    assert (await find_legacy(db, after_id=last2))[1] is None
    assert legacy_reasons(creds[current.id].vc_jwt, creds[current.id].qr_text) == []

    numbers = await reissue(db, settings, [f.id for f in found + found2], actor="admin")
    await db.commit()
    assert sorted(numbers) == sorted([creds[holder.id].number, creds[other.id].number])

    subjects = dict((await db.exec(select(CredentialHolder.user_id, CredentialHolder.subject_id))).all())
    for user in (holder, other):
        cred = await db.get(Credential, creds[user.id].id)
        await db.refresh(cred)
        number, uuid, valid_from, valid_until, status, old_jwt, old = before[user.id]
        assert (cred.number, cred.uuid, cred.valid_from, cred.valid_until, cred.status) == (
            number,
            uuid,
            valid_from,
            valid_until,
            status,
        )
        assert cred.vc_jwt != old_jwt and legacy_reasons(cred.vc_jwt, cred.qr_text) == []
        new = payload_of(cred.vc_jwt)
        assert schema_errors(new, "ob_v3p0_achievementcredential_schema.json") == []
        assert undefined_terms(new) == []
        assert new["id"] == old["id"] and new["validFrom"] == old["validFrom"]
        assert new["validUntil"] == old["validUntil"] and new["exp"] == old["exp"]
        assert new["credentialSubject"]["id"] == new["sub"] == subjects[user.id]
        assert new["credentialSubject"]["result"] == old["credentialSubject"]["result"]
        assert new["credentialSubject"]["role"] == old["credentialSubject"]["role"]
        assert new["credentialStatus"] == old["credentialStatus"][0]  # the revocation entry
        assert "jti" not in new and "m" not in payload_of(cred.qr_text)
        for text in (cred.vc_jwt, json.dumps(new), cred.qr_text, json.dumps(payload_of(cred.qr_text))):
            assert SALT not in text and NIP not in text and NIP[:4] + "*" not in text
        # Logged as an issuance of the new digest, with its history row.
        events = [e for _, e in await find_entries(db, number)]
        assert events[-1]["type"] == "issued" and events[-1]["reason_code"] == "reissued"
        assert events[-1]["vc_sha256"] == cred.vc_sha256
        history = (
            await db.exec(select(CredentialEvent.action).where(CredentialEvent.credential_id == cred.id))
        ).all()
        assert "reissued" in history
    untouched = await db.get(Credential, creds[current.id].id)
    assert untouched.vc_jwt == before[current.id][5]
    audits = (await db.exec(select(AuditEvent).where(AuditEvent.action == "credentials.reissued"))).all()
    assert len(audits) == 1 and json.loads(audits[0].details)["count"] == 2
    assert (await find_legacy(db))[0] == []  # done: a second run finds nothing

    # The registry accepts the reissued credentials (signature, record, log); the suspended
    # one stays suspended.
    await db.commit()
    for user, status in ((holder, "valid"), (other, "suspended")):
        cred = await db.get(Credential, creds[user.id].id)
        r = await client.post("/api/v1/registry/verify", json={"token": cred.qr_text})
        body = r.json()
        assert r.status_code == 200 and body["status"] == status, body["checks"]
        checks = {c["name"]: c["ok"] for c in body["checks"]}
        assert checks["signature"] and checks["in_log"] and checks["registry_record"], body["checks"]
        if status == "valid":
            assert body["valid"] is True, body["checks"]


def test_cli_dry_run_reports_and_changes_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}
    env.update(
        {"APKD_VAR_DIR": str(tmp_path), "APKD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/apkd.db"}
    )
    root = Path(__file__).resolve().parents[2]

    def apkd(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "apkd", *args],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert apkd("db", "upgrade").returncode == 0
    r = apkd("credentials", "reissue-legacy", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "0 sertifikat berbentuk lama akan diterbitkan ulang (uji coba" in r.stdout
    r = apkd("credentials", "reissue-legacy")
    assert r.returncode == 0 and "0 sertifikat diterbitkan ulang" in r.stdout, r.stderr
