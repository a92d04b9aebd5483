"""The site flow on two databases (a centre and a site, each its own SQLite file): export,
import, unlock, two candidates sit, seal, ingest; and every refusal the issue names."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import delete, select

from apkd.accounts.security import Principal
from apkd.audit import AuditEvent
from apkd.banks.models import ItemVersion
from apkd.config import Settings
from apkd.db import create_engine, session_factory, utcnow
from apkd.exams import attempts, gates, proctoring
from apkd.exams.models import Attempt, Registration, Response, ResponseHistory
from apkd.exams.saving import save_response
from apkd.migrate import upgrade
from apkd.signing.keys import decrypt_private_key
from apkd.sites import service
from apkd.sites.models import SitePackage
from apkd.sites.package import PACKAGE_FORMAT, RESULTS_FORMAT, open_envelope, seal_envelope
from factories import exam_setup

SECRET = "site-test-secret-" + "z" * 40


@pytest.fixture
def urls(tmp_path: Path) -> tuple[str, str]:
    out = []
    for name in ("centre", "site"):
        url = f"sqlite+aiosqlite:///{tmp_path}/{name}.db"
        upgrade(url)
        out.append(url)
    return out[0], out[1]


def _db(url: str) -> Any:
    engine = create_engine(url)
    return engine, session_factory(engine)


async def _centre_world(factory: Any, bank_source: str, now: Any) -> tuple[int, dict[str, Any]]:
    setup = await exam_setup(
        factory,
        bank_source=bank_source,
        starts=now + timedelta(hours=2),
        ends=now + timedelta(hours=5),
        title="Sesi Kalabahi",
        venue="Kalabahi",
    )
    return setup.session_id, setup.users


@pytest.fixture
def settings_pair() -> tuple[Settings, Settings]:
    base = {"env": "test", "secret_key": SECRET}
    return Settings(**base), Settings(**{**base, "secret_key": SECRET + "-site", "site_mode": True})  # type: ignore[arg-type]


async def test_export_import_unlock_seal_ingest(
    urls: tuple[str, str], bank_source: str, settings_pair: Any, request: pytest.FixtureRequest
) -> None:
    centre_settings, site_settings = settings_pair
    now = utcnow()
    c_engine, centre = _db(urls[0])
    s_engine, site = _db(urls[1])
    session_id, users = await _centre_world(centre, bank_source, now)

    async with centre() as s:
        exported = await service.export_package(s, centre_settings, session_id, actor="admin1", now=now)
        await s.commit()
    data = exported.data
    # Nothing of an item is readable without the code.
    assert b"Soal" not in data and b"berapa dan apa" not in data
    assert b"Soal" not in json.dumps(open_envelope(data, PACKAGE_FORMAT).body).encode()

    # An altered package is refused.
    env = json.loads(data)
    body = json.loads(open_envelope(data, PACKAGE_FORMAT).body_bytes)
    body["session"]["venue"] = "Jakarta"
    env["body"] = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    async with site() as s:
        with pytest.raises(service.SiteError) as exc:
            await service.import_package(s, json.dumps(env).encode(), now=now)
    assert exc.value.code == "package_bad_signature"

    async with site() as s:
        with pytest.raises(service.SiteError) as exc:
            await service.import_package(s, data, fingerprint="not-the-issuer", now=now)
        assert exc.value.code == "package_wrong_issuer"
    async with site() as s:
        with pytest.raises(service.SiteError) as exc:
            await service.import_package(s, data, now=now + timedelta(days=2))
        assert exc.value.code == "package_expired"

    async with site() as s:
        load = await service.import_package(
            s, data, fingerprint=exported.issuer_kid, now=now + timedelta(minutes=1)
        )
        await s.commit()
        assert load.session_id == session_id
    async with site() as s:
        with pytest.raises(service.SiteError) as exc:
            await service.import_package(s, data, now=now + timedelta(minutes=2))
        assert exc.value.code == "package_already_loaded"

    # The site's start gate (wired in site mode): nobody starts before the unlock.
    gates.register(service.start_refusal)
    request.addfinalizer(lambda: gates.register(None))
    proctor = Principal(users["pengawas1"].id, "pengawas1", "proctor", "sid-p", 0)
    early_cand = Principal(users["peserta2"].id, "peserta2", "candidate", "sid-peserta2", 0)
    async with site() as s:
        reg = (await s.exec(select(Registration).where(Registration.user_id == early_cand.user_id))).one()
        await proctoring.admit(s, reg.id or 0, proctor, now=now + timedelta(hours=2))
        await s.commit()
    async with site() as s:
        with pytest.raises(Exception) as locked:
            await attempts.start_attempt_view(
                s, session_id, early_cand, now=now + timedelta(hours=2, minutes=1)
            )
        assert getattr(locked.value, "code", None) == "session_locked"

    # Unlock: too early, then a wrong code (counted), then the right one.
    async with site() as s:
        with pytest.raises(Exception) as early:
            await service.unlock(s, site_settings, session_id, exported.unlock_code, actor="p", now=now)
        assert getattr(early.value, "code", None) == "unlock_too_early"
    starts = now + timedelta(hours=2)
    async with site() as s:
        with pytest.raises(Exception) as wrong:
            await service.unlock(
                s, site_settings, session_id, "AAAA-BBBB-CCCC-DDDD-EEEE", actor="p", now=starts
            )
        assert getattr(wrong.value, "code", None) == "unlock_wrong_code"
        await s.rollback()
    async with site() as s:
        load = await service.unlock(
            s, site_settings, session_id, exported.unlock_code.lower(), actor="p", now=starts
        )
        assert load.failed_unlocks == 1
        await s.commit()
    async with site() as s:  # again: the right code is a no-op, a wrong one is still refused
        again_load = await service.unlock(
            s, site_settings, session_id, exported.unlock_code, actor="p", now=starts
        )
        assert again_load.unlocked_at is not None
        with pytest.raises(Exception) as wrong:
            await service.unlock(
                s, site_settings, session_id, "AAAA-BBBB-CCCC-DDDD-EEEE", actor="p", now=starts
            )
        assert getattr(wrong.value, "code", None) == "unlock_wrong_code"

    # Two candidates sit: one answers everything right, the other answers nothing.
    answered: dict[str, int] = {}
    for name in ("peserta1", "peserta2"):
        cand = Principal(users[name].id, name, "candidate", f"sid-{name}", 0)
        async with site() as s:
            reg = (await s.exec(select(Registration).where(Registration.user_id == cand.user_id))).one()
            if reg.status != "admitted":
                await proctoring.admit(s, reg.id or 0, proctor, now=starts)
                await s.commit()
        async with site() as s:
            view = await attempts.start_attempt_view(s, session_id, cand, now=starts + timedelta(minutes=1))
            attempt = await s.get(Attempt, view.id)
            assert attempt is not None
        answered[name] = attempt.id or 0
        if name == "peserta1":
            async with centre() as cs:
                keys = {iv.id: iv.answer for iv in (await cs.exec(select(ItemVersion))).all()}
            for n, item in enumerate(attempt.form["items"], start=1):
                await save_response(
                    s_engine, attempt.id or 0, item["position"], cand,
                    response=keys[item["item_version_id"]], seq=n, now=starts + timedelta(minutes=2),
                )  # fmt: skip
            async with site() as s:
                await attempts.submit_attempt(s, attempt.id or 0, cand, now=starts + timedelta(minutes=5))
                await s.commit()

    async with site() as s:
        first = await service.seal(
            s, site_settings, session_id, actor="p", now=starts + timedelta(minutes=30)
        )
        await s.commit()
    async with site() as s:
        again = await service.seal(
            s, site_settings, session_id, actor="p", now=starts + timedelta(minutes=40)
        )
        await s.commit()
        statuses = {a.status for a in (await s.exec(select(Attempt))).all()}
    assert first == again, "a re-seal writes the same file"
    async with site() as s:  # sealed: no more starts
        assert await service.start_refusal(s, session_id) is not None
    assert statuses == {"submitted", "expired"}

    # Altered results are refused.
    env = json.loads(first)
    body = json.loads(open_envelope(first, RESULTS_FORMAT).body_bytes)
    body["responses"][0]["response"] = "x"
    env["body"] = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    async with centre() as s:
        with pytest.raises(service.SiteError) as exc:
            await service.ingest(s, json.dumps(env).encode(), actor=None)
        assert exc.value.code == "results_bad_signature"

    async with centre() as s:
        done = await service.ingest(s, first, actor=None)
        await s.commit()
    assert done.attempts == 2 and not done.already
    async with centre() as s:
        twice = await service.ingest(s, first, actor=None)
        await s.commit()
        assert twice.already
        stored = (await s.exec(select(Attempt))).all()
        assert len(stored) == 2
        responses = (await s.exec(select(Response))).all()
        assert len(responses) == len(next(a for a in stored if a.status == "submitted").form["items"])
        events = (await s.exec(select(AuditEvent).where(AuditEvent.action == "site.results_ingested"))).all()
        assert len(events) == 1 and json.loads(events[0].details)["source"] == "site"

    # A different file for the same package (the site database changed after the seal, and a
    # re-seal signed it) is refused; so is a file naming what the centre never sent.
    async with site() as s:
        row = (await s.exec(select(Response).order_by(Response.attempt_id, Response.position))).first()
        assert row is not None
        row.response = "tampered"
        s.add(row)
        await s.commit()
    async with site() as s:
        other = await service.seal(s, site_settings, session_id, actor="p")
        load = await service._load_of(s, session_id)
        site_key = decrypt_private_key(load.site_key_enc or b"", site_settings.secret_key, load.site_kid)
    assert other != first
    async with centre() as s:
        with pytest.raises(service.SiteError) as exc:
            await service.ingest(s, other, actor=None)
        assert exc.value.code == "results_conflict"

    forged_body = json.loads(open_envelope(first, RESULTS_FORMAT).body_bytes)
    forged_body["attempts"][0]["form"]["items"][0]["item_version_id"] = 10_000
    forged = seal_envelope(RESULTS_FORMAT, forged_body, site_key, load.site_kid)
    async with centre() as s:
        package = await s.get(SitePackage, load.package_id)
        assert package is not None
        package.results_digest = None  # as if nothing had been ingested yet
        await s.execute(delete(ResponseHistory))
        await s.execute(delete(Response))
        await s.execute(delete(Attempt))
        s.add(package)
        await s.commit()
    async with centre() as s:
        with pytest.raises(service.SiteError) as exc:
            await service.ingest(s, forged, actor=None)
        assert exc.value.code == "results_package_mismatch"
    await c_engine.dispose()
    await s_engine.dispose()
