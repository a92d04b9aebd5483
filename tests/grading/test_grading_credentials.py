"""Publishing and regrading with the real credential side (create_app wires it in)."""

from __future__ import annotations

import pytest
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


async def test_without_a_registered_credential_side_publishing_fails_loudly(
    client, make_user, login, factory, db
) -> None:
    """Outside tests nothing is a silent no-op: a program that never wired the credential
    side refuses to grade-and-issue-nothing, and what it did is rolled back."""
    bank = await factory.bank()
    es = await factory.session(bank)
    await factory.attempt(es, bank, await factory.candidate("lulus"), dict(KEYS))
    es_id = es.id
    await make_user("admin", username="admin1")
    h = await login("admin1")
    previous = effects.registered()
    effects.reset()
    try:
        with pytest.raises(effects.EffectsNotRegistered, match="apkd.wiring.wire"):
            effects.current()
        r = await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)
        assert r.status_code == 500
        assert "no credential effects" not in r.text  # the reason is logged, not shown
    finally:
        effects.register(previous)
    r = await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["graded"], r.json()["credentials_issued"]) == (1, 1)


async def test_the_stand_in_is_only_what_a_test_registers() -> None:
    previous = effects.registered()
    effects.register(effects.NoCredentialEffects())
    try:
        stand_in = effects.current()
        assert await stand_in.issue(None, [1, 2], actor="x") == 0  # type: ignore[arg-type]
        assert await stand_in.revoke_regraded(None, [1], actor="x") == 0  # type: ignore[arg-type]
    finally:
        effects.register(previous)
