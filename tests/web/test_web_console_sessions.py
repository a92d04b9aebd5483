"""Issue 14 point 2 in a real browser: an admin creates a session in the console with times in
the site's zone (WIT), sees it in the calendar under its day, edits it; a started session's
scheme, zone and start are locked in the form and the API refuses moving its end earlier.
axe-core on the tab, both sizes."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from datetime import timedelta
from typing import Any

import pytest
from cdp import Browser, find_chromium
from test_web_room import Review
from web_support import open_console as console

from apkd.db import session_factory, utcnow
from apkd.exams.models import ExamSession
from factories import sample_scheme

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="websockets is not installed"),
]
PASSWORD = "rahasia-123"


def card_js(title: str) -> str:
    return f"[...document.querySelectorAll('#ses-calendar .cal-item')].find(c => c.textContent.includes({json.dumps(title)}))"


def drive(base: str, review: Review) -> tuple[list[str], dict[str, Any]]:
    assert CHROMIUM is not None
    b = Browser(CHROMIUM)
    seen: dict[str, Any] = {}
    try:
        p = b.new_page()
        p.viewport(1366, 768)
        console(p, base)
        p.click(".tab[data-tab=sessions]")
        p.wait("document.querySelectorAll('#ses-scheme option').length > 0")
        p.wait("document.querySelectorAll('#ses-calendar .cal-item').length === 1")
        p.fill("ses-title", "Sertifikasi Bendahara Jayapura")
        p.fill("ses-venue", "BPSDM Provinsi Papua, Jayapura")
        p.js(
            "(() => { const z = document.getElementById('ses-zone'); z.value = 'Asia/Jayapura'; z.dispatchEvent(new Event('change')); })()"
        )
        seen["zone_label"] = p.js("document.querySelector('.ses-zone-label').textContent")
        p.fill("ses-start", "2031-03-02T08:00")
        p.fill("ses-end", "2031-03-02T10:30")
        p.fill("ses-capacity", "40")
        p.fill("ses-proctors", "pengawas1")
        p.submit("ses-form")
        p.wait("document.getElementById('ses-summary').textContent.includes('dibuat')")
        seen["summary"] = p.text("ses-summary")
        p.wait(f"!!{card_js('Jayapura')}")
        seen["card"] = p.js(f"{card_js('Jayapura')}.textContent")
        seen["day"] = p.js(f"{card_js('Jayapura')}.closest('.cal-day').querySelector('h3').textContent")
        seen["days"] = p.js("[...document.querySelectorAll('#ses-calendar h3')].map(h => h.textContent)")
        review(p, "admin-sesi")
        # edit: capacity and end; the times shown again in WIT
        p.js(f"{card_js('Jayapura')}.querySelector('button').click()")
        seen["prefill"] = p.js("document.getElementById('ses-start').value")
        p.fill("ses-end", "2031-03-02T11:00")
        p.fill("ses-capacity", "35")
        p.submit("ses-form")
        p.wait("document.getElementById('ses-summary').textContent.includes('diubah')")
        p.wait(f"{card_js('Jayapura')}.textContent.includes('11.00')")
        seen["edited"] = p.js(f"{card_js('Jayapura')}.textContent")
        # the started session: its start is locked; moving the end earlier is refused by the API
        p.js(f"{card_js('Sesi berjalan')}.querySelector('button').click()")
        seen["locked"] = p.js(
            "['ses-scheme','ses-zone','ses-start'].map(id => document.getElementById(id).disabled)"
        )
        earlier = p.js(
            "new Date(new Date(document.getElementById('ses-end').value + 'Z') - 3600e3).toISOString().slice(0, 16)"
        )
        p.fill("ses-end", earlier)
        p.submit("ses-form")
        p.wait("document.getElementById('ses-error').textContent.includes('dimajukan')")
        seen["refused"] = p.text("ses-error")
        review(p, "admin-sesi-ubah")
        # retire the scheme's version in the banks tab: the session form no longer offers it
        p.click(".tab[data-tab=banks]")
        p.wait("document.querySelectorAll('#sch-body tr').length === 1")
        p.js("document.querySelector('#sch-body tr button').click()")
        p.wait("document.getElementById('retire-dialog').open")
        p.submit("retire-form")  # no reason: asked for one
        p.wait("!document.getElementById('retire-error').hidden")
        p.fill("retire-reason", "Diganti ketentuan baru")
        p.submit("retire-form")
        p.wait("document.querySelector('#sch-body tr').textContent.includes('dipensiunkan')")
        seen["scheme_row"] = p.js("document.querySelector('#sch-body tr').textContent")
        review(p, "admin-skema-pensiun")
        p.click(".tab[data-tab=sessions]")
        p.wait("document.querySelector('#ses-scheme option')?.disabled === true")
        p.pump()
        return p.errors, seen
    finally:
        b.close()


async def test_console_creates_edits_and_lists_sessions(live_server: str, make_user: Any, clean: Any) -> None:
    await make_user("admin", username="admin1")
    await make_user("proctor", username="pengawas1")
    now = utcnow().replace(microsecond=0)
    async with session_factory(clean)() as s:
        scheme = await sample_scheme(s)
        s.add(
            ExamSession(
                scheme_id=scheme.id, title="Sesi berjalan", venue="Kalabahi", timezone="Asia/Makassar",
                starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=2),
            )
        )  # fmt: skip
        await s.commit()
    review = Review()
    errors, seen = await asyncio.to_thread(drive, live_server, review)
    assert [e for e in errors if "Failed to load resource" not in e] == []
    assert seen["zone_label"] == "WIT"
    assert "08.00–10.30 WIT" in seen["card"] and "BPSDM Provinsi Papua" in seen["card"]
    assert "0 dari 40 kursi terisi" in seen["card"] and "pengawas1" in seen["card"]
    assert seen["day"] == "Minggu, 2 Maret 2031"
    assert seen["days"][-1] == "Minggu, 2 Maret 2031" and len(seen["days"]) == 2
    assert "WIT" in seen["summary"]
    assert seen["prefill"] == "2031-03-02T08:00"
    assert "08.00–11.00 WIT" in seen["edited"] and "0 dari 35 kursi terisi" in seen["edited"]
    assert seen["locked"] == [True, True, True]
    assert "dimajukan" in seen["refused"]
    assert "BPG" in seen["scheme_row"] and "2026.1" in seen["scheme_row"]
    review.check()
