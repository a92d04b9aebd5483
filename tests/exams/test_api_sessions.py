"""Sessions, registrations, admission, roster, incidents and minutes (issue points 1, 2, 8)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import select

from apkd.audit import AuditEvent
from apkd.db import session_factory, utcnow


async def test_create_session_defaults_and_validation(world) -> None:
    c, admin = world.client, world.admin
    now = utcnow()
    base = {
        "scheme_code": "UJI",
        "title": "Sesi B",
        "venue": "Aula Kantor Bupati Alor",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=3)).isoformat(),
        "proctors": ["pengawas1", "pengawas2"],
    }
    r = await c.post("/api/v1/sessions", json=base, headers=admin)
    assert r.status_code == 201
    body = r.json()
    assert (
        body["id"] and body["timezone"] == "Asia/Makassar" and body["proctors"] == ["pengawas1", "pengawas2"]
    )
    assert body["starts_at"].endswith("+08:00") and body["starts_at_text"].endswith("WITA")
    r = await c.post(
        "/api/v1/sessions", json={**base, "timezone": "Asia/Jayapura", "capacity": 2}, headers=admin
    )
    assert r.status_code == 201 and r.json()["timezone"] == "Asia/Jayapura" and r.json()["capacity"] == 2
    for patch, code in [
        ({"scheme_code": "TIDAKADA"}, "unknown_scheme"),
        ({"ends_at": (now - timedelta(hours=1)).isoformat()}, "invalid_window"),
        ({"proctors": ["peserta1"]}, "unknown_proctor"),
        ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
        ({"venue": "  "}, "invalid_venue"),
    ]:
        r = await c.post("/api/v1/sessions", json={**base, **patch}, headers=admin)
        assert r.status_code == 422 and r.json()["code"] == code, (patch, r.text)
    r = await c.post("/api/v1/sessions", json={"title": "x"}, headers=admin)
    assert r.status_code == 400
    # only admins create sessions
    r = await c.post("/api/v1/sessions", json=base, headers=world.proctor)
    assert r.status_code == 403


async def test_register_one_per_candidate_and_capacity(world, make_user) -> None:
    c, admin = world.client, world.admin
    now = utcnow()
    r = await c.post(
        "/api/v1/sessions",
        headers=admin,
        json={
            "scheme_code": "UJI",
            "title": "Kecil",
            "venue": "Ruang 2",
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            "proctors": [],
            "capacity": 1,
        },
    )
    small = r.json()["id"]
    r = await c.post(f"/api/v1/sessions/{small}/registrations", json={"username": "peserta1"}, headers=admin)
    assert r.status_code == 201 and r.json() == {
        "id": r.json()["id"],
        "session_id": small,
        "username": "peserta1",
        "status": "registered",
    }
    r = await c.post(f"/api/v1/sessions/{small}/registrations", json={"username": "peserta1"}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "already_registered"
    r = await c.post(f"/api/v1/sessions/{small}/registrations", json={"username": "peserta2"}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "session_full"
    r = await c.post(f"/api/v1/sessions/{small}/registrations", json={"username": "pengawas1"}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "not_a_candidate"
    r = await c.post(f"/api/v1/sessions/{small}/registrations", json={"username": "siapa"}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "unknown_user"
    r = await c.post("/api/v1/sessions/9999/registrations", json={"username": "peserta1"}, headers=admin)
    assert r.status_code == 404


async def test_only_admitted_candidates_start_inside_the_window(world) -> None:
    c = world.client
    cand = world.candidates[0]
    h = world.headers[cand.username]
    r = await c.post(f"/api/v1/sessions/{world.session_id}/attempts", headers=h)
    assert r.status_code == 403 and r.json()["code"] == "not_registered"
    await world.register(cand)
    r = await c.post(f"/api/v1/sessions/{world.session_id}/attempts", headers=h)
    assert r.status_code == 403 and r.json()["code"] == "not_admitted"
    # a proctor of another session cannot admit; an unknown registration is 404
    other = await world.login("pengawas2")
    reg = world.registrations[cand.username]
    r = await c.post(f"/api/v1/registrations/{reg}/admit", headers=other)
    assert r.status_code == 403 and r.json()["code"] == "not_your_session"
    r = await c.post("/api/v1/registrations/9999/admit", headers=world.proctor)
    assert r.status_code == 404
    # candidates cannot admit themselves
    r = await c.post(f"/api/v1/registrations/{reg}/admit", headers=h)
    assert r.status_code == 403
    await world.admit(cand)

    # outside the window: a session that starts tomorrow
    now = utcnow()
    r = await c.post(
        "/api/v1/sessions",
        headers=world.admin,
        json={
            "scheme_code": "UJI",
            "title": "Besok",
            "venue": "Ruang 3",
            "starts_at": (now + timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=1, hours=3)).isoformat(),
            "proctors": ["pengawas1"],
        },
    )
    tomorrow = r.json()["id"]
    r = await c.post(
        f"/api/v1/sessions/{tomorrow}/registrations", json={"username": cand.username}, headers=world.admin
    )
    r2 = await c.post(f"/api/v1/registrations/{r.json()['id']}/admit", headers=world.proctor)
    assert r2.status_code == 200
    r = await c.post(f"/api/v1/sessions/{tomorrow}/attempts", headers=h)
    assert r.status_code == 403 and r.json()["code"] == "outside_session_window"
    # inside the window, admitted: starts
    r = await c.post(f"/api/v1/sessions/{world.session_id}/attempts", headers=h)
    assert r.status_code == 201 and r.json()["status"] == "in_progress"


async def test_roster_shows_status_remaining_and_last_save(running) -> None:
    world, cand, view = running
    c = world.client
    await world.register(world.candidates[1])
    await world.register(world.candidates[2])
    await world.admit(world.candidates[2])
    r = await c.put(
        f"/api/v1/attempts/{view['id']}/responses/1",
        json={"response": None, "seq": 1, "current_position": 4},
        headers=world.headers[cand.username],
    )
    assert r.status_code == 200
    r = await c.get(f"/api/v1/sessions/{world.session_id}/roster", headers=world.proctor)
    assert r.status_code == 200
    by = {e["username"]: e for e in r.json()}
    assert by["peserta1"]["status"] == "in_progress" and 0 < by["peserta1"]["remaining_seconds"] <= 1800
    assert by["peserta1"]["current_position"] == 4
    assert datetime.fromisoformat(by["peserta1"]["last_saved_at"]) <= utcnow()
    assert by["peserta2"]["status"] == "registered" and by["peserta2"]["remaining_seconds"] is None
    assert by["peserta3"]["status"] == "admitted"
    assert {"registration_id", "username", "full_name", "status", "attempt_id", "remaining_seconds"} <= set(
        by["peserta1"]
    )
    # admin sees it too; another proctor and candidates do not
    assert (
        await c.get(f"/api/v1/sessions/{world.session_id}/roster", headers=world.admin)
    ).status_code == 200
    other = await world.login("pengawas2")
    r = await c.get(f"/api/v1/sessions/{world.session_id}/roster", headers=other)
    assert r.status_code == 403 and r.json()["code"] == "not_your_session"
    r = await c.get(f"/api/v1/sessions/{world.session_id}/roster", headers=world.headers["peserta1"])
    assert r.status_code == 403
    r = await c.get(f"/api/v1/sessions/{world.session_id}", headers=other)
    assert r.status_code == 403
    # a proctor lists only their own sessions
    r = await c.get("/api/v1/sessions", headers=other)
    assert r.status_code == 200 and r.json() == []


async def test_roster_closes_an_overdue_attempt_it_shows(running) -> None:
    """The roster reads no forms and runs no UPDATE on a normal poll; an attempt it finds past
    deadline + grace is closed (audited, as the sweeper does) and shown as expired."""
    world, cand, view = running
    c = world.client
    await world.shift(view["id"], 31 * 60)
    r = await c.get(f"/api/v1/sessions/{world.session_id}/roster", headers=world.proctor)
    assert r.status_code == 200
    [entry] = [e for e in r.json() if e["username"] == cand.username]
    assert entry["status"] == "expired" and entry["remaining_seconds"] == 0
    assert (await world.sql("SELECT status FROM attempt WHERE id = :i", i=view["id"]))[0][0] == "expired"
    # unknown sessions and ids no column can hold are 404, never 500
    r = await c.get(f"/api/v1/sessions/{world.session_id + 1000}/roster", headers=world.proctor)
    assert r.status_code == 404 and r.json()["code"] == "session_not_found"
    for sid in (2**31, 2**63):
        r = await c.get(f"/api/v1/sessions/{sid}/roster", headers=world.proctor)
        assert r.status_code == 404, sid


async def test_incidents_and_minutes(running) -> None:
    world, cand, view = running
    c, p = world.client, world.proctor
    aid = view["id"]
    h = world.headers[cand.username]
    await world.register(world.candidates[1])  # registered, never comes: absent
    r = await c.put(
        f"/api/v1/attempts/{aid}/responses/2",
        json={"response": None, "seq": 1, "current_position": 3},
        headers=h,
    )
    assert r.status_code == 200
    r = await c.post(
        f"/api/v1/sessions/{world.session_id}/incidents",
        json={"attempt_id": aid, "category": "technical", "description": "Komputer nomor 7 mati mendadak."},
        headers=p,
    )
    assert r.status_code == 201, r.text
    inc = r.json()
    assert inc["item_position"] == 3 and inc["category"] == "technical" and inc["username"] == cand.username
    r = await c.post(
        f"/api/v1/sessions/{world.session_id}/incidents",
        json={"category": "environment", "description": "Hujan deras, atap bocor di sudut ruangan."},
        headers=p,
    )
    assert r.status_code == 201
    r = await c.post(
        f"/api/v1/sessions/{world.session_id}/incidents",
        json={"category": "cuaca", "description": "x"},
        headers=p,
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_category"
    r = await c.post(
        f"/api/v1/sessions/{world.session_id}/incidents",
        json={"category": "staff", "description": "x"},
        headers=world.headers[cand.username],
    )
    assert r.status_code == 403
    r = await c.post(f"/api/v1/attempts/{aid}/pause", json={"reason": "Komputer mati"}, headers=p)
    assert r.status_code == 200
    r = await c.post(f"/api/v1/attempts/{aid}/terminate", json={"reason": "Peserta menyontek"}, headers=p)
    assert r.status_code == 200 and r.json()["status"] == "terminated"

    r = await c.get(f"/api/v1/sessions/{world.session_id}/minutes", headers=p)
    assert r.status_code == 200
    m = r.json()
    assert m["counts"] == {
        "registered": 2,
        "admitted": 1,
        "started": 1,
        "in_progress": 0,
        "paused": 0,
        "submitted": 0,
        "expired": 0,
        "terminated": 1,
        "absent": 1,
    }
    assert [i["category"] for i in m["incidents"]] == ["technical", "environment"]
    for entry in m["incidents"] + m["proctor_actions"]:
        assert datetime.fromisoformat(entry["created_at"]).utcoffset() == timedelta(hours=8)
        assert entry["created_at_text"].endswith("WITA")
    actions = {a["action"]: a for a in m["proctor_actions"]}
    assert set(actions) == {"admit", "pause", "terminate"}
    assert actions["pause"]["reason"] == "Komputer mati" and actions["pause"]["item_position"] == 3
    assert actions["terminate"]["username"] == cand.username and actions["terminate"]["actor"] == "pengawas1"
    assert m["generated_at_text"].endswith("WITA")

    async with session_factory(world.engine)() as s:
        events = (await s.exec(select(AuditEvent).order_by(AuditEvent.seq))).all()
    by_action = {e.action: json.loads(e.details) for e in events}
    assert by_action["incident.reported"]["item_position"] is None  # the last incident had no attempt
    assert by_action["proctor.pause"]["reason"] == "Komputer mati"
    assert (
        by_action["proctor.pause"]["item_position"] == 3 and by_action["proctor.pause"]["attempt_id"] == aid
    )
    assert by_action["proctor.terminate"]["reason"] == "Peserta menyontek"
