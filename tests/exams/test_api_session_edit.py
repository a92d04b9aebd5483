"""Issue 14 point 2: an admin edits a session (PATCH); times are read and shown in the site's
zone; edits that make no sense once the session has started are refused with 409."""

from __future__ import annotations

from datetime import timedelta

from apkd.db import utcnow


async def _future_session(world) -> int:
    now = utcnow()
    r = await world.client.post(
        "/api/v1/sessions",
        headers=world.admin,
        json={
            "scheme_code": "UJI",
            "title": "Sesi Kupang",
            "venue": "BPSDM Kupang",
            "starts_at": (now + timedelta(days=3)).isoformat(),
            "ends_at": (now + timedelta(days=3, hours=3)).isoformat(),
            "proctors": ["pengawas1"],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_edit_before_start_times_in_the_sites_zone(world) -> None:
    c, admin = world.client, world.admin
    sid = await _future_session(world)
    r = await c.patch(
        f"/api/v1/sessions/{sid}",
        headers=admin,
        json={
            "timezone": "Asia/Jayapura",
            "starts_at": "2031-03-02T08:00:00",
            "ends_at": "2031-03-02T10:30:00",
            "capacity": 30,
            "proctors": ["pengawas2"],
            "venue": "Aula Kantor Gubernur Papua",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # naive times are the site's wall clock: 08:00 WIT is 23:00 UTC the day before
    assert body["starts_at"] == "2031-03-02T08:00:00+09:00" and body["starts_at_text"].endswith("WIT")
    assert body["ends_at"] == "2031-03-02T10:30:00+09:00"
    assert body["capacity"] == 30 and body["proctors"] == ["pengawas2"] and body["started"] is False
    assert body["venue"] == "Aula Kantor Gubernur Papua" and body["title"] == "Sesi Kupang"
    # capacity back to no limit
    r = await c.patch(f"/api/v1/sessions/{sid}", headers=admin, json={"capacity": None})
    assert r.status_code == 200 and r.json()["capacity"] is None
    for patch, status, code in [
        ({"ends_at": "2031-03-02T07:00:00"}, 422, "invalid_window"),
        ({"timezone": "Mars/Olympus"}, 422, "invalid_timezone"),
        ({"proctors": ["peserta1"]}, 422, "unknown_proctor"),
        ({"scheme_code": "TIDAKADA"}, 422, "unknown_scheme"),
        ({"capacity": 0}, 422, "invalid_capacity"),
    ]:
        r = await c.patch(f"/api/v1/sessions/{sid}", headers=admin, json=patch)
        assert r.status_code == status and r.json()["code"] == code, (patch, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await c.patch("/api/v1/sessions/99999", headers=admin, json={"title": "x"})
    assert r.status_code == 404
    # only admins edit; the proctor of the session may not
    r = await c.patch(f"/api/v1/sessions/{sid}", headers=world.proctor, json={"title": "Lain"})
    assert r.status_code == 403
    r = await c.get(f"/api/v1/sessions/{sid}", headers=admin)
    assert r.json()["title"] == "Sesi Kupang"


async def test_a_started_session_keeps_its_scheme_zone_and_start(world) -> None:
    c, admin, sid = world.client, world.admin, world.session_id  # started an hour ago
    assert (await c.get(f"/api/v1/sessions/{sid}", headers=admin)).json()["started"] is True
    for patch in (
        {"starts_at": utcnow().isoformat()},
        {"timezone": "Asia/Jakarta"},
        {"scheme_code": "UJI"},
        {"ends_at": (utcnow() + timedelta(hours=1)).isoformat()},  # earlier than the current end
    ):
        r = await c.patch(f"/api/v1/sessions/{sid}", headers=admin, json=patch)
        assert r.status_code == 409 and r.json()["code"] == "session_started", (patch, r.text)
    later = utcnow() + timedelta(hours=8)
    r = await c.patch(
        f"/api/v1/sessions/{sid}",
        headers=admin,
        json={"ends_at": later.isoformat(), "title": "Sesi diperpanjang"},
    )
    assert r.status_code == 200 and r.json()["title"] == "Sesi diperpanjang"
    await world.register(world.candidates[0])
    await world.register(world.candidates[1])
    r = await c.patch(f"/api/v1/sessions/{sid}", headers=admin, json={"capacity": 1})
    assert r.status_code == 409 and r.json()["code"] == "capacity_below_registered"
    audit = await world.sql("SELECT details FROM audit_event WHERE action = 'session.updated'")
    assert len(audit) == 1 and "Sesi diperpanjang" in audit[0][0]
