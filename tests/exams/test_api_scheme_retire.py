"""Issue 14 point 1: an admin retires a scheme version (with a reason); no new session may use
it, a session already running keeps going and its attempt is untouched; importing another
version brings the scheme back into use."""

from __future__ import annotations

from datetime import timedelta

from apkd.db import utcnow


def _session(version_note: str) -> dict[str, object]:
    now = utcnow()
    return {
        "scheme_code": "UJI",
        "title": f"Sesi {version_note}",
        "venue": "Aula",
        "starts_at": (now + timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=1, hours=2)).isoformat(),
        "proctors": [],
    }


async def test_retired_version_takes_no_new_session(running, reimport) -> None:
    world, cand, view = running
    c, admin = world.client, world.admin
    schemes = {s["code"]: s for s in (await c.get("/api/v1/schemes")).json()}
    assert schemes["UJI"]["retired"] is False and schemes["UJI"]["items"] == {"UJI.A": 6, "UJI.B": 6}
    r = await c.post(
        "/api/v1/schemes/UJI/retire", headers=world.proctor, json={"version": "2026.1", "reason": "x"}
    )
    assert r.status_code == 403
    r = await c.post(
        "/api/v1/schemes/UJI/retire", headers=admin, json={"version": "2025.9", "reason": "Diganti"}
    )
    assert r.status_code == 409 and r.json()["code"] == "scheme_version_mismatch"
    r = await c.post("/api/v1/schemes/UJI/retire", headers=admin, json={"version": "2026.1", "reason": "  "})
    assert r.status_code == 422
    r = await c.post("/api/v1/schemes/NONE/retire", headers=admin, json={"version": "1", "reason": "Diganti"})
    assert r.status_code == 404
    r = await c.post(
        "/api/v1/schemes/UJI/retire", headers=admin, json={"version": "2026.1", "reason": "Permendagri baru"}
    )
    assert r.status_code == 200 and r.json()["retired"] is True and r.json()["retired_at"]
    r = await c.post(
        "/api/v1/schemes/UJI/retire", headers=admin, json={"version": "2026.1", "reason": "Permendagri baru"}
    )
    assert r.status_code == 409 and r.json()["code"] == "scheme_retired"
    # no new session, and no existing one moved onto it
    r = await c.post("/api/v1/sessions", headers=admin, json=_session("baru"))
    assert r.status_code == 409 and r.json()["code"] == "scheme_retired"
    assert r.headers["content-type"].startswith("application/problem+json")
    # the running attempt goes on and is graded as before
    r = await c.get(f"/api/v1/attempts/{view['id']}", headers=world.headers[cand.username])
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    audit = await world.sql("SELECT details FROM audit_event WHERE action = 'scheme.retired'")
    assert len(audit) == 1 and "Permendagri baru" in audit[0][0]
    # a new version is in force again
    await reimport(version="2027.1")
    schemes = {s["code"]: s for s in (await c.get("/api/v1/schemes")).json()}
    assert schemes["UJI"]["version"] == "2027.1" and schemes["UJI"]["retired"] is False
    r = await c.post("/api/v1/sessions", headers=admin, json=_session("versi baru"))
    assert r.status_code == 201
