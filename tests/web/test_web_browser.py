"""The two exam-room pages in a real browser (headless Chromium over the DevTools protocol),
against the app served over HTTP with the demo data: the proctor admits, pauses, resumes and
extends from the roster; the candidate starts, answers, loses the network, reloads, and submits.

Skipped when no Chromium is installed (`apt-get install chromium` on Debian)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from typing import Any

import httpx
import pytest
from cdp import Browser, Page, find_chromium
from web_support import BPG_SECONDS, CANDIDATE_PASSWORD, PROCTOR, Demo

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="websockets is not installed"),
]

SAVED = "document.getElementById('save-state').textContent === 'Semua jawaban tersimpan'"


def row_js(name: str) -> str:
    return f"[...document.querySelectorAll('#roster-body tr')].find(r => r.textContent.includes({json.dumps(name)}))"


def press(page: Page, name: str, label: str) -> None:
    page.js(
        f"[...{row_js(name)}.querySelectorAll('button')].find(b => b.textContent === {json.dumps(label)}).click()"
    )
    page.wait("document.getElementById('action-dialog').open")


def answer_current(page: Page, *, choice: int = 0, number: str = "1500000") -> None:
    kind = page.js("document.querySelector('#item-answer input').type")
    if kind == "text":
        page.fill(page.js("document.querySelector('#item-answer input').id"), number)
        page.js("document.querySelector('#item-answer input').blur()")
    else:
        page.js(f"document.querySelectorAll('#item-answer input')[{choice}].click()")


def timer_seconds(page: Page) -> int:
    parts = [int(x) for x in page.text("timer").split(":")]
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + p
    return seconds


def drive(base: str, session_id: int) -> tuple[list[str], list[str]]:
    assert CHROMIUM is not None
    b = Browser(CHROMIUM)
    try:
        return _drive(b, base, session_id)
    finally:
        b.close()


def _drive(b: Browser, base: str, session_id: int) -> tuple[list[str], list[str]]:
    # --- the proctor opens the session's roster
    pr = b.new_page()
    pr.goto(f"{base}/pengawas")
    pr.wait("!document.getElementById('view-login').hidden")
    pr.fill("login-username", PROCTOR[0])
    pr.fill("login-password", PROCTOR[1])
    pr.submit("login-form")
    pr.wait("document.querySelectorAll('#session-list li').length === 1")
    pr.click("#session-list button")
    pr.wait("document.querySelectorAll('#roster-body tr').length === 5")
    assert pr.text("s-id") == str(session_id)
    assert "WITA" in pr.text("s-window")
    assert "Belum hadir" in pr.js(row_js("Yohanes Mau") + ".textContent")

    # --- the candidate logs in and asks to start: waits for the proctor
    c = b.new_page()
    c.send("Emulation.setDeviceMetricsOverride", width=390, height=800, deviceScaleFactor=1, mobile=True)
    c.send("Network.enable")
    c.goto(f"{base}/ujian")
    c.wait("!document.getElementById('view-login').hidden")
    c.fill("login-username", "yohanes")
    c.fill("login-password", "salah")
    c.submit("login-form")
    c.wait("!document.getElementById('login-error').hidden")
    c.fill("login-password", CANDIDATE_PASSWORD)
    c.submit("login-form")
    c.wait("!document.getElementById('view-start').hidden")
    assert c.js("document.cookie") == ""
    token = c.js("JSON.parse(sessionStorage.getItem('apkd.ujian.login')).access_token")
    assert token and token not in c.js("location.href")
    c.fill("session-id", str(session_id))
    c.submit("start-form")
    c.wait("!document.getElementById('view-brief').hidden")
    assert "pengawas" in c.text("b-state")
    assert c.js("document.getElementById('brief-start').disabled") is True

    # --- admitted from the roster: the start page enables "Mulai ujian"; the clock starts on it
    pr.wait(row_js("Yohanes Mau") + ".textContent.includes('Menunggu di pintu')", timeout=8)
    press(pr, "Yohanes Mau", "Izinkan masuk")
    pr.submit("action-form")
    pr.wait("!document.getElementById('action-dialog').open")
    c.wait("!document.getElementById('brief-start').disabled", timeout=12)
    c.click("#brief-start")
    c.wait("!document.getElementById('view-exam').hidden", timeout=12)
    # the demo sits the BPG scheme of exam_banks/: the clock starts from its duration
    assert BPG_SECONDS - 60 < timer_seconds(c) <= BPG_SECONDS, c.text("timer")
    assert c.text("item-title").startswith("Soal 1 dari ")

    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    attempt_id = c.js("JSON.parse(sessionStorage.getItem('apkd.ujian.attempt')).id")

    def stored(position: int) -> Any:
        view = api.get(f"/api/v1/attempts/{attempt_id}").json()
        return next(i for i in view["items"] if i["position"] == position)["response"]

    answer_current(c)
    c.wait(SAVED)
    assert stored(1) is not None

    # --- the network drops: the answer is marked unsaved, then sent when it is back
    c.send(
        "Network.emulateNetworkConditions",
        offline=True,
        latency=0,
        downloadThroughput=-1,
        uploadThroughput=-1,
    )
    c.click("#next")
    answer_current(c, number="2500000")
    c.wait("document.getElementById('save-state').textContent.includes('belum tersimpan')", timeout=10)
    assert "unsaved" in c.js("document.querySelector('#item-nav button[data-pos=\"2\"]').className")
    assert "KONEKSI TERPUTUS" in c.text("hold-title")
    assert stored(2) is None
    c.send(
        "Network.emulateNetworkConditions",
        offline=False,
        latency=0,
        downloadThroughput=-1,
        uploadThroughput=-1,
    )
    c.wait(SAVED, timeout=25)
    assert stored(2) is not None

    # --- a reload that lost the per-item seq counters (as a new tab would): the next change gets
    # stale_seq, the page sees the stored answer is the one it started from, and sends it above
    c.js(f"sessionStorage.removeItem('apkd.ujian.seq.{attempt_id}')")
    c.goto(f"{base}/ujian")
    c.wait("!document.getElementById('view-exam').hidden")
    c.js("document.querySelector('#item-nav button[data-pos=\"1\"]').click()")
    before = stored(1)
    answer_current(c, choice=1, number="7")
    c.wait(SAVED)
    assert stored(1) != before
    c.pump()
    saves = [(v, s) for v, url, s in c.responses if url.endswith(f"/attempts/{attempt_id}/responses/1")]
    assert saves[-2:] == [("PUT", 409), ("PUT", 200)], saves  # stale_seq, then saved above it

    # --- paused by the proctor: a clear state, the clock stops; resumed; extended
    time.sleep(0.5)
    pr.wait(row_js("Yohanes Mau") + ".textContent.includes('Mengerjakan')", timeout=8)
    press(pr, "Yohanes Mau", "Jeda")
    pr.submit("action-form")
    assert pr.text("action-error") == "Alasan jeda wajib diisi."
    pr.fill("action-reason", "Listrik padam di ruang ujian")
    pr.submit("action-form")
    pr.wait("!document.getElementById('action-dialog').open")
    c.wait("document.getElementById('hold-title').textContent === 'UJIAN DIHENTIKAN SEMENTARA'", timeout=8)
    assert c.js("document.getElementById('item-answer').disabled") is True
    frozen = c.text("timer")
    time.sleep(1.5)
    assert c.text("timer") == frozen
    pr.wait(row_js("Yohanes Mau") + ".textContent.includes('Dijeda')", timeout=8)
    press(pr, "Yohanes Mau", "Lanjutkan")
    pr.fill("action-reason", "Listrik menyala kembali")
    pr.submit("action-form")
    pr.wait("!document.getElementById('action-dialog').open")
    c.wait("document.getElementById('hold-panel').hidden", timeout=8)
    before_extend = timer_seconds(c)
    press(pr, "Yohanes Mau", "Tambah waktu")
    pr.fill("action-minutes", "5")
    pr.fill("action-reason", "Ganti komputer")
    pr.submit("action-form")
    pr.wait("!document.getElementById('action-dialog').open")
    c.wait(
        f"(() => {{ const t = document.getElementById('timer').textContent.split(':').map(Number);"
        f" return t.reduce((a, x) => a * 60 + x, 0) > {before_extend + 240}; }})()",
        timeout=8,
    )

    # --- the minutes list what was done, with the reasons
    pr.js("document.getElementById('minutes-box').open = true")
    pr.wait("document.getElementById('minutes-actions').textContent.includes('Listrik padam di ruang ujian')")
    assert "5 menit" in pr.text("minutes-actions")

    # --- submit, with the confirmation
    c.click("#submit-open")
    c.wait("!document.getElementById('view-review').hidden")
    c.click("#review-submit")
    c.wait("document.getElementById('submit-dialog').open")
    assert "soal sudah dijawab" in c.text("submit-summary")
    c.click("#submit-cancel")
    assert not c.js("document.getElementById('submit-dialog').open")
    c.click("#review-submit")
    c.submit("submit-form")
    c.wait("!document.getElementById('view-closed').hidden")
    assert c.text("closed-title") == "UJIAN SELESAI"
    assert api.get(f"/api/v1/attempts/{attempt_id}").json()["status"] == "submitted"
    pr.wait(row_js("Yohanes Mau") + ".textContent.includes('Selesai')", timeout=8)

    c.pump()
    pr.pump()
    api.close()
    return c.errors, pr.errors


async def test_exam_room_in_a_browser(live_server: str, demo: Demo) -> None:
    candidate_errors, proctor_errors = await asyncio.to_thread(drive, live_server, demo.session_id)
    # no script error and no CSP violation on either page (offline fetch failures aside)
    ignore = ("net::ERR_INTERNET_DISCONNECTED", "Failed to fetch", "Failed to load resource")
    assert [e for e in candidate_errors if not any(i in e for i in ignore)] == []
    assert proctor_errors == []
