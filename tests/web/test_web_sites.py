"""Issue 16 in a real browser: the console's "Lokasi ujian" tab shows each site package's state
as steps with times in the site's zone, the last contact and the clock offset, and warns when a
session has started but its site never reported the unlock. axe-core on the tab, both sizes."""

from __future__ import annotations

import asyncio
import importlib.util
from datetime import timedelta
from typing import Any

import pytest
from cdp import Browser, find_chromium
from test_web_room import Review
from web_support import open_console

from apkd.db import session_factory, utcnow
from apkd.exams.models import ExamSession
from apkd.sites.models import SitePackage
from factories import sample_scheme

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="websockets is not installed"),
]
PASSWORD = "rahasia-123"
JWK = {"kty": "OKP", "crv": "Ed25519", "x": "A" * 43}


async def _packages(clean: Any) -> None:
    """Three sites as the centre knows them after their reports: Kalabahi unlocked (reported
    with its clock 2 minutes ahead), Alor Kecil never reported though its session started,
    Kupang sealed and ingested."""
    now = utcnow().replace(microsecond=0)
    async with session_factory(clean)() as s:
        scheme = await sample_scheme(s)
        rows = []
        for title, venue, tz, start in (
            ("Sesi Kalabahi", "Kalabahi", "Asia/Makassar", now - timedelta(minutes=20)),
            ("Sesi Alor Kecil", "Alor Kecil", "Asia/Makassar", now - timedelta(minutes=10)),
            ("Sesi Kupang", "Kupang", "Asia/Makassar", now - timedelta(hours=5)),
        ):
            exam = ExamSession(
                scheme_id=scheme.id, title=title, venue=venue, timezone=tz,
                starts_at=start, ends_at=start + timedelta(hours=3),
            )  # fmt: skip
            s.add(exam)
            await s.flush()
            rows.append(exam.id)
        base = {"digest": "0" * 64, "site_kid": "k", "site_public_jwk": JWK, "created_by": "admin1"}
        s.add_all(
            [
                SitePackage(
                    id="a" * 32, session_id=rows[0], **base, created_at=now - timedelta(days=2),
                    expires_at=now + timedelta(days=1), site_state="unlocked",
                    site_loaded_at=now - timedelta(days=1), site_unlocked_at=now - timedelta(minutes=25),
                    report_seq=3, last_report_at=now - timedelta(minutes=1), clock_offset_seconds=125,
                    site_counts={"registered": 40, "started": 37, "submitted": 2},
                ),
                SitePackage(
                    id="b" * 32, session_id=rows[1], **base, created_at=now - timedelta(days=2),
                    expires_at=now + timedelta(days=1),
                ),
                SitePackage(
                    id="c" * 32, session_id=rows[2], **base, created_at=now - timedelta(days=3),
                    expires_at=now + timedelta(days=1), site_state="sealed",
                    site_loaded_at=now - timedelta(days=2), site_unlocked_at=now - timedelta(hours=5),
                    site_sealed_at=now - timedelta(hours=2), report_seq=9,
                    last_report_at=now - timedelta(hours=2), clock_offset_seconds=-4,
                    site_counts={"registered": 20, "started": 20, "submitted": 20},
                    ingested_at=now - timedelta(hours=1), ingested_via="push", results_digest="1" * 64,
                ),
            ]
        )  # fmt: skip
        await s.commit()


def drive(base: str, review: Review) -> tuple[list[str], dict[str, Any]]:
    assert CHROMIUM is not None
    b = Browser(CHROMIUM)
    try:
        p = b.new_page()
        p.viewport(1366, 768)
        open_console(p, base)
        p.click(".tab[data-tab=sites]")
        p.wait("document.querySelectorAll('#sites-body tr').length === 3")
        seen = p.js(
            "(() => { const rows = [...document.querySelectorAll('#sites-body tr')];"
            " return Object.fromEntries(rows.map(r => [r.querySelector('th').textContent, {"
            " current: r.querySelector('.steps li[aria-current]')?.querySelector('.step-name').textContent,"
            " done: [...r.querySelectorAll('.steps li.done')].length,"
            " text: r.textContent}])); })()"
        )
        seen["summary"] = p.text("sites-summary")
        review(p, "admin-lokasi-ujian")
        p.pump()
        return p.errors, seen
    finally:
        b.close()


async def test_console_shows_each_sites_state(live_server: str, make_user: Any, clean: Any) -> None:
    await make_user("admin", username="admin1")
    await _packages(clean)
    review = Review()
    errors, seen = await asyncio.to_thread(drive, live_server, review)
    assert [e for e in errors if "Failed to load resource" not in e] == []
    kalabahi = next(v for k, v in seen.items() if "Sesi Kalabahi" in k)
    alor = next(v for k, v in seen.items() if "Sesi Alor Kecil" in k)
    kupang = next(v for k, v in seen.items() if "Sesi Kupang" in k)
    assert kalabahi["current"] == "Dibuka" and kalabahi["done"] == 3
    assert "+2 mnt 5 dtk" in kalabahi["text"] and "37 dari 40 peserta mulai" in kalabahi["text"]
    assert "WITA" in kalabahi["text"]
    assert "belum melaporkan paket dibuka" not in kalabahi["text"]
    assert alor["current"] == "Diekspor" and "belum melaporkan paket dibuka" in alor["text"]
    assert "belum pernah" in alor["text"]
    assert kupang["current"] == "Diterima pusat" and kupang["done"] == 5 and "−4 dtk" in kupang["text"]
    assert "1 sesi sudah dimulai tanpa laporan paket dibuka" in seen["summary"]
    review.check()
