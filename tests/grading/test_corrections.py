"""Key corrections: rekey or void an item, regrade exactly the affected results, report and
act on the outcome changes."""

from __future__ import annotations

import json

from gradingkit import KEYS, WRONG, right
from sqlmodel import select

from apkd.audit import AuditEvent
from apkd.grading.models import KeyCorrection, Result, ResultChange


def _with(answers: dict[str, object], **changes: object) -> dict[str, object]:
    return {**answers, **changes}


async def _publish(client, h, es_id: int) -> None:
    r = await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)
    assert r.status_code == 200, r.text


async def test_rekey_flips_exactly_the_outcomes_it_should(
    client, make_user, login, factory, recorded_effects, db
) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    other_es = await factory.session(bank, title="Sesi lain")
    a3 = bank.versions["A3"].id
    sit = {}
    # A1 right, A2 wrong, B right; A3 decides unit A (needs 2 of 3).
    base = right("A1", "B1", "B2")
    for name, session, answers, kw in [
        ("naik", es, _with(base, A3="b"), {}),  # 7/9 but unit A 1/3 -> with key b: 8/9, passes
        ("turun", es, _with(base, A3="a"), {}),  # 8/9 passes -> 7/9 with unit A 1/3, fails
        ("tetap_lulus", es, dict(KEYS), {}),  # 100 -> 88.88, still passes
        ("tetap_gagal", es, dict(WRONG), {}),  # A3 "d": wrong before and after, no change
        ("sesi_lain", other_es, _with(base, A3="b"), {}),  # another session of the scheme
        ("dihentikan", es, _with(base, A3="b"), {"status": "terminated", "close_reason": "curang"}),
        ("tanpa_a3", es, dict(KEYS), {"order": ("A1", "A2", "B1", "B2")}),  # never saw A3
    ]:
        user = await factory.candidate(name)
        sit[name] = (await factory.attempt(session, bank, user, answers, **kw)).id
    es_id, other_id = es.id, other_es.id
    await make_user("admin", username="admin1")
    h = await login("admin1")
    await _publish(client, h, es_id)
    await _publish(client, h, other_id)
    issued_before = list(recorded_effects.issued)

    r = await client.post(
        f"/api/v1/item-versions/{a3}/corrections",
        headers=h,
        json={
            "action": "rekey",
            "answer": "b",
            "reason": "Kunci salah: batas SPJ menurut Permendagri 77/2020.",
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["regraded"] == 6  # every result that used A3, in both sessions; not "tanpa_a3"
    by_attempt = {c["attempt_id"]: c for c in out["changes"]}
    assert set(by_attempt) == {
        sit["naik"],
        sit["turun"],
        sit["tetap_lulus"],
        sit["sesi_lain"],
        sit["dihentikan"],
    }
    assert by_attempt[sit["naik"]] | {"username": "naik"} == {
        "attempt_id": sit["naik"],
        "username": "naik",
        "full_name": by_attempt[sit["naik"]]["full_name"],
        "old_outcome": "belum_kompeten",
        "new_outcome": "kompeten",
        "old_score": 77.77,
        "new_score": 88.88,
    }
    assert (by_attempt[sit["turun"]]["old_outcome"], by_attempt[sit["turun"]]["new_outcome"]) == (
        "kompeten",
        "belum_kompeten",
    )
    assert by_attempt[sit["tetap_lulus"]]["new_outcome"] == "kompeten"
    assert by_attempt[sit["tetap_lulus"]]["new_score"] == 88.88
    assert by_attempt[sit["dihentikan"]]["new_outcome"] == "belum_kompeten"  # terminated stays failed
    assert sorted(p["username"] for p in out["newly_passed"]) == ["naik", "sesi_lain"]
    assert [p["username"] for p in out["no_longer_passed"]] == ["turun"]
    assert (out["credentials_issued"], out["credentials_revoked"]) == (2, 1)

    # The credential side was told exactly that.
    results = {r.attempt_id: r for r in (await db.exec(select(Result))).all()}
    assert recorded_effects.revoked == [results[sit["turun"]].id]
    assert set(recorded_effects.issued) - set(issued_before) == {
        results[sit["naik"]].id,
        results[sit["sesi_lain"]].id,
    }
    # Results carry the new key and a new revision; the untouched one is untouched.
    assert results[sit["naik"]].revision == 2 and results[sit["tanpa_a3"]].revision == 1
    a3_entry = next(i for i in results[sit["naik"]].items if i["item_version_id"] == a3)
    assert a3_entry["answer"] == "b" and a3_entry["earned"] == 1
    assert a3_entry["correction_id"] == out["correction_id"]
    changes = (await db.exec(select(ResultChange))).all()
    assert len(changes) == 5 and {c.correction_id for c in changes} == {out["correction_id"]}
    event = (await db.exec(select(AuditEvent).where(AuditEvent.action == "item.key_corrected"))).one()
    details = json.loads(event.details)
    assert event.actor == "admin1" and details["newly_passed_attempt_ids"] == sorted(
        [sit["naik"], sit["sesi_lain"]]
    )
    assert details["no_longer_passed_attempt_ids"] == [sit["turun"]]
    assert '"b"' not in event.details  # the key itself is not written to the audit log
    await db.rollback()

    # Candidates see the regraded result.
    r = await client.get(f"/api/v1/attempts/{sit['naik']}/result", headers=await login("naik"))
    assert r.json()["outcome"] == "kompeten" and r.json()["revision"] == 2

    # Publishing again keeps the regraded results as they are.
    await _publish(client, h, es_id)
    r = await client.get(f"/api/v1/attempts/{sit['turun']}/result", headers=h)
    assert r.json()["outcome"] == "belum_kompeten"

    # The same key again changes nothing and says so.
    r = await client.post(
        f"/api/v1/item-versions/{a3}/corrections",
        headers=h,
        json={"action": "rekey", "answer": "b", "reason": "lagi"},
    )
    assert r.status_code == 409 and r.json()["code"] == "key_unchanged"

    r = await client.get(f"/api/v1/item-versions/{a3}/corrections", headers=h)
    assert [(c["action"], c["actor"]) for c in r.json()] == [("rekey", "admin1")]
    assert "answer" not in r.json()[0]


async def test_void_drops_the_item_for_everyone(
    client, make_user, login, factory, recorded_effects, db
) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    b1 = bank.versions["B1"].id
    sit = {}
    for name, answers in [
        ("naik", right("A1", "A2", "A3", "B2")),  # 6/9 -> 6/6 without B1
        ("turun_nilai", right("A1", "A2", "A3", "B1")),  # 6/9 -> 3/6, B unit 0/3
        ("lulus", dict(KEYS)),  # 9/9 -> 6/6
    ]:
        sit[name] = (await factory.attempt(es, bank, await factory.candidate(name), answers)).id
    es_id = es.id
    await make_user("admin", username="admin1")
    h = await login("admin1")
    await _publish(client, h, es_id)

    r = await client.post(
        f"/api/v1/item-versions/{b1}/corrections",
        headers=h,
        json={"action": "void", "reason": "Dua pilihan sama-sama benar menurut regulasi terbaru."},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["regraded"] == 3
    assert [p["username"] for p in out["newly_passed"]] == ["naik"] and out["no_longer_passed"] == []
    changes = {c["username"]: (c["old_score"], c["new_score"], c["new_outcome"]) for c in out["changes"]}
    assert changes == {"naik": (66.66, 100.0, "kompeten"), "turun_nilai": (66.66, 50.0, "belum_kompeten")}

    res = (await client.get(f"/api/v1/attempts/{sit['turun_nilai']}/result", headers=h)).json()
    assert {u["code"]: u["score"] for u in res["units"]} == {"TST.A": 100.0, "TST.B": 0.0}
    result = (await db.exec(select(Result).where(Result.attempt_id == sit["lulus"]))).one()
    entry = next(i for i in result.items if i["item_version_id"] == b1)
    assert entry["voided"] is True and entry["earned"] == 0
    await db.rollback()

    r = await client.post(
        f"/api/v1/item-versions/{b1}/corrections", headers=h, json={"action": "void", "reason": "x"}
    )
    assert r.status_code == 409 and r.json()["code"] == "already_voided"
    # A rekey after a void brings the item back with the new key.
    r = await client.post(
        f"/api/v1/item-versions/{b1}/corrections",
        headers=h,
        json={"action": "rekey", "answer": ["c", "a"], "reason": "Dipulihkan dengan kunci yang sama."},
    )
    assert r.status_code == 200
    assert sorted(c["new_score"] for c in r.json()["changes"]) == [66.66, 66.66]
    assert [p["username"] for p in r.json()["no_longer_passed"]] == ["naik"]


async def test_bad_corrections_are_refused(client, make_user, login, factory, db) -> None:
    bank = await factory.bank()
    ids = {k: v.id for k, v in bank.versions.items()}
    await make_user("admin", username="admin1")
    await make_user("auditor", username="auditor1")
    h = await login("admin1")

    async def post(ivid, body, headers=h):
        return await client.post(f"/api/v1/item-versions/{ivid}/corrections", headers=headers, json=body)

    cases = [
        (ids["A1"], {"action": "rekey", "answer": "z", "reason": "r"}, 422, "invalid_key"),
        (ids["A1"], {"action": "rekey", "answer": ["b"], "reason": "r"}, 422, "invalid_key"),
        (ids["B1"], {"action": "rekey", "answer": "a", "reason": "r"}, 422, "invalid_key"),
        (ids["B1"], {"action": "rekey", "answer": [], "reason": "r"}, 422, "invalid_key"),
        (ids["B1"], {"action": "rekey", "answer": ["a", "a"], "reason": "r"}, 422, "invalid_key"),
        (ids["B2"], {"action": "rekey", "answer": "1100000", "reason": "r"}, 422, "invalid_key"),
        (ids["B2"], {"action": "rekey", "answer": True, "reason": "r"}, 422, "invalid_key"),
        (ids["A1"], {"action": "rekey", "reason": "r"}, 422, "answer_required"),
        (ids["A1"], {"action": "rekey", "answer": "b", "reason": "  "}, 422, "reason_required"),
        (ids["A1"], {"action": "hapus", "reason": "r"}, 422, "invalid_action"),
        (ids["A1"], {"action": "rekey", "answer": "a", "reason": "r"}, 409, "key_unchanged"),
        (999999, {"action": "void", "reason": "r"}, 404, "item_version_not_found"),
    ]
    for ivid, body, status, code in cases:
        r = await post(ivid, body)
        assert (r.status_code, r.json().get("code")) == (status, code), (body, r.text)
    r = await post(ids["A1"], {"action": "void"})
    assert r.status_code == 400  # missing reason: malformed body
    r = await post(ids["A1"], {"action": "void", "reason": "r"}, headers=await login("auditor1"))
    assert r.status_code == 403
    # A numeric key may be corrected to another number.
    r = await post(ids["B2"], {"action": "rekey", "answer": 1100000.5, "reason": "pembulatan"})
    assert r.status_code == 200 and r.json()["regraded"] == 0
    stored = (await db.exec(select(KeyCorrection))).all()
    assert [(k.item_version_id, k.answer) for k in stored] == [(ids["B2"], 1100000.5)]
