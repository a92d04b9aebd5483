"""Publishing a session's results: the right outcomes, idempotent, and the result endpoint."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from gradingkit import KEYS, WRONG, right
from sqlalchemy import func
from sqlmodel import select

from apkd.audit import AuditEvent
from apkd.db import session_factory
from apkd.exams.models import Attempt, ExamSession
from apkd.grading import publishing
from apkd.grading.models import Result


async def _scenario(factory):
    bank = await factory.bank()
    es = await factory.session(bank)
    people = {}

    async def sit(name, answers, **kw):
        user = await factory.candidate(name, full_name=name.replace("_", " ").title())
        people[name] = (user, await factory.attempt(es, bank, user, answers, **kw))

    await sit("semua_benar", dict(KEYS))  # 9/9
    await sit("semua_salah", dict(WRONG))  # 0/9
    await sit("campuran_lulus", right("A1", "A2", "B1", "B2"))  # 8/9, A 2/3
    await sit("campuran_gagal", right("A1", "A2", "A3", "B1"))  # 6/9 = 66.67
    await sit("unit_gagal", right("A1", "B1", "B2"))  # 7/9 = 77.78 but unit A 1/3 < 60
    await sit("kosong", {})  # nothing answered
    await sit("waktu_habis", dict(KEYS), status="expired", close_reason="deadline")
    await sit("dihentikan", dict(KEYS), status="terminated", close_reason="membawa catatan")
    await sit("lewat_batas", dict(KEYS), status="in_progress", deadline_in=timedelta(minutes=-5))
    await sit("masih_ujian", dict(KEYS), status="in_progress", deadline_in=timedelta(minutes=30))
    return bank, es, people


EXPECTED = {
    "semua_benar": (100.0, "kompeten", {"TST.A": (100.0, True), "TST.B": (100.0, True)}),
    "semua_salah": (0.0, "belum_kompeten", {"TST.A": (0.0, False), "TST.B": (0.0, False)}),
    "campuran_lulus": (88.88, "kompeten", {"TST.A": (66.66, True), "TST.B": (100.0, True)}),
    "campuran_gagal": (66.66, "belum_kompeten", {"TST.A": (100.0, True), "TST.B": (50.0, True)}),
    "unit_gagal": (77.77, "belum_kompeten", {"TST.A": (33.33, False), "TST.B": (100.0, True)}),
    "kosong": (0.0, "belum_kompeten", {"TST.A": (0.0, False), "TST.B": (0.0, False)}),
    "waktu_habis": (100.0, "kompeten", {"TST.A": (100.0, True), "TST.B": (100.0, True)}),
    "dihentikan": (100.0, "belum_kompeten", {"TST.A": (100.0, True), "TST.B": (100.0, True)}),
    "lewat_batas": (100.0, "kompeten", {"TST.A": (100.0, True), "TST.B": (100.0, True)}),
}


async def test_publish_grades_closed_attempts_with_the_right_outcomes(
    client, make_user, login, factory, recorded_effects, db
) -> None:
    _bank, es, people = await _scenario(factory)
    await make_user("admin", username="admin1")
    h = await login("admin1")

    r = await client.post(f"/api/v1/sessions/{es.id}/publish", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    # 8 closed + 1 overdue closed by the sweep; the one still sitting is left for later.
    assert body["graded"] == 9 and body["passed"] == 4 and body["still_open"] == 1
    assert body["credentials_issued"] == 4 and len(recorded_effects.issued) == 4

    for name, (score, outcome, units) in EXPECTED.items():
        _user, attempt = people[name]
        r = await client.get(f"/api/v1/attempts/{attempt.id}/result", headers=h)
        assert r.status_code == 200, (name, r.text)
        res = r.json()
        assert (res["attempt_id"], res["score"], res["outcome"]) == (attempt.id, score, outcome), name
        assert res["passed"] is (outcome == "kompeten"), name
        assert {u["code"]: (u["score"], u["passed"]) for u in res["units"]} == units, name
    terminated = (await client.get(f"/api/v1/attempts/{people['dihentikan'][1].id}/result", headers=h)).json()
    assert "membawa catatan" in terminated["reason"]

    # The overdue attempt was closed as expired; the one still in time is untouched and ungraded.
    overdue, sitting, es_id = people["lewat_batas"][1].id, people["masih_ujian"][1].id, es.id
    db.expire_all()
    assert (await db.get(Attempt, overdue)).status == "expired"
    assert (await db.get(Attempt, sitting)).status == "in_progress"
    assert (await db.get(ExamSession, es_id)).results_published_at is not None
    await db.rollback()  # SQLite: a transaction holds the write lock; let the app in
    r = await client.get(f"/api/v1/attempts/{sitting}/result", headers=h)
    assert r.status_code == 404 and r.json()["code"] == "result_not_found"


async def test_result_records_the_item_versions_and_keys_used(factory, db, recorded_effects) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    user = await factory.candidate()
    attempt = await factory.attempt(es, bank, user, right("A1", "B2"))
    await publishing.publish(db, es.id, decider=await factory.decider())
    result = (await db.exec(select(Result).where(Result.attempt_id == attempt.id))).one()
    by_pos = {i["position"]: i for i in result.items}
    assert [by_pos[p]["item_version_id"] for p in range(1, 6)] == [
        bank.versions[x].id for x in ("A1", "A2", "A3", "B1", "B2")
    ]
    assert by_pos[1]["answer"] == "a" and by_pos[4]["answer"] == ["a", "c"] and by_pos[5]["answer"] == 1100000
    assert [by_pos[p]["earned"] for p in range(1, 6)] == [1, 0, 0, 0, 3]
    assert [by_pos[p]["points"] for p in range(1, 6)] == [1, 1, 1, 3, 3]
    assert not any(i["voided"] for i in result.items)


async def test_publishing_again_changes_nothing(
    client, make_user, login, factory, recorded_effects, db
) -> None:
    _bank, es, _people = await _scenario(factory)
    es_id = es.id
    await make_user("admin", username="admin1")
    h = await login("admin1")
    first = (await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)).json()
    snapshot = [
        (r.attempt_id, r.score, r.outcome, r.revision, r.graded_at)
        for r in (await db.exec(select(Result).order_by(Result.attempt_id))).all()
    ]
    events = (await db.exec(select(func.count()).select_from(AuditEvent))).one()
    await db.rollback()

    r = await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)
    assert r.status_code == 200
    again = r.json()
    assert (again["graded"], again["passed"], again["credentials_issued"]) == (0, 0, 0)
    assert again["total_graded"] == first["total_graded"] == 9
    assert again["published_at"] == first["published_at"]
    db.expire_all()
    assert [
        (r.attempt_id, r.score, r.outcome, r.revision, r.graded_at)
        for r in (await db.exec(select(Result).order_by(Result.attempt_id))).all()
    ] == snapshot
    assert (await db.exec(select(func.count()).select_from(AuditEvent))).one() == events
    assert len(recorded_effects.issued) == 4


async def test_two_publishes_at_once_grade_each_attempt_once(factory, engine, db, recorded_effects) -> None:
    _bank, es, _people = await _scenario(factory)
    factory_ = session_factory(engine)
    decider = await factory.decider()

    async def go():
        async with factory_() as s:
            out = await publishing.publish(s, es.id, decider=decider)
            await s.commit()
            return out

    a, b = await asyncio.gather(go(), go())
    assert sorted([a.graded, b.graded]) == [0, 9]
    assert a.credentials_issued + b.credentials_issued == 4
    count = (await db.exec(select(func.count()).select_from(Result).where(Result.session_id == es.id))).one()
    assert count == 9


async def test_an_attempt_closed_after_publishing_is_graded_by_the_next_publish(
    factory, db, recorded_effects
) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    early = await factory.attempt(es, bank, await factory.candidate(), dict(KEYS))
    late = await factory.attempt(
        es,
        bank,
        await factory.candidate(),
        dict(KEYS),
        status="in_progress",
        deadline_in=timedelta(minutes=20),
    )
    first = await publishing.publish(db, es.id, decider=await factory.decider())
    assert (first.graded, first.still_open) == (1, 1)
    late_id = late.id
    late_row = await db.get(Attempt, late_id)
    late_row.status = "submitted"
    await db.commit()
    second = await publishing.publish(db, es.id, decider=await factory.decider())
    assert (second.graded, second.passed, second.total_graded, second.still_open) == (1, 1, 2, 0)
    assert early.id != late.id


async def test_candidate_sees_own_result_only_once_published(
    client, make_user, login, factory, recorded_effects
) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    mine_user = await factory.candidate("budi")
    other_user = await factory.candidate("sari")
    mine = await factory.attempt(es, bank, mine_user, dict(KEYS))
    other = await factory.attempt(es, bank, other_user, dict(WRONG))
    await make_user("admin", username="admin1")
    await make_user("proctor", username="pengawas1")
    await make_user("auditor", username="auditor1")
    admin, budi = await login("admin1"), await login("budi")

    r = await client.get(f"/api/v1/attempts/{mine.id}/result", headers=budi)
    assert r.status_code == 403 and r.json()["code"] == "results_not_published"
    assert "belum diumumkan" in r.json()["detail"]

    assert (await client.post(f"/api/v1/sessions/{es.id}/publish", headers=budi)).status_code == 403
    assert (await client.post(f"/api/v1/sessions/{es.id}/publish", headers=admin)).status_code == 200

    r = await client.get(f"/api/v1/attempts/{mine.id}/result", headers=budi)
    assert r.status_code == 200 and r.json()["outcome"] == "kompeten"
    assert "items" not in r.json() and "answer" not in r.text
    r = await client.get(f"/api/v1/attempts/{other.id}/result", headers=budi)
    assert r.status_code == 403 and r.json()["code"] == "not_your_attempt"
    for who in ("pengawas1", "auditor1"):
        r = await client.get(f"/api/v1/attempts/{mine.id}/result", headers=await login(who))
        assert r.status_code == 403
    assert (await client.get("/api/v1/attempts/999999/result", headers=admin)).status_code == 404


async def test_publish_unknown_session_is_404(client, make_user, login) -> None:
    await make_user("admin", username="admin1")
    r = await client.post("/api/v1/sessions/424242/publish", headers=await login("admin1"))
    assert r.status_code == 404 and r.json()["code"] == "session_not_found"
