"""Issue 14 point 4: what publishing will do, shown before it is done (graded, passing,
credentials to issue), with the real credential side; nothing is written by the preview."""

from __future__ import annotations

from gradingkit import KEYS, WRONG, right
from sqlmodel import func, select

from apkd.credentials.models import Credential
from apkd.grading.models import Result


async def test_preview_tells_what_publish_then_does(client, make_user, login, factory, db) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    for name, answers in [("lulus1", dict(KEYS)), ("lulus2", dict(KEYS)), ("gagal", dict(WRONG))]:
        await factory.attempt(es, bank, await factory.candidate(name), answers)
    es_id = es.id
    await make_user("admin", username="admin1")
    await make_user("auditor", username="auditor1")
    await make_user("candidate", username="peserta9", nip=None)
    h = await login("admin1")

    r = await client.get(f"/api/v1/sessions/{es_id}/publish/preview", headers=h)
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["to_grade"], p["would_pass"], p["credentials_to_issue"]) == (3, 2, 2)
    assert p["already_graded"] == 0 and p["published_at"] is None and p["may_publish"] is True
    # nothing written
    assert (await db.exec(select(func.count()).select_from(Result))).one() == 0
    assert (await db.exec(select(func.count()).select_from(Credential))).one() == 0
    await db.rollback()

    # the auditor sees it but may not take the decision
    r = await client.get(f"/api/v1/sessions/{es_id}/publish/preview", headers=await login("auditor1"))
    assert r.status_code == 200 and r.json()["may_publish"] is False and r.json()["refusal"]
    r = await client.get(f"/api/v1/sessions/{es_id}/publish/preview", headers=await login("peserta9"))
    assert r.status_code == 403
    r = await client.get("/api/v1/sessions/99999/publish/preview", headers=h)
    assert r.status_code == 404 and r.json()["code"] == "session_not_found"

    r = await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)
    assert (r.json()["graded"], r.json()["passed"], r.json()["credentials_issued"]) == (3, 2, 2)
    r = await client.get(f"/api/v1/sessions/{es_id}/publish/preview", headers=h)
    p = r.json()
    assert (p["to_grade"], p["would_pass"], p["credentials_to_issue"]) == (0, 0, 0)
    assert (p["already_graded"], p["already_passed"]) == (3, 2) and p["published_at"]


async def test_session_results_with_units_and_distribution(client, make_user, login, factory) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    for name, answers in [("Ani", dict(KEYS)), ("Budi", dict(WRONG)), ("Citra", right("A1", "A2", "A3"))]:
        await factory.attempt(es, bank, await factory.candidate(name), answers)
    es_id = es.id
    await make_user("admin", username="admin1")
    await make_user("auditor", username="auditor1")
    await make_user("proctor", username="pengawas9")
    h = await login("admin1")
    r = await client.get(f"/api/v1/sessions/{es_id}/results", headers=h)
    assert (
        r.status_code == 200
        and r.json()["rows"] == []
        and sum(b["count"] for b in r.json()["distribution"]) == 0
    )
    await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)
    r = await client.get(f"/api/v1/sessions/{es_id}/results", headers=await login("auditor1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["units"] == ["TST.A", "TST.B"] and body["pass_score"] == 70 and body["published"] is True
    by_score = sorted((row["score"], row["passed"]) for row in body["rows"])
    assert by_score[0] == (0.0, False) and by_score[-1] == (100.0, True)
    top = next(row for row in body["rows"] if row["score"] == 100.0)
    assert [(u["code"], u["score"], u["passed"]) for u in top["units"]] == [
        ("TST.A", 100.0, True),
        ("TST.B", 100.0, True),
    ]
    bins = body["distribution"]
    assert len(bins) == 10 and bins[0] == {"low": 0, "high": 10, "count": 1} and bins[-1]["count"] == 1
    assert sum(b["count"] for b in bins) == 3 and body["passed"] == sum(
        1 for row in body["rows"] if row["passed"]
    )
    r = await client.get(f"/api/v1/sessions/{es_id}/results", headers=await login("pengawas9"))
    assert r.status_code == 403
