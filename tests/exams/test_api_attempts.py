"""Attempts: forms, time, saving, one device, submit, authorization (issue points 3-7, 9)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlmodel import select

from apkd.accounts.security import Principal
from apkd.audit import AuditEvent
from apkd.banks.models import SchemeUnit
from apkd.banks.service import current_pool
from apkd.db import session_factory, utcnow
from apkd.exams import attempts, proctoring, saving
from apkd.exams.assembly import PoolItem, UnitBlueprint, assemble_form
from apkd.exams.models import Attempt, ResponseHistory


def principal_of(headers: dict[str, str]) -> Principal:
    claims = jwt.decode(headers["Authorization"].split()[1], options={"verify_signature": False})
    return Principal(
        user_id=int(claims["sub"]),
        username=claims["name"],
        role=claims["role"],
        sid=claims["sid"],
        auth_time=claims["auth_time"],
    )


async def audit_actions(engine: Any) -> list[tuple[str, dict[str, Any]]]:
    async with session_factory(engine)() as s:
        rows = (await s.exec(select(AuditEvent).order_by(AuditEvent.seq))).all()
    return [(e.action, json.loads(e.details)) for e in rows]


# --- 3. forms -------------------------------------------------------------------------------------


async def test_form_is_frozen_rebuildable_and_differs_between_neighbours(world, reimport) -> None:
    views = []
    for cand in world.candidates:
        await world.register(cand)
        await world.admit(cand)
        views.append(await world.start(cand))
    async with session_factory(world.engine)() as s:
        attempts = {a.id: a for a in (await s.exec(select(Attempt))).all()}
        a0 = attempts[views[0]["id"]]
        units = (await s.exec(select(SchemeUnit))).all()
        pool = await current_pool(s, a0.form["scheme"]["id"])
    # the form is a function of the stored seed
    rebuilt = assemble_form(
        a0.seed,
        [UnitBlueprint(u.code, u.items_per_form) for u in units],
        [
            PoolItem(ref=iv.id, unit=iv.unit_code, type=iv.type, option_ids=tuple(o[0] for o in iv.options))
            for iv in pool
        ],
    )
    assert [(f.position, f.ref, f.unit, list(f.option_order)) for f in rebuilt] == [
        (i["position"], i["item_version_id"], i["unit"], i["option_order"]) for i in a0.form["items"]
    ]
    # three units' worth drawn without repeats, 3 per unit
    refs = [i["item_version_id"] for i in a0.form["items"]]
    assert len(set(refs)) == 6
    assert sorted(i["unit"] for i in a0.form["items"]) == ["UJI.A"] * 3 + ["UJI.B"] * 3
    # neighbours get different forms
    shapes = [
        tuple((i["item_version_id"], tuple(i["option_order"])) for i in attempts[v["id"]].form["items"])
        for v in views
    ]
    assert len(set(shapes)) == 3
    # options come in the form's order
    for item, frozen in zip(views[0]["items"], a0.form["items"], strict=True):
        assert [o["id"] for o in item["options"]] == frozen["option_order"]

    # a later bank import (every stem edited) changes no running attempt
    await reimport(stem_suffix=" (revisi)")
    h = world.headers[world.candidates[0].username]
    r = await world.client.get(f"/api/v1/attempts/{views[0]['id']}", headers=h)
    assert [i["stem"] for i in r.json()["items"]] == [i["stem"] for i in views[0]["items"]]
    assert all("revisi" not in i["stem"] for i in r.json()["items"])
    async with session_factory(world.engine)() as s:
        again = await s.get(Attempt, views[0]["id"])
    assert again.form == a0.form


# --- 4. time ---------------------------------------------------------------------------------------


async def test_saves_within_grace_accepted_then_closed(running) -> None:
    world, cand, view = running
    c, h, aid = world.client, world.headers[cand.username], view["id"]
    await world.shift(aid, 30 * 60 + 5)  # 5 s past the deadline: in flight, still accepted
    r = await c.put(f"/api/v1/attempts/{aid}/responses/1", json={"response": None, "seq": 1}, headers=h)
    assert r.status_code == 200
    await world.shift(aid, 10)  # 15 s past: refused
    r = await c.put(f"/api/v1/attempts/{aid}/responses/2", json={"response": None, "seq": 1}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "attempt_closed"
    r = await c.post(f"/api/v1/attempts/{aid}/submit", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "attempt_closed"
    r = await c.get(f"/api/v1/attempts/{aid}", headers=h)
    assert r.json()["status"] == "expired" and r.json()["remaining_seconds"] == 0


async def test_pause_freezes_time_and_resume_adds_the_pause(running) -> None:
    world, _cand, view = running
    proctor = principal_of(world.proctor)
    t0 = utcnow()
    async with session_factory(world.engine)() as s:
        a = await proctoring.pause_attempt(s, view["id"], proctor, "listrik padam", now=t0)
        frozen = attempts.attempt_status(a, t0).remaining_seconds
        later = attempts.attempt_status(a, t0 + timedelta(minutes=7))
        assert later.remaining_seconds == frozen and later.status == "paused"
        a = await proctoring.resume_attempt(
            s, view["id"], proctor, "listrik menyala", now=t0 + timedelta(minutes=7)
        )
        st = attempts.attempt_status(a, t0 + timedelta(minutes=7))
        assert st.remaining_seconds == frozen and a.paused_seconds == 420
        assert a.deadline == datetime.fromisoformat(view["deadline"]) + timedelta(minutes=7)
        a = await proctoring.extend_attempt(s, view["id"], proctor, 10, "komputer diganti", now=t0)
        assert a.deadline == datetime.fromisoformat(view["deadline"]) + timedelta(minutes=17)


async def test_proctor_controls_need_a_reason_and_the_right_proctor(running) -> None:
    world, cand, view = running
    c, aid = world.client, view["id"]
    r = await c.post(f"/api/v1/attempts/{aid}/pause", json={"reason": "  "}, headers=world.proctor)
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await c.post(f"/api/v1/attempts/{aid}/pause", json={}, headers=world.proctor)
    assert r.status_code == 400
    r = await c.post(
        f"/api/v1/attempts/{aid}/extend", json={"minutes": 0, "reason": "x"}, headers=world.proctor
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_minutes"
    other = await world.login("pengawas2")
    for action, body in [
        ("pause", {"reason": "x"}),
        ("resume", {"reason": "x"}),
        ("extend", {"minutes": 5, "reason": "x"}),
        ("terminate", {"reason": "x"}),
        ("release", {"reason": "x"}),
    ]:
        r = await c.post(f"/api/v1/attempts/{aid}/{action}", json=body, headers=other)
        assert r.status_code == 403 and r.json()["code"] == "not_your_session", action
        r = await c.post(f"/api/v1/attempts/{aid}/{action}", json=body, headers=world.headers[cand.username])
        assert r.status_code == 403, action
    r = await c.post(
        f"/api/v1/attempts/{aid}/terminate", json={"reason": "keluar ruangan"}, headers=world.proctor
    )
    assert r.status_code == 200 and r.json()["status"] == "terminated" and r.json()["remaining_seconds"] == 0
    r = await c.put(
        f"/api/v1/attempts/{aid}/responses/1",
        json={"response": None, "seq": 1},
        headers=world.headers[cand.username],
    )
    assert r.status_code == 409 and r.json()["code"] == "attempt_closed"
    r = await c.post(
        f"/api/v1/attempts/{aid}/extend", json={"minutes": 5, "reason": "x"}, headers=world.proctor
    )
    assert r.status_code == 409 and r.json()["code"] == "attempt_closed"


async def test_sweeper_closes_each_overdue_attempt_once(world) -> None:
    views = []
    for cand in world.candidates:
        await world.register(cand)
        await world.admit(cand)
        views.append(await world.start(cand))
    for v in views[:2]:
        await world.shift(v["id"], 31 * 60)
    factory = session_factory(world.engine)

    async def sweep() -> int:
        async with factory() as s:
            return await saving.close_overdue(s, utcnow())

    results = await asyncio.gather(*(sweep() for _ in range(4)))
    assert sum(results) == 2
    async with factory() as s:
        status = {a.id: (a.status, a.closed_at, a.deadline) for a in (await s.exec(select(Attempt))).all()}
    assert [status[v["id"]][0] for v in views] == ["expired", "expired", "in_progress"]
    assert status[views[0]["id"]][1] == status[views[0]["id"]][2]  # closed at its deadline
    expired = [d["attempt_ids"] for a, d in await audit_actions(world.engine) if a == "attempt.expired"]
    assert sorted(i for ids in expired for i in ids) == sorted(v["id"] for v in views[:2])


async def test_background_sweeper_runs(world, settings) -> None:
    from types import SimpleNamespace

    from apkd.exams.controllers import overdue_sweeper

    cand = world.candidates[0]
    await world.register(cand)
    await world.admit(cand)
    v = await world.start(cand)
    await world.shift(v["id"], 31 * 60)
    settings = dataclasses.replace(settings, sweep_seconds=0.05)
    app = SimpleNamespace(
        state=SimpleNamespace(session_factory=session_factory(world.engine), settings=settings)
    )
    async with overdue_sweeper(app):  # type: ignore[arg-type]
        for _ in range(200):
            await asyncio.sleep(0.05)
            if (await world.sql("SELECT status FROM attempt"))[0][0] == "expired":
                break
    assert (await world.sql("SELECT status FROM attempt"))[0][0] == "expired"


# --- 5. saving ---------------------------------------------------------------------------------------


async def test_seq_per_item_validation_and_history(running, monkeypatch) -> None:
    world, cand, view = running
    kinds = {"single", "multiple", "numeric"}
    if {i["type"] for i in view["items"]} != kinds:
        # Forms are random: draw the next candidates' forms from fixed seeds until one holds
        # every item type (deterministic, whatever the first random draw was).
        import apkd.exams.attempts as exam_attempts

        seeds = iter(range(1, 1000))
        monkeypatch.setattr(exam_attempts, "new_seed", lambda: next(seeds))
        for other in world.candidates[1:]:
            await world.register(other)
            await world.admit(other)
            cand, view = other, await world.start(other)
            if {i["type"] for i in view["items"]} == kinds:
                break
    c, h, aid = world.client, world.headers[cand.username], view["id"]
    items = {i["position"]: i for i in view["items"]}
    single = next(p for p, i in items.items() if i["type"] == "single")
    multiple = next(p for p, i in items.items() if i["type"] == "multiple")
    numeric = next(p for p, i in items.items() if i["type"] == "numeric")
    opt = [o["id"] for o in items[single]["options"]]

    async def put(pos: int, response: Any, seq: int) -> Any:
        return await c.put(
            f"/api/v1/attempts/{aid}/responses/{pos}", json={"response": response, "seq": seq}, headers=h
        )

    assert (await put(single, opt[0], 5)).status_code == 200
    for stale in (5, 4):
        r = await put(single, opt[1], stale)
        assert r.status_code == 409 and r.json()["code"] == "stale_seq"
    assert (await put(single, opt[1], 6)).status_code == 200
    assert (await put(numeric, "2.500,5", 1)).status_code == 200  # seq is per item
    assert (await put(multiple, ["d", "a"], 1)).status_code == 200
    for pos, bad in [
        (single, "z"),
        (single, ["a"]),
        (multiple, "a"),
        (multiple, ["a", "a"]),
        (numeric, "2500.5"),
        (numeric, True),
    ]:
        r = await put(pos, bad, 99)
        assert r.status_code == 422 and r.json()["code"] == "invalid_response", bad
    r = await put(99, None, 1)
    assert r.status_code == 404
    r = await c.put(f"/api/v1/attempts/{aid}/responses/1", json={"response": None}, headers=h)
    assert r.status_code == 400
    r = await c.put(f"/api/v1/attempts/{aid}/responses/1", json={"response": None, "seq": -1}, headers=h)
    assert r.status_code == 422
    assert (await put(single, None, 7)).status_code == 200  # null clears

    view2 = (await c.get(f"/api/v1/attempts/{aid}", headers=h)).json()
    got = {i["position"]: i["response"] for i in view2["items"]}
    assert got[single] is None and got[numeric] == 2500.5 and got[multiple] == ["a", "d"]
    async with session_factory(world.engine)() as s:
        hist = (
            await s.exec(
                select(ResponseHistory).where(ResponseHistory.attempt_id == aid).order_by(ResponseHistory.id)
            )
        ).all()
    assert [(x.position, x.seq, x.response) for x in hist] == [
        (single, 5, opt[0]),
        (single, 6, opt[1]),
        (numeric, 1, 2500.5),
        (multiple, 1, ["a", "d"]),
        (single, 7, None),
    ]
    assert all(x.sid == principal_of(h).sid for x in hist)


async def test_concurrent_saves_keep_the_highest_seq(running) -> None:
    world, cand, view = running
    c, h, aid = world.client, world.headers[cand.username], view["id"]
    item = next(i for i in view["items"] if i["type"] == "single")
    ids = [o["id"] for o in item["options"]]
    rs = await asyncio.gather(
        *(
            c.put(
                f"/api/v1/attempts/{aid}/responses/{item['position']}",
                json={"response": ids[n % 4], "seq": n},
                headers=h,
            )
            for n in range(1, 13)
        )
    )
    assert {r.status_code for r in rs} <= {200, 409}
    assert 12 in [r.json()["seq"] for r in rs if r.status_code == 200]
    rows = await world.sql(
        "SELECT seq FROM response WHERE attempt_id = :a AND position = :p", a=aid, p=item["position"]
    )
    assert rows[0][0] == 12
    hist = await world.sql("SELECT count(*) FROM response_history WHERE attempt_id = :a", a=aid)
    assert hist[0][0] == sum(r.status_code == 200 for r in rs)


# --- 6. one device -----------------------------------------------------------------------------------


async def test_one_device_until_released(running) -> None:
    world, cand, view = running
    c, aid = world.client, view["id"]
    first = world.headers[cand.username]
    second = await world.login(cand.username)  # a new login: another sid
    assert principal_of(second).sid != principal_of(first).sid
    body = {"response": None, "seq": 1}
    for call in (
        c.put(f"/api/v1/attempts/{aid}/responses/1", json=body, headers=second),
        c.get(f"/api/v1/attempts/{aid}", headers=second),
        c.post(f"/api/v1/attempts/{aid}/submit", headers=second),
        c.post(f"/api/v1/sessions/{world.session_id}/attempts", headers=second),
    ):
        r = await call
        assert r.status_code == 409 and r.json()["code"] == "other_device", r.text
    # a refreshed token of the first login still holds it
    r = await c.post("/api/v1/auth/refresh", headers=first)
    refreshed = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (
        await c.put(f"/api/v1/attempts/{aid}/responses/1", json=body, headers=refreshed)
    ).status_code == 200

    r = await c.post(
        f"/api/v1/attempts/{aid}/release", json={"reason": "komputer rusak"}, headers=world.proctor
    )
    assert r.status_code == 200 and r.json()["bound"] is False
    r = await c.put(f"/api/v1/attempts/{aid}/responses/1", json={"response": None, "seq": 2}, headers=second)
    assert r.status_code == 200
    r = await c.put(f"/api/v1/attempts/{aid}/responses/1", json={"response": None, "seq": 3}, headers=first)
    assert r.status_code == 409 and r.json()["code"] == "attempt_moved"  # released: refused for good
    assert (await c.get(f"/api/v1/attempts/{aid}", headers=second)).status_code == 200
    actions = await audit_actions(world.engine)
    names = [a for a, _ in actions]
    assert "proctor.release" in names and "attempt.bound" in names
    assert dict(actions)["proctor.release"]["reason"] == "komputer rusak"


async def test_released_login_cannot_take_the_attempt_back(running) -> None:
    """Issue 13 point 7: the old tab's poll after a release is refused (409 attempt_moved) and
    stays refused; the roster says the attempt waits for a new device until a new login takes it."""
    world, cand, view = running
    c, aid = world.client, view["id"]
    old = world.headers[cand.username]
    r = await c.post(
        f"/api/v1/attempts/{aid}/release", json={"reason": "pindah komputer"}, headers=world.proctor
    )
    assert r.status_code == 200

    def row(roster: list[dict]) -> dict:
        return next(e for e in roster if e["attempt_id"] == aid)

    roster = (await c.get(f"/api/v1/sessions/{world.session_id}/roster", headers=world.proctor)).json()
    assert row(roster)["awaiting_device"] is True
    for _ in range(2):  # the old tab polls first, twice: it never re-claims the attempt
        r = await c.get(f"/api/v1/attempts/{aid}", headers=old)
        assert r.status_code == 409 and r.json()["code"] == "attempt_moved", r.text
        assert "komputer lain" in r.json()["detail"]
        r = await c.put(f"/api/v1/attempts/{aid}/responses/1", json={"response": None, "seq": 9}, headers=old)
        assert r.status_code == 409 and r.json()["code"] == "attempt_moved"
    refreshed = await c.post("/api/v1/auth/refresh", headers=old)
    again = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert (await c.get(f"/api/v1/attempts/{aid}", headers=again)).json()["code"] == "attempt_moved"
    roster = (await c.get(f"/api/v1/sessions/{world.session_id}/roster", headers=world.proctor)).json()
    assert row(roster)["awaiting_device"] is True
    new = await world.login(cand.username)
    assert (await c.get(f"/api/v1/attempts/{aid}", headers=new)).status_code == 200
    roster = (await c.get(f"/api/v1/sessions/{world.session_id}/roster", headers=world.proctor)).json()
    assert row(roster)["awaiting_device"] is False
    r = await c.post(f"/api/v1/attempts/{aid}/submit", headers=old)
    assert r.status_code == 409 and r.json()["code"] == "attempt_moved"


# --- 7. submit ---------------------------------------------------------------------------------------


async def test_racing_submits_give_one_submission(running) -> None:
    world, cand, view = running
    c, h, aid = world.client, world.headers[cand.username], view["id"]
    rs = await asyncio.gather(*(c.post(f"/api/v1/attempts/{aid}/submit", headers=h) for _ in range(5)))
    assert [r.status_code for r in rs] == [200] * 5
    assert len({r.json()["submitted_at"] for r in rs}) == 1
    assert all(r.json()["status"] == "submitted" and r.json()["id"] == aid for r in rs)
    assert [a for a, _ in await audit_actions(world.engine)].count("attempt.submitted") == 1


async def test_racing_starts_give_one_attempt(world) -> None:
    cand = world.candidates[0]
    await world.register(cand)
    await world.admit(cand)
    h = world.headers[cand.username]
    rs = await asyncio.gather(
        *(world.client.post(f"/api/v1/sessions/{world.session_id}/attempts", headers=h) for _ in range(4))
    )
    assert [r.status_code for r in rs] == [201] * 4
    assert len({r.json()["id"] for r in rs}) == 1
    assert (await world.sql("SELECT count(*) FROM attempt"))[0][0] == 1


# --- 9. authorization ---------------------------------------------------------------------------------

SCORING_KEYS = {"answer", "tolerance", "points", "reference", "seed"}


def scan(value: Any, path: str = "$") -> list[str]:
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k in SCORING_KEYS:
                found.append(f"{path}.{k}")
            found += scan(v, f"{path}.{k}")
    elif isinstance(value, list):
        for n, v in enumerate(value):
            found += scan(v, f"{path}[{n}]")
    return found


async def test_candidates_see_only_their_attempts_and_never_a_key(world) -> None:
    c = world.client
    seen: list[Any] = []
    a, b = world.candidates[0], world.candidates[1]
    ha, hb = world.headers[a.username], world.headers[b.username]
    for cand in (a, b):
        await world.register(cand)
        await world.admit(cand)
    r = await c.post(f"/api/v1/sessions/{world.session_id}/attempts", headers=ha)
    seen.append(r)
    va = r.json()
    r = await c.post(f"/api/v1/sessions/{world.session_id}/attempts", headers=hb)
    seen.append(r)
    vb = r.json()
    for item in va["items"]:
        body = {"response": item["options"][0]["id"] if item["options"] else 1000, "seq": 1}
        seen.append(
            await c.put(f"/api/v1/attempts/{va['id']}/responses/{item['position']}", json=body, headers=ha)
        )
        seen.append(
            await c.put(f"/api/v1/attempts/{va['id']}/responses/{item['position']}", json=body, headers=ha)
        )
    seen.append(
        await c.put(f"/api/v1/attempts/{va['id']}/responses/1", json={"response": "zz", "seq": 9}, headers=ha)
    )
    seen.append(await c.get(f"/api/v1/attempts/{va['id']}", headers=ha))
    # b cannot read or write a's attempt
    r = await c.get(f"/api/v1/attempts/{va['id']}", headers=hb)
    assert r.status_code == 403 and r.json()["code"] == "not_your_attempt"
    seen.append(r)
    r = await c.put(f"/api/v1/attempts/{va['id']}/responses/1", json={"response": None, "seq": 5}, headers=hb)
    assert r.status_code == 403
    seen.append(r)
    r = await c.post(f"/api/v1/attempts/{va['id']}/submit", headers=hb)
    assert r.status_code == 403
    seen.append(r)
    seen.append(await c.post(f"/api/v1/attempts/{va['id']}/submit", headers=ha))
    seen.append(await c.get(f"/api/v1/attempts/{va['id']}", headers=ha))
    seen.append(await c.get(f"/api/v1/attempts/{vb['id']}", headers=hb))
    seen.append(await c.get("/api/v1/attempts/424242", headers=ha))
    # a proctor of another session sees nothing; the session's proctor and admin do
    other = await world.login("pengawas2")
    assert (await c.get(f"/api/v1/attempts/{va['id']}", headers=other)).status_code == 403
    assert (await c.get(f"/api/v1/attempts/{va['id']}", headers=world.proctor)).status_code == 200
    assert (await c.get(f"/api/v1/attempts/{va['id']}", headers=world.admin)).status_code == 200
    # candidates cannot use staff routes
    assert (await c.get(f"/api/v1/sessions/{world.session_id}/minutes", headers=ha)).status_code == 403

    for r in seen:
        body = r.json()
        assert scan(body) == [], (r.request.url, scan(body))
        assert '"answer"' not in r.text and "tolerance" not in r.text and '"points"' not in r.text
    for item in va["items"]:
        assert set(item) == {"position", "type", "stem", "options", "response", "unit", "flagged"}


async def test_a_stale_cached_form_is_never_used(running) -> None:
    """Forms are cached per attempt id; a cached copy that does not belong to the attempt
    (an id reused after the database was emptied, as in tests) is detected and dropped."""
    from apkd.exams import saving

    world, cand, view = running
    c, h, aid = world.client, world.headers[cand.username], view["id"]
    single = next(i for i in view["items"] if i["type"] == "single")
    saving.cache_form(aid, saving.FormInfo(user_id=cand.id + 1, session_id=0, seed=1, items={}))
    r = await c.put(
        f"/api/v1/attempts/{aid}/responses/{single['position']}",
        json={"response": single["options"][0]["id"], "seq": 1},
        headers=h,
    )
    assert r.status_code == 200, r.text
    wrong = {i["position"]: ("numeric", ()) for i in view["items"]}
    saving.cache_form(aid, saving.FormInfo(user_id=cand.id, session_id=world.session_id, seed=1, items=wrong))
    r = await c.put(
        f"/api/v1/attempts/{aid}/responses/{single['position']}", json={"response": 5, "seq": 2}, headers=h
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_response"
    stored = await world.sql("SELECT seq FROM response WHERE attempt_id = :a", a=aid)
    assert [row[0] for row in stored] == [1]
