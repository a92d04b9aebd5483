"""Issue 14 point 6: the audit trail through the API (admin, auditor): filters by actor, action
and time; the chain check says whole, or names the first broken event."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from apkd import audit
from apkd.db import session_factory, utcnow


async def test_audit_trail_filters_and_chain_check(client, clean, make_user, login) -> None:
    await make_user("admin", username="admin1")
    await make_user("auditor", username="auditor1")
    await make_user("proctor", username="pengawas1")
    async with session_factory(clean)() as s:
        for i in range(3):
            await audit.record(
                s, "credential.revoked", "credential", f"N{i}", actor="admin1", details={"i": i}
            )
        await audit.record(s, "session.created", "exam_session", 7, actor="budi", details={"title": "Sesi"})
        await s.commit()
    h = await login("auditor1")
    r = await client.get("/api/v1/audit", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] >= 4 and body["items"][0]["seq"] > body["items"][-1]["seq"]  # newest first
    assert "credential.revoked" in body["actions"]
    r = await client.get("/api/v1/audit", params={"actor": "budi"}, headers=h)
    assert [e["action"] for e in r.json()["items"]] == ["session.created"]
    assert r.json()["items"][0]["details"] == {"title": "Sesi"}
    r = await client.get("/api/v1/audit", params={"action": "credential."}, headers=h)
    assert r.json()["total"] == 3 and {e["subject_id"] for e in r.json()["items"]} == {"N0", "N1", "N2"}
    later = (utcnow() + timedelta(hours=1)).isoformat()
    r = await client.get("/api/v1/audit", params={"since": later}, headers=h)
    assert r.json()["total"] == 0
    r = await client.get("/api/v1/audit", params={"since": later, "until": utcnow().isoformat()}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "invalid_window"
    r = await client.get("/api/v1/audit", params={"per_page": 2, "page": 2}, headers=h)
    assert r.json()["page"] == 2 and len(r.json()["items"]) == 2
    r = await client.get("/api/v1/audit", params={"per_page": 5000}, headers=h)
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/v1/audit", headers=await login("pengawas1"))).status_code == 403
    assert (await client.get("/api/v1/audit/verify", headers=await login("pengawas1"))).status_code == 403

    r = await client.get("/api/v1/audit/verify", headers=h)
    assert r.status_code == 200 and r.json()["ok"] is True and r.json()["checked"] == r.json()["head_seq"]
    assert r.json()["message"].startswith("Rantai audit utuh")
    async with clean.begin() as conn:
        await conn.execute(
            text("UPDATE audit_event SET details = :d WHERE subject_id = 'N1'"), {"d": '{"i":99}'}
        )
    r = await client.get("/api/v1/audit/verify", headers=await login("admin1"))
    check = r.json()
    assert check["ok"] is False and check["broken_at"] and "RUSAK" in check["message"]
