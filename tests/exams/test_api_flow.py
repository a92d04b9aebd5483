"""The whole flow through the HTTP API: create session, register, admit, start, save, pause,
extend, submit, and an expiry (runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta


def parse(ts: str) -> datetime:
    dt = datetime.fromisoformat(ts)
    assert dt.tzinfo is not None, ts
    return dt


def answer_for(item: dict) -> object:
    if item["type"] == "single":
        return item["options"][0]["id"]
    if item["type"] == "multiple":
        return [item["options"][1]["id"], item["options"][0]["id"]]
    return "1500"


async def test_whole_flow(world) -> None:
    c = world.client
    cand, other = world.candidates[0], world.candidates[1]
    h = world.headers[cand.username]

    r = await c.get(f"/api/v1/sessions/{world.session_id}", headers=world.proctor)
    assert r.status_code == 200
    s = r.json()
    assert s["timezone"] == "Asia/Makassar" and s["proctors"] == ["pengawas1"] and s["scheme_code"] == "UJI"
    assert parse(s["starts_at"]).utcoffset() == timedelta(hours=8)

    await world.register(cand)
    await world.register(other)
    r = await c.post(
        f"/api/v1/sessions/{world.session_id}/registrations",
        json={"username": cand.username},
        headers=world.admin,
    )
    assert r.status_code == 409 and r.json()["code"] == "already_registered"

    # not admitted yet: 403
    r = await c.post(f"/api/v1/sessions/{world.session_id}/attempts", headers=h)
    assert r.status_code == 403 and r.json()["code"] == "not_admitted"
    await world.admit(cand)
    r = await c.post(
        f"/api/v1/registrations/{world.registrations[cand.username]}/admit", headers=world.proctor
    )
    assert r.status_code == 200 and r.json()["status"] == "admitted"

    view = await world.start(cand)
    assert view["status"] == "in_progress" and view["scheme_code"] == "UJI"
    assert len(view["items"]) == 6 and [i["position"] for i in view["items"]] == list(range(1, 7))
    started, dl, st = parse(view["started_at"]), parse(view["deadline"]), parse(view["server_time"])
    assert dl - started == timedelta(minutes=30)
    assert (
        0 < view["remaining_seconds"] <= 1800
        and abs((dl - st).total_seconds() - view["remaining_seconds"]) <= 1
    )
    for item in view["items"]:
        assert set(item) <= {"position", "type", "stem", "options", "response", "unit", "flagged"}
        assert {"position", "type", "stem", "options", "response"} <= set(item)
        assert item["response"] is None
    # a second start returns the same attempt
    again = await world.start(cand)
    assert again["id"] == view["id"] and again["items"] == view["items"]

    aid = view["id"]
    for item in view["items"]:
        r = await c.put(
            f"/api/v1/attempts/{aid}/responses/{item['position']}",
            json={"response": answer_for(item), "seq": 1, "current_position": item["position"]},
            headers=h,
        )
        assert r.status_code == 200, r.text
        assert r.json()["position"] == item["position"] and r.json()["seq"] == 1
        parse(r.json()["saved_at"])

    r = await c.get(f"/api/v1/attempts/{aid}", headers=h)
    saved = {i["position"]: i["response"] for i in r.json()["items"]}
    for item in view["items"]:
        expected = answer_for(item)
        if item["type"] == "multiple":
            expected = sorted(expected)
        if item["type"] == "numeric":
            expected = 1500
        assert saved[item["position"]] == expected

    # pause: saves refused with attempt_paused, remaining frozen
    r = await c.post(f"/api/v1/attempts/{aid}/pause", json={"reason": "listrik padam"}, headers=world.proctor)
    assert r.status_code == 200 and r.json()["status"] == "paused"
    r = await c.put(f"/api/v1/attempts/{aid}/responses/1", json={"response": None, "seq": 2}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "attempt_paused"
    r = await c.post(
        f"/api/v1/attempts/{aid}/resume", json={"reason": "listrik menyala"}, headers=world.proctor
    )
    assert r.status_code == 200 and r.json()["status"] == "in_progress"

    # extend by 5 minutes: deadline moves 5 minutes (plus the pause, at most a few seconds)
    before = parse(r.json()["deadline"])
    r = await c.post(
        f"/api/v1/attempts/{aid}/extend",
        json={"minutes": 5, "reason": "gangguan komputer"},
        headers=world.proctor,
    )
    assert r.status_code == 200
    assert parse(r.json()["deadline"]) - before == timedelta(minutes=5)

    r = await c.get(f"/api/v1/sessions/{world.session_id}/roster", headers=world.proctor)
    assert r.status_code == 200
    roster = {e["username"]: e for e in r.json()}
    assert roster[cand.username]["status"] == "in_progress" and roster[cand.username]["attempt_id"] == aid
    assert roster[cand.username]["remaining_seconds"] > 1800
    assert roster[cand.username]["last_saved_at"] is not None
    assert roster[other.username]["status"] == "registered" and roster[other.username]["attempt_id"] is None

    r = await c.post(f"/api/v1/attempts/{aid}/submit", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    first = r.json()
    r = await c.post(f"/api/v1/attempts/{aid}/submit", headers=h)
    assert r.status_code == 200 and r.json() == first
    r = await c.put(f"/api/v1/attempts/{aid}/responses/1", json={"response": None, "seq": 9}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "attempt_closed"

    # expiry: the second candidate starts, time runs out, the next access closes it, answers kept
    await world.admit(other)
    ho = world.headers[other.username]
    v2 = await world.start(other)
    item = v2["items"][0]
    r = await c.put(
        f"/api/v1/attempts/{v2['id']}/responses/1", json={"response": answer_for(item), "seq": 1}, headers=ho
    )
    assert r.status_code == 200
    await world.shift(v2["id"], 30 * 60 + 11)
    r = await c.put(f"/api/v1/attempts/{v2['id']}/responses/2", json={"response": None, "seq": 1}, headers=ho)
    assert r.status_code == 409 and r.json()["code"] == "attempt_closed"
    r = await c.get(f"/api/v1/attempts/{v2['id']}", headers=ho)
    assert r.json()["status"] == "expired" and r.json()["remaining_seconds"] == 0
    assert r.json()["items"][0]["response"] is not None

    r = await c.get(f"/api/v1/sessions/{world.session_id}/minutes", headers=world.proctor)
    assert r.status_code == 200
    m = r.json()
    assert m["counts"]["registered"] == 2 and m["counts"]["admitted"] == 2 and m["counts"]["started"] == 2
    assert m["counts"]["submitted"] == 1 and m["counts"]["expired"] == 1 and m["counts"]["absent"] == 0
    acts = [a["action"] for a in m["proctor_actions"]]
    assert acts.count("admit") == 2 and {"pause", "resume", "extend"} <= set(acts)
