"""The API calls the exam-room scripts make, in the order they make them, on the demo data.

The scripts (src/apkd/web/static/js/ujian.js and pengawas.js) read exactly the fields asserted
here; a change of the HTTP contract that would break the pages breaks this test first."""

from __future__ import annotations

import io
from typing import Any

from web_support import (
    BPG_SECONDS,
    CANDIDATE_FIELDS,
    CANDIDATE_PASSWORD,
    ITEM_FIELDS,
    MINUTES_ACTION_FIELDS,
    MINUTES_INCIDENT_FIELDS,
    PROCTOR,
    ROSTER_FIELDS,
    SESSION_FIELDS,
    Demo,
    answer_for,
)


async def _login(client: Any, username: str, password: str, role: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["role"] == role and body["expires_in"] > 60
    return {"Authorization": f"Bearer {body['access_token']}"}


async def test_candidate_and_proctor_flow(client, demo: Demo) -> None:
    c = client
    sid = demo.session_id
    proctor = await _login(c, *PROCTOR, role="proctor")
    cand = await _login(c, "yohanes", CANDIDATE_PASSWORD, role="candidate")

    # both pages refresh their token within the same login
    r = await c.post("/api/v1/auth/refresh", headers=cand)
    assert r.status_code == 200 and r.json()["role"] == "candidate"
    cand = {"Authorization": f"Bearer {r.json()['access_token']}"}

    # proctor page: sessions, then one session, then its roster
    r = await c.get("/api/v1/sessions", headers=proctor)
    assert r.status_code == 200
    sessions = r.json()
    assert [s["id"] for s in sessions] == [sid]
    assert set(sessions[0]) >= SESSION_FIELDS and sessions[0]["timezone"] == "Asia/Makassar"
    assert "WITA" in sessions[0]["starts_at_text"]
    r = await c.get(f"/api/v1/sessions/{sid}", headers=proctor)
    assert r.status_code == 200 and set(r.json()) >= SESSION_FIELDS
    roster = (await c.get(f"/api/v1/sessions/{sid}/roster", headers=proctor)).json()
    assert len(roster) == 5 and all(set(e) >= ROSTER_FIELDS for e in roster)
    row = next(e for e in roster if e["username"] == "yohanes")
    assert row["status"] == "registered" and row["attempt_id"] is None and row["remaining_seconds"] is None

    # candidate page: start before being admitted -> waits (403 not_admitted, Indonesian detail)
    r = await c.post(f"/api/v1/sessions/{sid}/attempts", headers=cand)
    assert r.status_code == 403 and r.json()["code"] == "not_admitted"
    assert r.headers["content-type"] == "application/problem+json" and "pengawas" in r.json()["detail"]
    r = await c.post(f"/api/v1/sessions/{sid + 99}/attempts", headers=cand)
    assert r.status_code == 404 and r.json()["detail"]

    # the start page: the briefing (read-only), then arrival (waiting at the door); no clock yet
    r = await c.get(f"/api/v1/sessions/{sid}/briefing", headers=cand)
    assert r.status_code == 200, r.text
    brief = r.json()
    assert brief["candidate"]["full_name"] == "Yohanes Mau" and brief["candidate"]["nip"]
    assert brief["scheme"]["items"] > 0 and brief["scheme"]["duration_minutes"] == BPG_SECONDS // 60
    assert len(brief["rules"]) >= 5 and brief["admitted"] is False and brief["attempt_id"] is None
    assert any("75.000" in rule for rule in brief["rules"])
    row = next(
        e
        for e in (await c.get(f"/api/v1/sessions/{sid}/roster", headers=proctor)).json()
        if e["username"] == "yohanes"
    )
    assert row["waiting"] is False  # not at the door yet: "belum hadir"
    r = await c.post(f"/api/v1/sessions/{sid}/arrival", headers=cand)
    assert r.status_code == 200 and r.json()["registration_status"] == "registered"
    row = next(
        e
        for e in (await c.get(f"/api/v1/sessions/{sid}/roster", headers=proctor)).json()
        if e["username"] == "yohanes"
    )
    assert row["waiting"] is True and row["attempt_id"] is None
    r = await c.get(f"/api/v1/sessions/{sid}/briefing", headers=proctor)
    assert r.status_code == 403

    # proctor admits (the dialog's optional note and seat), candidate's retry starts the exam
    r = await c.post(
        f"/api/v1/registrations/{row['registration_id']}/admit",
        json={"note": "KTP diperiksa", "seat": "A-07"},
        headers=proctor,
    )
    assert r.status_code == 200 and r.json()["status"] == "admitted"
    row = next(
        e
        for e in (await c.get(f"/api/v1/sessions/{sid}/roster", headers=proctor)).json()
        if e["username"] == "yohanes"
    )
    assert row["seat"] == "A-07" and row["waiting"] is False
    r = await c.post(
        f"/api/v1/registrations/{row['registration_id']}/admit", json={"seat": "x" * 17}, headers=proctor
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_seat"
    r = await c.post(f"/api/v1/sessions/{sid}/attempts", headers=cand)
    assert r.status_code == 201, r.text
    view = r.json()
    assert set(view) >= CANDIDATE_FIELDS and view["status"] == "in_progress" and view["session_id"] == sid
    assert 0 < view["remaining_seconds"] <= BPG_SECONDS
    types = {item["type"] for item in view["items"]}
    assert types <= {"single", "multiple", "numeric"} and "single" in types
    for item in view["items"]:
        assert set(item) >= ITEM_FIELDS and item["response"] is None
        assert not {"answer", "tolerance", "points"} & set(item)
        for opt in item["options"]:
            assert set(opt) == {"id", "text"}
    aid = view["id"]
    items = {i["position"]: i for i in view["items"]}

    # autosave: one PUT per change, seq counting up per item
    def put(position: int, response: object, seq: int, headers: dict[str, str] = cand, **extra: Any) -> Any:
        body = {"response": response, "seq": seq, "current_position": position, "flagged": False, **extra}
        return c.put(f"/api/v1/attempts/{aid}/responses/{position}", json=body, headers=headers)

    for pos, item in items.items():
        r = await put(pos, answer_for(item), 1)
        assert r.status_code == 200, r.text
        assert r.json()["position"] == pos and r.json()["seq"] == 1 and r.json()["saved_at"]
    first = items[1]
    r = await put(1, answer_for(first, second=True), 2, flagged=True)
    assert r.status_code == 200

    # an older seq is refused with stale_seq and the stored seq (the page then re-reads the view)
    r = await put(1, answer_for(first), 2)
    assert r.status_code == 409 and r.json()["code"] == "stale_seq" and r.json()["stored_seq"] == 2
    r = await c.get(f"/api/v1/attempts/{aid}", headers=cand)
    seen = {i["position"]: i for i in r.json()["items"]}
    assert seen[1]["flagged"] is True
    assert seen[1]["response"] == _normalised(first, answer_for(first, second=True))
    # the page sends above the stored seq when the stored answer is the one it started from
    r = await put(1, None, 3)
    assert r.status_code == 200

    # numeric items: the page sends the text typed; a wrong one is 422 with a message to show
    numeric = next((i for i in items.values() if i["type"] == "numeric"), None)
    if numeric is not None:
        r = await put(numeric["position"], "1.5", 5)
        assert r.status_code == 422 and r.json()["code"] == "invalid_response" and r.json()["detail"]
        r = await put(numeric["position"], " 1500000 ", 6)
        assert r.status_code == 200

    # roster: status, remaining time, last save, current item
    roster = (await c.get(f"/api/v1/sessions/{sid}/roster", headers=proctor)).json()
    row = next(e for e in roster if e["username"] == "yohanes")
    assert row["status"] == "in_progress" and row["attempt_id"] == aid
    assert row["remaining_seconds"] > 0 and row["last_saved_at"] and row["current_position"]

    # pause: the reason is required; saves are refused; the view says paused; resume
    r = await c.post(f"/api/v1/attempts/{aid}/pause", json={"reason": "  "}, headers=proctor)
    assert r.status_code in (400, 422) and r.json()["code"] == "reason_required"
    r = await c.post(f"/api/v1/attempts/{aid}/pause", json={"reason": "listrik padam"}, headers=proctor)
    assert r.status_code == 200 and r.json()["status"] == "paused"
    r = await put(2, None, 9)
    assert r.status_code == 409 and r.json()["code"] == "attempt_paused"
    r = await c.get(f"/api/v1/attempts/{aid}", headers=cand)
    assert r.json()["status"] == "paused" and r.json()["remaining_seconds"] > 0
    r = await c.post(f"/api/v1/attempts/{aid}/resume", json={"reason": "listrik menyala"}, headers=proctor)
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    before = r.json()["remaining_seconds"]
    r = await c.post(
        f"/api/v1/attempts/{aid}/extend", json={"minutes": 10, "reason": "komputer mati"}, headers=proctor
    )
    assert r.status_code == 200 and r.json()["remaining_seconds"] >= before + 600 - 2

    # a second login is another device until the proctor releases the attempt
    other = await _login(c, "yohanes", CANDIDATE_PASSWORD, role="candidate")
    r = await c.get(f"/api/v1/attempts/{aid}", headers=other)
    assert r.status_code == 409 and r.json()["code"] == "other_device"
    r = await c.post(f"/api/v1/attempts/{aid}/release", json={"reason": "pindah komputer"}, headers=proctor)
    assert r.status_code == 200
    r = await c.post(f"/api/v1/sessions/{sid}/attempts", headers=other)  # the page's "lanjutkan"
    assert r.status_code == 201 and r.json()["id"] == aid
    r = await c.get(f"/api/v1/attempts/{aid}", headers=cand)
    assert r.status_code == 409 and r.json()["code"] == "attempt_moved"  # the old login, for good
    cand = other

    # incidents, for the session and for one attempt
    for body in (
        {"category": "environment", "description": "Listrik padam 3 menit"},
        {"category": "technical", "description": "Komputer peserta mati", "attempt_id": aid},
    ):
        r = await c.post(f"/api/v1/sessions/{sid}/incidents", json=body, headers=proctor)
        assert r.status_code == 201, r.text

    # the minutes (berita acara) the proctor page shows
    r = await c.get(f"/api/v1/sessions/{sid}/minutes", headers=proctor)
    assert r.status_code == 200
    minutes = r.json()
    assert "WITA" in minutes["generated_at_text"]
    assert [i["category"] for i in minutes["incidents"]] == ["environment", "technical"]
    assert all(set(i) >= MINUTES_INCIDENT_FIELDS for i in minutes["incidents"])
    assert all(set(a) >= MINUTES_ACTION_FIELDS for a in minutes["proctor_actions"])
    actions = [a["action"] for a in minutes["proctor_actions"]]
    assert {"admit", "pause", "resume", "extend", "release"} <= set(actions)
    extend = next(a for a in minutes["proctor_actions"] if a["action"] == "extend")
    assert extend["minutes"] == 10 and extend["reason"] == "komputer mati" and extend["actor"] == "pengawas"

    # the berita acara as a document: names and NIPs, not usernames; and as a PDF
    r = await c.get(f"/api/v1/sessions/{sid}/minutes/document", headers=proctor)
    assert r.status_code == 200, r.text
    doc = r.json()
    yohanes = next(x for x in doc["candidates"] if x["full_name"] == "Yohanes Mau")
    assert yohanes["nip"] and yohanes["seat"] == "A-07"
    assert doc["proctors"] and all(p["full_name"] != "pengawas" for p in doc["proctors"])
    assert any(e["candidate"] and e["candidate"]["full_name"] == "Yohanes Mau" for e in doc["incidents"])
    assert all(e["by"]["full_name"] != "pengawas" for e in doc["actions"])
    r = await c.get(f"/api/v1/sessions/{sid}/minutes.pdf", headers=proctor)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "BERITA ACARA" in text and "Yohanes Mau" in text and yohanes["nip"] in text
    assert "Komputer peserta mati" in text and doc["proctors"][0]["full_name"] in text
    assert (await c.get(f"/api/v1/sessions/{sid}/minutes.pdf", headers=cand)).status_code == 403

    # the roster for Indonesian-locale Excel: NIP and seat kept as text
    r = await c.get(f"/api/v1/sessions/{sid}/roster.csv?variant=excel-id", headers=proctor)
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    line = next(x for x in r.content.decode("utf-8-sig").splitlines() if "Yohanes Mau" in x)
    assert line.startswith(f'A-07;"=""{yohanes["nip"]}""";Yohanes Mau;')
    r = await c.get(f"/api/v1/sessions/{sid}/roster.xlsx", headers=proctor)
    assert r.status_code == 200 and r.content.startswith(b"PK")
    import zipfile

    strings = zipfile.ZipFile(io.BytesIO(r.content)).read("xl/sharedStrings.xml").decode()
    assert yohanes["nip"] in strings
    assert (await c.get(f"/api/v1/sessions/{sid}/roster.csv?variant=x", headers=proctor)).status_code == 400
    assert (await c.get(f"/api/v1/sessions/{sid}/roster.xlsx", headers=cand)).status_code == 403

    # submit (twice: the same answer), then saves are refused as closed
    r = await c.post(f"/api/v1/attempts/{aid}/submit", json={}, headers=cand)
    assert r.status_code == 200 and r.json()["status"] == "submitted" and r.json()["submitted_at"]
    again = await c.post(f"/api/v1/attempts/{aid}/submit", json={}, headers=cand)
    assert again.json() == r.json()
    r = await put(3, None, 99)
    assert r.status_code == 409 and r.json()["code"] == "attempt_closed" and r.json()["attempt_status"] == "submitted"
    assert r.json()["status"] == 409
    r = await c.get(f"/api/v1/attempts/{aid}", headers=cand)
    assert r.json()["status"] == "submitted"
    roster = (await c.get(f"/api/v1/sessions/{sid}/roster", headers=proctor)).json()
    assert next(e for e in roster if e["username"] == "yohanes")["status"] == "submitted"

    # a terminated attempt, as the candidate page sees it
    maria = await _login(c, "maria", CANDIDATE_PASSWORD, role="candidate")
    reg = next(e for e in roster if e["username"] == "maria")["registration_id"]
    assert (await c.post(f"/api/v1/registrations/{reg}/admit", json={}, headers=proctor)).status_code == 200
    mid = (await c.post(f"/api/v1/sessions/{sid}/attempts", headers=maria)).json()["id"]
    r = await c.post(f"/api/v1/attempts/{mid}/terminate", json={"reason": "menyontek"}, headers=proctor)
    assert r.status_code == 200 and r.json()["status"] == "terminated"
    r = await c.get(f"/api/v1/attempts/{mid}", headers=maria)
    assert r.status_code == 200 and r.json()["status"] == "terminated"


async def test_pages_refuse_the_wrong_role(client, demo: Demo) -> None:
    """The candidate page and the proctor page only check the role for a clear message; the API
    itself refuses a candidate on the roster and a proctor on a save."""
    cand = await _login(client, "yohanes", CANDIDATE_PASSWORD, role="candidate")
    r = await client.get(f"/api/v1/sessions/{demo.session_id}/roster", headers=cand)
    assert r.status_code == 403
    r = await client.get("/api/v1/sessions", headers=cand)
    assert r.status_code == 403
    r = await client.get(f"/api/v1/sessions/{demo.session_id}/roster")
    assert r.status_code == 401


def _normalised(item: dict[str, Any], response: object) -> object:
    if item["type"] == "multiple" and isinstance(response, list):
        return sorted(response)
    if item["type"] == "numeric" and isinstance(response, str):
        return int(response)
    return response
