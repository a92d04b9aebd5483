"""Signing keys: encrypted at rest, rotation keeps old credentials valid, a compromised key
fails what it signed (with the reason), and the `apkd keys` commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlmodel import col, select

from apkd.credentials import issuer_keys as keystore
from apkd.credentials import service
from apkd.credentials.models import Credential
from apkd.errors import Conflict, NotFound
from apkd.grading import effects
from apkd.signing.jws import JWSError, verify_compact
from apkd.signing.keys import KeyDecryptionError, decrypt_private_key, keys_from_jwks
from apkd.signing.models import SigningKey

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
ROOT = Path(__file__).resolve().parents[2]


async def issue_one(factory, db) -> Credential:
    seeded = await factory.passed_session([await factory.candidate()])
    await effects.current().issue(db, seeded.result_ids, actor=None)
    await db.commit()
    cred = (await db.exec(select(Credential).where(Credential.attempt_id == seeded.attempt_ids[0]))).one()
    await db.commit()  # SQLite: a transaction holds the write lock; end it before the app is called
    return cred


async def test_private_key_is_stored_encrypted_under_the_secret(db, settings) -> None:
    row = await keystore.ensure_keys(db, settings)
    await db.commit()
    assert row.status == "active" and row.purpose == "credential"
    assert "d" not in row.public_jwk
    raw = bytes(row.private_key_enc)
    signer = await keystore.active_signer(db, settings)
    from cryptography.hazmat.primitives import serialization

    private_raw = signer.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert private_raw not in raw
    with pytest.raises(KeyDecryptionError):
        decrypt_private_key(raw, "another-secret-" + "y" * 40, row.kid)
    # ensure_keys is idempotent: still one active key
    await keystore.ensure_keys(db, settings)
    active = (await db.exec(select(SigningKey).where(SigningKey.status == "active"))).all()
    assert len(active) == 1


async def test_rotation_keeps_old_credentials_valid(factory, db, client, settings) -> None:
    old = await issue_one(factory, db)
    new_key = await keystore.rotate(db, settings, actor="admin")
    await db.commit()  # the caller's unit of work (a request, a CLI command) commits
    assert new_key.kid != old.kid
    new = await issue_one(factory, db)
    assert new.kid == new_key.kid

    jwks = (await client.get("/.well-known/jwks.json")).json()
    statuses = {k["kid"].rsplit(":", 1)[-1]: k["status"] for k in jwks["keys"]}  # thumbprint and kid URL
    assert statuses == {old.kid: "retired", new.kid: "active"}
    key_set = KeySet.import_key_set(jwks)
    for cred in (old, new):
        kid = jose_jwt.decode(cred.vc_jwt, key_set, algorithms=["EdDSA"]).header["kid"]
        assert kid.endswith(":" + cred.kid)
    public, status = await service.verification_keys(db)
    assert verify_compact(old.vc_jwt, public, "vc+jwt").kid == old.kid
    assert status[old.kid]["status"] == "retired"
    await db.commit()


async def test_compromised_key_fails_what_it_signed_with_the_reason(factory, db, client, settings) -> None:
    victim = await issue_one(factory, db)
    reason = "Salinan kunci ditemukan di laptop yang hilang"
    await keystore.compromise(db, settings, victim.kid, reason, actor="admin")
    await db.commit()

    # Online: the verification policy gets the key and its status with the reason.
    public, status = await service.verification_keys(db)
    assert victim.kid in public
    assert status[victim.kid] == {
        "status": "compromised",
        "reason": reason,
        "compromised_at": status[victim.kid]["compromised_at"],
    }
    assert (await service.key_status(db, victim.kid))["reason"] == reason
    await db.commit()

    # Offline: the key is no longer among the published trusted keys; it is listed apart.
    r = await client.get("/.well-known/jwks.json")
    jwks = r.json()
    assert victim.kid not in {k["kid"] for k in jwks["keys"]}
    (listed,) = jwks["compromised_keys"]
    assert listed["kid"] == victim.kid and listed["compromise_reason"] == reason
    with pytest.raises(JWSError) as info:
        verify_compact(victim.vc_jwt, keys_from_jwks(jwks), "vc+jwt")
    assert info.value.code == "unknown_kid"
    with pytest.raises((JoseError, ValueError)):
        jose_jwt.decode(victim.vc_jwt, KeySet.import_key_set(jwks), algorithms=["EdDSA"])

    # A fresh key took over; new credentials verify.
    after = await issue_one(factory, db)
    assert after.kid != victim.kid
    assert verify_compact(after.vc_jwt, keys_from_jwks(jwks), "vc+jwt").kid == after.kid

    with pytest.raises(Conflict):
        await keystore.compromise(db, settings, victim.kid, reason, actor="admin")
    with pytest.raises(NotFound):
        await keystore.compromise(db, settings, "tidak-ada", reason, actor="admin")


async def test_key_events_are_in_the_transparency_log(db, settings) -> None:
    from apkd.translog.service import entries

    first = await keystore.ensure_keys(db, settings)
    await db.commit()
    rotated = await keystore.rotate(db, settings, actor="admin")
    await keystore.compromise(db, settings, first.kid, "uji", actor="admin")
    import json

    events = [json.loads(leaf) for _, leaf in await entries(db, 0, None)]
    assert [(e["type"], e["kid"]) for e in events] == [
        ("key_rotated", rotated.kid),
        ("key_compromised", first.kid),
    ]
    kids = (await db.exec(select(SigningKey.kid).order_by(col(SigningKey.id)))).all()
    assert kids[:2] == [first.kid, rotated.kid]


def apkd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apkd", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_keys_commands(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}
    env.update(
        {"APKD_VAR_DIR": str(tmp_path), "APKD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/apkd.db"}
    )
    assert apkd(env, "db", "upgrade").returncode == 0
    r = apkd(env, "keys", "list")
    assert r.returncode == 0 and "Belum ada kunci" in r.stdout
    r = apkd(env, "keys", "rotate")
    assert r.returncode == 0, r.stderr
    first = r.stdout.split("Kunci baru aktif: ")[1].split(".")[0]
    r = apkd(env, "keys", "rotate")
    second = r.stdout.split("Kunci baru aktif: ")[1].split(".")[0]
    r = apkd(env, "keys", "list")
    lines = r.stdout.splitlines()
    assert (
        len(lines) == 2
        and first in lines[0]
        and "retired" in lines[0]
        and second in lines[1]
        and "active" in lines[1]
    )
    r = apkd(env, "keys", "compromise", first, "--reason", "Bocor saat uji")
    assert r.returncode == 0, r.stderr
    r = apkd(env, "keys", "list")
    assert "BOCOR" in r.stdout and "Bocor saat uji" in r.stdout
    r = apkd(env, "keys", "compromise", "tidak-ada", "--reason", "x")
    assert r.returncode == 1 and "tidak ditemukan" in r.stderr
