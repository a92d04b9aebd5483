"""Appeals (banding): lodged within the scheme's period, reviewed by someone not involved,
decided with a remedy or with reasons; an upheld item appeal corrects the key, regrades, and
issues the credential the correction earns."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from apkd.credentials.models import Credential
from apkd.exams.models import ExamSession, SessionProctor
from grading.gradingkit import KEYS, right

# Fails: unit A has only A1 right (1 of 3 < 60%) although the total is 7/9. Answered A3 = b;
# once A3's key is corrected to b, unit A reaches 2 of 3 and the candidate passes (8/9).
APPELLANT = {**right("A1", "B1", "B2"), "A3": "b"}


async def _published(client, make_user, login, factory, db):
    bank = await factory.bank()
    es = await factory.session(bank)
    appellant = await factory.attempt(es, bank, await factory.candidate("yohanes"), APPELLANT)
    await factory.attempt(es, bank, await factory.candidate("maria"), dict(KEYS))
    proctor = await make_user("proctor", username="pengawas1", can_decide=True)
    db.add(SessionProctor(session_id=es.id, user_id=proctor.id))
    await db.commit()
    await make_user("admin", username="admin1")
    await make_user("admin", username="admin2")
    h = await login("admin1")
    r = await client.post(f"/api/v1/sessions/{es.id}/publish", headers=h)
    assert r.status_code == 200 and r.json()["credentials_issued"] == 1, r.text
    return es.id, appellant.id, bank, h


async def test_an_upheld_item_appeal_corrects_the_key_regrades_and_issues_the_credential(
    client, make_user, login, factory, db
) -> None:
    _es_id, attempt_id, bank, admin = await _published(client, make_user, login, factory, db)
    a3 = bank.versions["A3"].id
    cand = await login("yohanes")
    result = (await client.get(f"/api/v1/attempts/{attempt_id}/result", headers=cand)).json()
    assert result["outcome"] == "belum_kompeten"

    r = await client.post(
        f"/api/v1/attempts/{attempt_id}/appeals",
        headers=cand,
        json={"reason": "Soal nomor 3: menurut Permendagri 77/2020 jawaban b juga benar.", "positions": [3]},
    )
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert (appeal["state"], appeal["scope"]) == ("diajukan", "items")
    assert appeal["items"] == [{"position": 3, "item_version_id": a3}]
    again = await client.post(f"/api/v1/attempts/{attempt_id}/appeals", headers=cand, json={"reason": "lagi"})
    assert again.status_code == 409 and again.json()["code"] == "appeal_exists"

    # not a reviewer: the proctor of the session, nor the admin who took the decision
    for who, words in (("pengawas1", "terlibat"), ("admin1", "mengambil keputusan")):
        r = await client.post(f"/api/v1/appeals/{appeal['id']}/assign", headers=admin, json={"reviewer": who})
        assert r.status_code == 422 and r.json()["code"] == "reviewer_not_impartial", r.text
        assert words in r.json()["detail"]
    r = await client.post(
        f"/api/v1/appeals/{appeal['id']}/assign", headers=admin, json={"reviewer": "admin2"}
    )
    assert r.status_code == 200 and r.json()["state"] == "diperiksa"

    r = await client.post(
        f"/api/v1/appeals/{appeal['id']}/decision",
        headers=admin,
        json={"upheld": False, "reason": "bukan pemeriksa"},
    )
    assert r.status_code == 403 and r.json()["code"] == "not_the_reviewer"
    r = await client.post(
        f"/api/v1/appeals/{appeal['id']}/decision",
        headers=await login("admin2"),
        json={
            "upheld": True,
            "reason": "Pilihan b sesuai Permendagri 77/2020 pasal 141.",
            "remedy": "key_correction",
            "corrections": [{"position": 3, "action": "rekey", "answer": "b"}],
        },
    )
    assert r.status_code == 200, r.text
    decided = r.json()
    assert decided["state"] == "diterima" and decided["effects"]["credentials_issued"] == 1
    assert decided["effects"]["outcome"] == "kompeten"

    mine = (await client.get("/api/v1/me/appeals", headers=cand)).json()
    assert [(a["state"], a["state_text"], a["remedy"]) for a in mine] == [
        ("diterima", "Diterima", "key_correction")
    ]
    assert mine[0]["decision_reason"].startswith("Pilihan b")
    result = (await client.get(f"/api/v1/attempts/{attempt_id}/result", headers=cand)).json()
    assert result["outcome"] == "kompeten"
    creds = (await db.exec(select(Credential).where(Credential.attempt_id == attempt_id))).all()
    assert len(creds) == 1 and creds[0].status == "active"
    await db.rollback()  # SQLite: end the read transaction before the app writes
    r = await client.get("/api/v1/me/credentials", headers=cand)
    assert len(r.json()) == 1
    # the item review sees the item's appeals
    r = await client.get(f"/api/v1/appeals?item_version_id={a3}", headers=admin)
    assert [a["id"] for a in r.json()] == [appeal["id"]]


async def test_an_appeal_past_its_deadline_is_refused(client, make_user, login, factory, db) -> None:
    es_id, attempt_id, _bank, _admin = await _published(client, make_user, login, factory, db)
    exam = await db.get(ExamSession, es_id, populate_existing=True)
    exam.results_published_at = exam.results_published_at - timedelta(days=14, minutes=1)
    db.add(exam)
    await db.commit()
    r = await client.post(
        f"/api/v1/attempts/{attempt_id}/appeals",
        headers=await login("yohanes"),
        json={"reason": "Terlambat."},
    )
    assert r.status_code == 409 and r.json()["code"] == "appeal_period_over", r.text
    assert "Masa banding sudah berakhir" in r.json()["detail"] and "WITA" in r.json()["detail"]


async def test_a_rejected_appeal_states_its_reasons_and_an_upheld_one_can_grant_a_resit(
    client, make_user, login, factory, db
) -> None:
    _es_id, attempt_id, _bank, admin = await _published(client, make_user, login, factory, db)
    cand = await login("yohanes")
    r = await client.post(
        f"/api/v1/attempts/{attempt_id}/appeals", headers=cand, json={"reason": "Listrik padam."}
    )
    appeal_id = r.json()["id"]
    await client.post(f"/api/v1/appeals/{appeal_id}/assign", headers=admin, json={"reviewer": "admin2"})
    reviewer = await login("admin2")
    r = await client.post(
        f"/api/v1/appeals/{appeal_id}/decision", headers=reviewer, json={"upheld": False, "reason": " "}
    )
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await client.post(
        f"/api/v1/appeals/{appeal_id}/decision",
        headers=reviewer,
        json={"upheld": True, "reason": "Pemadaman listrik tercatat di berita acara.", "remedy": "resit"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["effects"]["resit_grant_id"] > 0
    assert r.json()["remedy_text"] == "peserta mendapat ujian ulang tanpa masa tunggu"
    r = await client.post(
        f"/api/v1/appeals/{appeal_id}/decision", headers=reviewer, json={"upheld": False, "reason": "x"}
    )
    assert r.status_code == 409 and r.json()["code"] == "appeal_decided"


async def test_an_upheld_appeal_can_regrade_the_result(client, make_user, login, factory, db) -> None:
    _es_id, attempt_id, _bank, admin = await _published(client, make_user, login, factory, db)
    r = await client.post(
        f"/api/v1/attempts/{attempt_id}/appeals",
        headers=await login("yohanes"),
        json={"reason": "Mohon dinilai ulang."},
    )
    appeal_id = r.json()["id"]
    await client.post(f"/api/v1/appeals/{appeal_id}/assign", headers=admin, json={"reviewer": "admin2"})
    r = await client.post(
        f"/api/v1/appeals/{appeal_id}/decision",
        headers=await login("admin2"),
        json={"upheld": True, "reason": "Penilaian diulang dengan kunci yang berlaku.", "remedy": "regrade"},
    )
    assert r.status_code == 200, r.text
    effects = r.json()["effects"]
    assert (effects["regraded"], effects["outcome"], effects["credentials_issued"]) == (
        1,
        "belum_kompeten",
        0,
    )
    result = (await client.get(f"/api/v1/attempts/{attempt_id}/result", headers=admin)).json()
    assert result["revision"] == 2
