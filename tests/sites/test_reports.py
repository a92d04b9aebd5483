"""Issue 16, point 6: a site reports its package's state (loaded, unlocked, sealed) to the
centre, signed; the centre takes a report only when it is newer than the last, so a replayed,
late or forged report never moves a state back; the site's own work never waits for the
centre (docs/decisions/042-site-state-reports.md)."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select
from test_flow import _centre_world, _db, settings_pair, urls  # noqa: F401 - fixtures

from apkd.accounts.security import Principal
from apkd.audit import AuditEvent
from apkd.db import utcnow
from apkd.exams import attempts, minute_notes, minutes, minutes_doc, proctoring
from apkd.exams.models import Registration
from apkd.signing.keys import b64url_decode, generate_key, public_jwk, thumbprint
from apkd.sites import controllers, service
from apkd.sites.package import (
    PACKAGE_FORMAT,
    REPORT_FORMAT,
    open_envelope,
    private_key_from_raw,
    seal_envelope,
)


def _altered(data: bytes, change: Any) -> bytes:
    env = json.loads(data)
    body = json.loads(open_envelope(data, REPORT_FORMAT).body_bytes)
    change(body)
    env["body"] = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return json.dumps(env).encode()


async def _refused(factory: Any, data: bytes, now: Any) -> str:
    async with factory() as s:
        with pytest.raises(service.SiteError) as exc:
            await service.accept_report(s, data, now=now)
        await s.rollback()
    return exc.value.code


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_reports_move_the_centre_forward_and_never_back(
    urls: tuple[str, str],  # noqa: F811
    bank_source: str,
    settings_pair: Any,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    centre_settings, site_settings = settings_pair
    now = utcnow()
    c_engine, centre = _db(urls[0])
    s_engine, site = _db(urls[1])
    session_id, users = await _centre_world(centre, bank_source, now)
    async with centre() as s:
        exported = await service.export_package(s, centre_settings, session_id, actor="admin1", now=now)
        await s.commit()
    # A site clock clearly before the package was made refuses the load and the unlock.
    async with site() as s:
        with pytest.raises(service.SiteError) as exc:
            await service.import_package(s, exported.data, now=now - timedelta(hours=1))
        assert exc.value.code == "site_clock_wrong"
    async with site() as s:
        await service.import_package(s, exported.data, now=now + timedelta(minutes=1))
        await s.commit()
    async with site() as s:
        with pytest.raises(service.SiteError) as exc:
            await service.unlock(
                s, site_settings, session_id, exported.unlock_code, actor="p", now=now - timedelta(hours=1)
            )
        assert exc.value.code == "site_clock_wrong"

    # Loaded: before the unlock the report is signed with the package's report key.
    sent = now + timedelta(minutes=2)
    async with site() as s:
        load = await service.load_of_session(s, session_id)
        assert service.report_due(load)
        loaded = await service.build_report(s, site_settings, load, now=sent)
        await s.commit()
    assert open_envelope(loaded, REPORT_FORMAT).kid != load.site_kid
    async with centre() as s:
        row = await service.accept_report(s, loaded, now=sent + timedelta(seconds=3))
        await s.commit()
        assert service.package_state(row) == "loaded"
        assert row.clock_offset_seconds == -3  # the site clock is 3 s behind the centre's
        assert row.site_loaded_at == now + timedelta(minutes=1)
        assert row.site_counts is not None and row.site_counts["registered"] == 2

    # The same report again, an altered one, one for a package the centre never issued, and a
    # report key pretending the package is unlocked: refused, nothing changes.
    assert await _refused(centre, loaded, sent) == "report_stale"
    assert await _refused(centre, _altered(loaded, lambda b: b.update(state="sealed")), sent) == (
        "report_bad_signature"
    )
    stranger = _altered(loaded, lambda b: b.update(package_id="0" * 32))
    assert await _refused(centre, stranger, sent) == "report_unknown_package"
    report_key = open_envelope(exported.data, PACKAGE_FORMAT).body["report_key"]
    body = json.loads(open_envelope(loaded, REPORT_FORMAT).body_bytes)
    body.update(state="unlocked", seq=body["seq"] + 10)
    lying = seal_envelope(
        REPORT_FORMAT, body, private_key_from_raw(b64url_decode(report_key["d"])), report_key["kid"]
    )
    assert await _refused(centre, lying, sent) == "report_wrong_signer"
    other = generate_key()
    forged = seal_envelope(REPORT_FORMAT, body, other, thumbprint(public_jwk(other)))
    assert await _refused(centre, forged, sent) == "report_wrong_signer"  # a key the centre never gave

    # Unlocked, with the centre down: the unlock succeeds, the report waits (still due).
    starts = now + timedelta(hours=2)
    down = type(site_settings)(**{**site_settings.__dict__, "centre_url": _dead_url()})
    async with site() as s:
        await service.unlock(s, down, session_id, exported.unlock_code, actor="p", now=starts)
        await s.commit()
    assert await controllers.report_once(site, down) == 1
    async with site() as s:
        load = await service.load_of_session(s, session_id)
        assert load.unlocked_at is not None and service.report_due(load) and load.report_error
        assert load.reported_state is None  # the centre has not acknowledged anything yet
        early = loaded  # a loaded report that arrives late, after the unlocked one
        unlocked = await service.build_report(s, site_settings, load, now=starts + timedelta(minutes=1))
        await s.commit()
    assert open_envelope(unlocked, REPORT_FORMAT).kid == load.site_kid
    async with centre() as s:
        row = await service.accept_report(s, unlocked, now=starts + timedelta(minutes=1))
        await s.commit()
        assert service.package_state(row) == "unlocked" and row.site_unlocked_at == starts
    assert await _refused(centre, early, starts) == "report_stale"

    # A candidate starts; the seal's report carries the counts.
    cand = Principal(users["peserta1"].id, "peserta1", "candidate", "sid-c", 0)
    proctor = Principal(users["pengawas1"].id, "pengawas1", "proctor", "sid-p", 0)
    async with site() as s:
        reg = (await s.exec(select(Registration).where(Registration.user_id == cand.user_id))).one()
        await proctoring.admit(s, reg.id or 0, proctor, now=starts)
        await s.commit()
    async with site() as s:
        await attempts.start_attempt_view(s, session_id, cand, now=starts + timedelta(minutes=2))
        await s.commit()
    async with site() as s:
        results = await service.seal(s, down, session_id, actor="p", now=starts + timedelta(minutes=30))
        await s.commit()
        load = await service.load_of_session(s, session_id)
        sealed = await service.build_report(s, site_settings, load, now=starts + timedelta(minutes=31))
        await s.commit()
    async with centre() as s:
        row = await service.accept_report(s, sealed, now=starts + timedelta(minutes=31))
        await s.commit()
        assert service.package_state(row) == "sealed"
        assert row.site_counts is not None and row.site_counts["started"] == 1
        assert row.site_counts["submitted"] == 0
    assert await _refused(centre, unlocked, starts) == "report_stale"

    # Ingested is the centre's own state; reports after it are kept but the state stays.
    async with centre() as s:
        await service.ingest(s, results, actor=None)
        await s.commit()
    async with site() as s:
        load = await service.load_of_session(s, session_id)
        again = await service.build_report(s, site_settings, load, now=starts + timedelta(minutes=40))
        await s.commit()
    async with centre() as s:
        row = await service.accept_report(s, again, now=starts + timedelta(minutes=40))
        await s.commit()
        assert service.package_state(row) == "ingested"
        events = (await s.exec(select(AuditEvent).where(AuditEvent.action == "site.state_reported"))).all()
        # one event per state reached, not per report
        assert [json.loads(e.details)["state"] for e in events] == ["loaded", "unlocked", "sealed"]

    # A re-seal still writes the same file after all these reports.
    async with site() as s:
        assert await service.seal(s, down, session_id, actor="p") == results

    # The minutes (berita acara) carry the site's clock: on the site once the centre measured
    # its offset, and at the centre from the reports and the results.
    minute_notes.register(service.minutes_notes)
    request.addfinalizer(lambda: minute_notes.register(None))
    async with site() as s:
        load = await service.load_of_session(s, session_id)
        await service.record_report(s, load.package_id, "sealed", None, offset=-3)
        await s.commit()
        notes = (await minutes.session_minutes(s, session_id, proctor)).site_notes
    text = " ".join(notes)
    assert "Selisih jam komputer lokasi terhadap jam pusat: -3 detik" in text, notes
    assert "Kode pembuka salah dimasukkan 0 kali" in text and "Sesi disegel di lokasi" in text
    assert "2 jam 0 menit 0 detik sesudah waktu pembuatan paket" not in text  # whole units only
    assert "+2 jam sesudah waktu pembuatan paket" in text  # unlocked two hours after export
    async with site() as s:
        pdf = minutes_doc.minutes_pdf(await minutes_doc.minutes_document(s, session_id, proctor))
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        shown = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout
        assert b"Server lokasi ujian" in shown and b"Kode pembuka salah dimasukkan 0 kali" in shown
    async with centre() as s:
        notes = (await minutes.session_minutes(s, session_id, proctor)).site_notes
    text = " ".join(notes)
    assert "pada laporan terakhir: 0 detik" in text and "Hasil diterima pusat" in text, notes
    await c_engine.dispose()
    await s_engine.dispose()
