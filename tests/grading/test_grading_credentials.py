"""Publishing and regrading with the real credential side (apkd.credentials registers itself)."""

from __future__ import annotations

from gradingkit import KEYS, WRONG, right
from sqlmodel import select

from apkd.credentials.models import Credential
from apkd.grading import effects


async def test_publish_issues_one_credential_per_pass_and_regrading_revokes(
    client, make_user, login, factory, db
) -> None:
    assert not isinstance(effects.current(), effects.NoCredentialEffects)
    bank = await factory.bank()
    es = await factory.session(bank)
    ids = {}
    for name, answers in [
        ("lulus", dict(KEYS)),
        ("turun", {**right("A1", "B1", "B2"), "A3": "a"}),  # passes; fails once A3's key is b
        ("gagal", dict(WRONG)),
    ]:
        ids[name] = (await factory.attempt(es, bank, await factory.candidate(name), answers)).id
    es_id, a3 = es.id, bank.versions["A3"].id
    await make_user("admin", username="admin1")
    h = await login("admin1")

    r = await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["passed"], r.json()["credentials_issued"]) == (2, 2)
    r = await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)
    assert r.json()["credentials_issued"] == 0
    creds = (await db.exec(select(Credential).order_by(Credential.attempt_id))).all()
    assert [c.attempt_id for c in creds] == [ids["lulus"], ids["turun"]]
    await db.rollback()

    r = await client.post(
        f"/api/v1/item-versions/{a3}/corrections",
        headers=h,
        json={"action": "rekey", "answer": "b", "reason": "Kunci salah."},
    )
    assert r.status_code == 200, r.text
    assert r.json()["credentials_revoked"] == 1
    revoked = (await db.exec(select(Credential).where(Credential.attempt_id == ids["turun"]))).one()
    assert revoked.status == "revoked" and revoked.revocation_reason == "regraded"


async def test_without_a_credential_side_grading_still_works_and_issues_nothing() -> None:
    previous = effects.current()
    effects.reset()
    try:
        stand_in = effects.current()
        assert isinstance(stand_in, effects.NoCredentialEffects)
        assert await stand_in.issue(None, [1, 2], actor="x") == 0  # type: ignore[arg-type]
        assert await stand_in.revoke_regraded(None, [1], actor="x") == 0  # type: ignore[arg-type]
    finally:
        effects.register(previous)
