"""End to end through the HTTP API of exams and grading: sit the exam, submit, publish, read
the result (the attempt's form and responses are written by the exams service itself)."""

from __future__ import annotations

from datetime import timedelta

from gradingkit import KEYS, WRONG
from sqlmodel import select

from apkd.db import utcnow
from apkd.exams.models import Attempt


async def test_sit_submit_publish_and_read_the_result(
    client, make_user, login, factory, recorded_effects, db
) -> None:
    bank = await factory.bank()
    key_by_version = {v.id: KEYS[ext] for ext, v in bank.versions.items()}
    wrong_by_version = {v.id: WRONG[ext] for ext, v in bank.versions.items()}
    await make_user("admin", username="admin1")
    await make_user("proctor", username="pengawas1")
    for name in ("pintar", "kurang"):
        await make_user("candidate", username=name)
    admin, proctor = await login("admin1"), await login("pengawas1")
    now = utcnow()
    r = await client.post(
        "/api/v1/sessions",
        headers=admin,
        json={
            "scheme_code": "TST",
            "title": "Uji Kompetensi Bendahara",
            "venue": "Aula BPKAD",
            "starts_at": (now - timedelta(minutes=10)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            "proctors": ["pengawas1"],
        },
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    attempts = {}
    for name, keys in (("pintar", key_by_version), ("kurang", wrong_by_version)):
        r = await client.post(f"/api/v1/sessions/{sid}/registrations", headers=admin, json={"username": name})
        assert r.status_code == 201, r.text
        r = await client.post(f"/api/v1/registrations/{r.json()['id']}/admit", headers=proctor)
        assert r.status_code == 200, r.text
        h = await login(name)
        r = await client.post(f"/api/v1/sessions/{sid}/attempts", headers=h)
        assert r.status_code == 201, r.text
        aid = r.json()["id"]
        form = (await db.exec(select(Attempt.form).where(Attempt.id == aid))).one()
        await db.rollback()
        for item in form["items"]:
            r = await client.put(
                f"/api/v1/attempts/{aid}/responses/{item['position']}",
                headers=h,
                json={"response": keys[item["item_version_id"]], "seq": 1},
            )
            assert r.status_code == 200, r.text
        assert (await client.post(f"/api/v1/attempts/{aid}/submit", headers=h)).status_code == 200
        attempts[name] = (aid, h)

    r = await client.get(f"/api/v1/attempts/{attempts['pintar'][0]}/result", headers=attempts["pintar"][1])
    assert r.status_code == 403  # not published yet
    r = await client.post(f"/api/v1/sessions/{sid}/publish", headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["graded"], r.json()["passed"]) == (2, 1)
    r = await client.get(f"/api/v1/attempts/{attempts['pintar'][0]}/result", headers=attempts["pintar"][1])
    assert r.status_code == 200
    assert (r.json()["score"], r.json()["outcome"]) == (100.0, "kompeten")
    r = await client.get(f"/api/v1/attempts/{attempts['kurang'][0]}/result", headers=attempts["kurang"][1])
    assert (r.json()["score"], r.json()["outcome"]) == (0.0, "belum_kompeten")
    assert [u["code"] for u in r.json()["units"]] == ["TST.A", "TST.B"]
