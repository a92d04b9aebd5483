"""Complaints from the public reach the body and can suspend a credential; re-sits inside the
scheme's waiting period are refused."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlmodel import select

from apkd.banks.models import Scheme
from apkd.credentials.models import Credential
from apkd.db import utcnow
from apkd.exams.models import ExamSession, ResitGrant
from grading.gradingkit import KEYS, WRONG


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, complaint_rate_limit=3)


async def _credential_number(client, make_user, login, factory, db) -> tuple[str, dict[str, str]]:
    bank = await factory.bank()
    es = await factory.session(bank)
    await factory.attempt(es, bank, await factory.candidate("maria"), dict(KEYS))
    await make_user("admin", username="admin1")
    h = await login("admin1")
    r = await client.post(f"/api/v1/sessions/{es.id}/publish", headers=h)
    assert r.json()["credentials_issued"] == 1
    number = (await db.exec(select(Credential.number))).one()
    await db.rollback()
    return number, h


async def test_a_complaint_from_the_public_reaches_the_body_and_can_suspend_the_credential(
    client, make_user, login, factory, db
) -> None:
    number, admin = await _credential_number(client, make_user, login, factory, db)
    complaint = {
        "name": "Budi Santoso",
        "contact": "budi@example.id",
        "subject": "credential",
        "credential_number": number,
        "description": "Pemegang sertifikat ini tidak pernah mengikuti ujian; ia diwakili orang lain.",
    }
    r = await client.post("/api/v1/complaints", json=complaint)  # no login
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["state"] == "diajukan" and receipt["reference"] in receipt["message"]
    ref = receipt["reference"]

    r = await client.get(f"/api/v1/complaints/{ref}/status")
    assert r.json()["state_text"] == "Diajukan, menunggu pemeriksa" and "contact" not in r.json()
    listed = (await client.get("/api/v1/complaints", headers=admin)).json()
    assert [(c["reference"], c["credential_number"], c["contact"]) for c in listed] == [
        (ref, number, "budi@example.id")
    ]
    r = await client.post(f"/api/v1/complaints/{ref}/take-up", headers=admin)
    assert r.json()["state"] == "diperiksa" and r.json()["handler"] == "admin1"
    r = await client.post(
        f"/api/v1/complaints/{ref}/decision",
        headers=admin,
        json={"upheld": True, "reason": "Bukti joki dari pengawas dan rekaman CCTV.", "action": "suspend"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["credential_action"], r.json()["credential_status"]) == (
        "diterima",
        "suspend",
        "suspended",
    )
    r = await client.get(f"/api/v1/registry/{number}")
    assert r.json()["status"] == "suspended"
    r = await client.get(f"/api/v1/complaints/{ref}/status")
    assert r.json()["state"] == "diterima" and r.json()["decision_reason"].startswith("Bukti joki")


async def test_complaints_are_checked_and_rate_limited_per_client(
    client, make_user, login, factory, db
) -> None:
    bad = {"name": "A", "contact": "bukan kontak", "subject": "body", "description": "x"}
    r = await client.post("/api/v1/complaints", json=bad)
    assert r.status_code == 422 and r.json()["code"] == "invalid_contact"
    r = await client.post(
        "/api/v1/complaints",
        json={**bad, "contact": "0812 3456 7890", "subject": "credential", "credential_number": "X-1"},
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown_credential"
    ok = {**bad, "contact": "+62 812 3456 7890", "description": "Biaya uji tidak diumumkan."}
    for _ in range(3):
        assert (await client.post("/api/v1/complaints", json=ok)).status_code == 201
    r = await client.post("/api/v1/complaints", json=ok)
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) > 0


async def test_a_resit_inside_the_waiting_period_is_refused(client, make_user, login, factory, db) -> None:
    bank = await factory.bank()
    scheme = await db.get(Scheme, bank.scheme.id)
    scheme.resit_wait_days, scheme.sittings_per_year = 30, 2
    db.add(scheme)
    es = await factory.session(bank)  # sat 3 hours ago, did not pass
    cand = await factory.candidate("yohanes")
    await factory.attempt(es, bank, cand, dict(WRONG))
    start = utcnow()
    sessions = {}
    for days in (10, 45, 100):
        s = ExamSession(
            scheme_id=bank.scheme.id,
            title=f"Ujian ulang +{days}",
            venue="Kalabahi",
            starts_at=start + timedelta(days=days),
            ends_at=start + timedelta(days=days, hours=2),
        )
        db.add(s)
        await db.flush()
        sessions[days] = s.id
    cand_id, scheme_id = cand.id, bank.scheme.id
    await db.commit()
    admin = await make_user("admin", username="admin1")
    h = await login("admin1")

    r = await client.post(
        f"/api/v1/sessions/{sessions[10]}/registrations", headers=h, json={"username": "yohanes"}
    )
    assert r.status_code == 409 and r.json()["code"] == "resit_too_soon", r.text
    assert "masa tunggu 30 hari" in r.json()["detail"] and "WITA" in r.json()["detail"]
    r = await client.post(
        f"/api/v1/sessions/{sessions[45]}/registrations", headers=h, json={"username": "yohanes"}
    )
    assert r.status_code == 201, r.text
    # two sittings within a year already (the one sat, the one registered for)
    r = await client.post(
        f"/api/v1/sessions/{sessions[100]}/registrations", headers=h, json={"username": "yohanes"}
    )
    assert r.status_code == 409 and r.json()["code"] == "resit_limit_reached", r.text
    assert "batasnya 2 kali per 365 hari" in r.json()["detail"]

    # a free re-sit (an upheld appeal) is exempt, once
    db.add(
        ResitGrant(
            user_id=cand_id,
            scheme_id=scheme_id,
            reason="Banding #1 diterima",
            source="appeal:1",
            granted_by=admin.id,
        )
    )
    await db.commit()
    r = await client.post(
        f"/api/v1/sessions/{sessions[10]}/registrations", headers=h, json={"username": "yohanes"}
    )
    assert r.status_code == 201, r.text
    grant = (await db.exec(select(ResitGrant))).one()
    assert grant.used_registration_id == r.json()["id"]
    await db.rollback()
