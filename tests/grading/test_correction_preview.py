"""Issue 14 point 4: a key correction's preview says whose outcome flips and writes nothing;
applying it then does exactly what the preview said."""

from __future__ import annotations

from gradingkit import right
from sqlmodel import func, select

from apkd.audit import AuditEvent
from apkd.grading.models import KeyCorrection, Result


async def test_preview_then_apply(client, make_user, login, factory, recorded_effects, db) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    a3 = bank.versions["A3"].id
    base = right("A1", "B1", "B2")
    ids = {}
    for name, answers in [("naik", {**base, "A3": "b"}), ("turun", {**base, "A3": "a"})]:
        ids[name] = (await factory.attempt(es, bank, await factory.candidate(name), answers)).id
    es_id = es.id
    await make_user("admin", username="admin1")
    await make_user("auditor", username="auditor1")
    h = await login("admin1")
    assert (await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)).status_code == 200
    scores_before = sorted((await db.exec(select(Result.score))).all())
    audit_before = (await db.exec(select(func.count()).select_from(AuditEvent))).one()
    await db.rollback()
    body = {
        "action": "rekey",
        "answer": "b",
        "reason": "Kunci salah menurut Permendagri 77/2020.",
        "preview": True,
    }

    r = await client.post(f"/api/v1/item-versions/{a3}/corrections", headers=h, json=body)
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["preview"] is True and preview["correction_id"] == 0 and preview["regraded"] == 2
    assert [c["username"] for c in preview["newly_passed"]] == ["naik"]
    assert [c["username"] for c in preview["no_longer_passed"]] == ["turun"]
    # nothing written: no correction, same scores, no audit event, no credential effect
    assert (await db.exec(select(func.count()).select_from(KeyCorrection))).one() == 0
    assert sorted((await db.exec(select(Result.score))).all()) == scores_before
    assert (await db.exec(select(func.count()).select_from(AuditEvent))).one() == audit_before
    await db.rollback()
    assert recorded_effects.revoked == []
    # the auditor may not even preview (a correction is the admin's)
    r = await client.post(
        f"/api/v1/item-versions/{a3}/corrections", headers=await login("auditor1"), json=body
    )
    assert r.status_code == 403
    # a preview is refused the same way the correction would be
    r = await client.post(f"/api/v1/item-versions/{a3}/corrections", headers=h, json={**body, "answer": "zz"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_key"

    r = await client.post(
        f"/api/v1/item-versions/{a3}/corrections", headers=h, json={**body, "preview": False}
    )
    applied = r.json()
    assert applied["preview"] is False and applied["correction_id"] > 0
    assert applied["changes"] == preview["changes"]
    assert applied["newly_passed"] == preview["newly_passed"] and applied["credentials_revoked"] == 1
