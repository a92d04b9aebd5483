"""The certification decision is impartial: a proctor of the session cannot publish it; a
declared conflict of interest moves the candidate to another proctor."""

from __future__ import annotations

from sqlmodel import select

from apkd.exams.models import ExamSession, Registration, SessionProctor
from grading.gradingkit import KEYS


async def _proctor(db, es_id: int, user) -> None:
    db.add(SessionProctor(session_id=es_id, user_id=user.id))
    await db.commit()


async def test_a_proctor_of_the_session_cannot_publish_it(client, make_user, login, factory, db) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    await factory.attempt(es, bank, await factory.candidate("lulus"), dict(KEYS))
    es_id = es.id
    assessor = await make_user("proctor", username="asesor1", can_decide=True)
    other = await make_user("proctor", username="asesor2", can_decide=True)
    plain = await make_user("proctor", username="pengawas9")
    await _proctor(db, es_id, assessor)

    r = await client.post(f"/api/v1/sessions/{es_id}/publish", headers=await login("asesor1"))
    assert r.status_code == 403 and r.json()["code"] == "decider_involved", r.text
    assert "pengawas sesi ini" in r.json()["detail"]
    r = await client.post(f"/api/v1/sessions/{es_id}/publish", headers=await login("pengawas9"))
    assert r.status_code == 403 and r.json()["code"] == "no_decision_permission"

    # an admin who acted as a proctor (admitted a candidate) is involved too
    admin = await make_user("admin", username="admin1")
    reg = (await db.exec(select(Registration).where(Registration.session_id == es_id))).first()
    reg.admitted_by = admin.id
    db.add(reg)
    await db.commit()
    r = await client.post(f"/api/v1/sessions/{es_id}/publish", headers=await login("admin1"))
    assert r.status_code == 403 and r.json()["code"] == "decider_involved"

    r = await client.post(f"/api/v1/sessions/{es_id}/publish", headers=await login("asesor2"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["graded"], body["credentials_issued"], body["decided_by"]) == (1, 1, "asesor2")
    exam = await db.get(ExamSession, es_id, populate_existing=True)
    assert exam.decided_by == other.id and exam.decided_at is not None
    await db.rollback()
    assert plain.id != other.id


async def test_a_declared_conflict_moves_the_candidate_to_another_proctor(
    client, make_user, login, factory, db
) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    es_id = es.id
    p1 = await make_user("proctor", username="pengawas1")
    p2 = await make_user("proctor", username="pengawas2")
    await _proctor(db, es_id, p1)
    await _proctor(db, es_id, p2)
    cand = await factory.candidate("yohanes")
    reg = Registration(session_id=es_id, user_id=cand.id)
    db.add(reg)
    await db.commit()
    reg_id = reg.id
    h1, h2 = await login("pengawas1"), await login("pengawas2")

    r = await client.post(
        f"/api/v1/registrations/{reg_id}/conflicts",
        headers=h1,
        json={"kind": "family", "description": "Peserta adalah ipar saya.", "reassign_to": "pengawas1"},
    )
    assert r.status_code == 422 and r.json()["code"] == "reassign_conflicted"
    r = await client.post(
        f"/api/v1/registrations/{reg_id}/conflicts",
        headers=h1,
        json={"kind": "family", "description": "Peserta adalah ipar saya.", "reassign_to": "pengawas2"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["resolution"] == "reassigned" and r.json()["reassigned_to"] == "pengawas2"

    r = await client.post(f"/api/v1/registrations/{reg_id}/admit", headers=h1)
    assert r.status_code == 403 and r.json()["code"] == "conflict_of_interest"
    r = await client.post(f"/api/v1/registrations/{reg_id}/admit", headers=h2)
    assert r.status_code == 200 and r.json()["status"] == "admitted"

    minutes = (await client.get(f"/api/v1/sessions/{es_id}/minutes", headers=h2)).json()
    [c] = minutes["conflicts"]
    assert (c["proctor"], c["username"], c["kind_text"]) == (
        "pengawas1",
        "yohanes",
        "hubungan keluarga dengan peserta",
    )
    assert "dipindahkan ke pengawas pengawas2" in c["resolution_text"]
