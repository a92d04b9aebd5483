"""Issue 14, done when: one headless-Chromium walk of the whole cycle as an admin, on the
console's pages only. Upload a bank (a broken file refused with its line named, then the good
one), create a session in the site's zone, import 40 candidates from CSV (3 bad rows named),
admit two of them from /pengawas and run them through /ujian, publish after the confirmation
shows what will happen, see the results chart and the item analysis chart, revoke one
credential, download the session's certificates (ZIP and one PDF); then a viewer scoped to
Kota Kupang sees its own regency's coverage and nothing of Kabupaten Alor's (and the API
refuses it too). axe-core on every console view, at both sizes."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cdp import Browser, Page, find_chromium
from test_web_room import SAVED, Review, wait_download
from web_support import log_in as login

from apkd.db import utcnow

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="websockets is not installed"),
]
PASSWORD = "rahasia-123"
BANK = Path(__file__).parents[2] / "exam_banks" / "bpg.yaml"
ALOR, KUPANG = "Pemerintah Kabupaten Alor", "Pemerintah Kota Kupang"


def norm(text: str) -> str:
    return " ".join(str(text).split())


def answer_key() -> dict[str, dict[str, Any]]:
    bank = yaml.safe_load(BANK.read_text(encoding="utf-8"))
    return {norm(i["stem"]): {"type": i["type"], "answer": i["answer"]} for i in bank["items"]}


def nip(n: int) -> str:
    return f"19850312201003{1 + n % 2}{n:03d}"


def candidates_csv() -> tuple[str, list[int]]:
    """40 good rows (20 of Alor, 20 of Kupang) and 3 bad ones; returns the text and the bad lines."""
    lines = ["nip,nama,instansi,jabatan,email,kode_wilayah"]
    bad: list[int] = []
    for n in range(1, 41):
        alor = n <= 20
        lines.append(
            f"{nip(n)},Peserta {n:02d},{ALOR if alor else KUPANG},Bendahara Pengeluaran,,{'5305' if alor else '5371'}"
        )
        if n == 3:
            lines.append("12345,Salah Nip,Pemerintah Kabupaten Alor,Bendahara,,5305")
            bad.append(len(lines))
        if n == 18:
            lines.append(f"{nip(90)},,Pemerintah Kabupaten Alor,Bendahara,,5305")  # no name
            bad.append(len(lines))
    lines.append(f"{nip(1)},Peserta Ganda,{ALOR},Bendahara,,5305")  # the same NIP twice
    bad.append(len(lines))
    return "\n".join(lines) + "\n", bad


def put_file(page: Page, input_id: str, name: str, content: str) -> None:
    page.js(
        f"(() => {{ const dt = new DataTransfer(); dt.items.add(new File([{json.dumps(content)}], {json.dumps(name)}));"
        f" const input = document.getElementById({json.dumps(input_id)}); input.files = dt.files;"
        " input.dispatchEvent(new Event('change')); })()"
    )


def row_js(table: str, text: str) -> str:
    return (
        f"[...document.querySelectorAll('#{table} tr')].find(r => r.textContent.includes({json.dumps(text)}))"
    )


def sit_exam(
    b: Browser, base: str, proctor: Page, sid: int, username: str, password: str, name: str, *, wrong: int
) -> None:
    """The candidate logs in on /ujian, waits at the door, is admitted from /pengawas, answers every
    item (all right but the first ``wrong`` ones) and submits."""
    c = b.new_page()
    c.send("Emulation.setDeviceMetricsOverride", width=1366, height=768, deviceScaleFactor=1, mobile=False)
    login(c, base, "/ujian", username, password)
    c.wait("!document.getElementById('view-start').hidden")
    c.fill("session-id", str(sid))
    c.submit("start-form")
    c.wait("!document.getElementById('view-brief').hidden")
    proctor.send("Page.bringToFront")
    proctor.wait(row_js("roster-body", name) + "?.textContent.includes('Menunggu di pintu')", timeout=15)
    proctor.js(
        f"[...{row_js('roster-body', name)}.querySelectorAll('button')].find(b => b.textContent === 'Izinkan masuk').click()"
    )
    proctor.wait("document.getElementById('action-dialog').open")
    proctor.submit("action-form")
    proctor.wait("!document.getElementById('action-dialog').open")
    c.send("Page.bringToFront")
    c.wait("!document.getElementById('brief-start').disabled", timeout=15)
    c.click("#brief-start")
    c.wait("!document.getElementById('view-exam').hidden", timeout=15)
    keys = answer_key()
    total = int(re.search(r"dari (\d+)", c.text("item-title")).group(1))
    for i in range(total):
        c.wait(f"document.getElementById('item-title').textContent.startsWith('Soal {i + 1} ')")
        key = keys[norm(c.text("item-stem"))]
        right = i >= wrong
        if key["type"] == "numeric":
            value = str(key["answer"]) if right else "1"
            input_id = c.js("document.querySelector('#item-answer input').id")
            c.fill(input_id, value)
            c.js("document.querySelector('#item-answer input').blur()")
        else:
            want = key["answer"] if isinstance(key["answer"], list) else [key["answer"]]
            if not right:
                ids = c.js("[...document.querySelectorAll('#item-answer input')].map(x => x.value)")
                want = [next(x for x in ids if x not in want)]
            for opt in want:
                c.js(f"document.querySelector('#item-answer input[value={json.dumps(opt)}]').click()")
        c.wait(SAVED)
        if i < total - 1:
            c.click("#next")
    c.click("#submit-open")
    c.wait("!document.getElementById('view-review').hidden")
    c.click("#review-submit")
    c.wait("document.getElementById('submit-dialog').open")
    c.submit("submit-form")
    c.wait("!document.getElementById('view-closed').hidden")
    c.pump()
    assert [e for e in c.errors if "Failed to load resource" not in e] == [], c.errors
    c.close()


def drive(base: str, review: Review, downloads: Path) -> dict[str, Any]:
    assert CHROMIUM is not None
    b = Browser(CHROMIUM)
    seen: dict[str, Any] = {}
    try:
        p = b.new_page()
        p.viewport(1366, 768)
        p.send("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
        login(p, base, "/admin", "admin1", PASSWORD)
        p.wait("!document.getElementById('view-console').hidden")
        review(p, "jalan-cakupan-kosong")

        # 1. the bank: the broken file refused with its line, the good one imported
        good = BANK.read_text(encoding="utf-8")
        lines = good.splitlines()
        at = next(i for i, line in enumerate(lines) if line.strip().startswith("answer:"))
        broken = "\n".join([*lines[:at], "    answer: zz", *lines[at + 1 :]]) + "\n"
        p.click(".tab[data-tab=banks]")
        put_file(p, "bank-file", "bpg.yaml", broken)
        p.submit("bank-form")
        p.wait("document.querySelectorAll('#bank-errors li').length > 0")
        seen["bank_error"] = p.js("document.querySelector('#bank-errors li').textContent")
        seen["bank_line"] = at + 1
        seen["import_disabled"] = p.js("document.getElementById('bank-import').disabled")
        review(p, "jalan-bank-ditolak")
        put_file(p, "bank-file", "bpg.yaml", good)
        p.submit("bank-form")
        p.wait("!document.getElementById('bank-import').disabled")
        p.click("#bank-import")
        p.wait("document.getElementById('bank-summary').textContent.startsWith('Diimpor')")
        p.wait("document.querySelector('#sch-body tr')?.textContent.includes('BPG')")
        review(p, "jalan-bank")

        # 2. the session, its times typed in the site's zone (WITA)
        p.click(".tab[data-tab=sessions]")
        p.wait("document.querySelector('#ses-scheme option')?.value === 'BPG'")
        wita = utcnow() + timedelta(hours=8)
        p.fill("ses-title", "Sertifikasi Bendahara Pengeluaran Alor-Kupang")
        p.fill("ses-venue", "UPT Pelatihan Kerja Kalabahi")
        p.fill("ses-start", (wita - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
        p.fill("ses-end", (wita + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
        p.fill("ses-capacity", "50")
        p.fill("ses-proctors", "pengawas1")
        p.submit("ses-form")
        p.wait("document.getElementById('ses-summary').textContent.includes('dibuat')")
        sid = int(re.search(r"Sesi (\d+)", p.text("ses-summary")).group(1))
        seen["session_summary"] = p.text("ses-summary")
        p.wait("document.querySelectorAll('#ses-calendar .cal-item').length === 1")
        review(p, "jalan-sesi")

        # 3. 40 candidates from a CSV, 3 bad rows named; accounts and registrations in one step
        text, bad_lines = candidates_csv()
        seen["bad_lines"] = bad_lines
        p.click(".tab[data-tab=import]")
        p.fill("imp-session", str(sid))
        put_file(p, "imp-file", "peserta.csv", text)
        p.submit("imp-form")
        p.wait("document.getElementById('imp-summary').textContent.startsWith('Pratinjau')")
        seen["import_errors"] = p.js(
            "[...document.querySelectorAll('#imp-errors li')].map(l => l.textContent)"
        )
        seen["preview"] = p.text("imp-summary")
        review(p, "jalan-impor-pratinjau")
        p.click("#imp-apply")
        p.wait("document.getElementById('imp-summary').textContent.startsWith('Selesai')")
        seen["imported"] = p.text("imp-summary")
        logins = p.js(
            "Object.fromEntries([...document.querySelectorAll('#imp-body tr')].map(r => [r.children[1].textContent,"
            " [r.children[3].textContent, r.children[5].textContent]]))"
        )

        # 4. two of them sit the exam: admitted from /pengawas, run through /ujian
        pr = b.new_page()
        pr.viewport(1366, 768)
        login(pr, base, "/pengawas", "pengawas1", PASSWORD)
        pr.wait("document.querySelectorAll('#session-list li').length === 1")
        pr.click("#session-list button")
        pr.wait("document.querySelectorAll('#roster-body tr').length === 40")
        sit_exam(b, base, pr, sid, *logins[nip(2)], "Peserta 02", wrong=0)  # Alor: all right
        sit_exam(b, base, pr, sid, *logins[nip(25)], "Peserta 25", wrong=6)  # Kupang: 34 of 40
        pr.close()
        p.send("Page.bringToFront")  # a page in the background draws no frame to screenshot

        # 5. publish: the confirmation says what will happen, then the results and the charts
        p.click(".tab[data-tab=results]")
        p.fill("res-session", str(sid))
        p.click("#res-publish")
        p.wait("document.getElementById('confirm-dialog').open")
        seen["confirm"] = p.js("document.getElementById('confirm-list').textContent")
        review(p, "jalan-terbitkan-konfirmasi")
        p.submit("confirm-form")
        p.wait("document.getElementById('res-summary').textContent.startsWith('Skema')", timeout=30)
        p.wait("document.querySelectorAll('#sr-body tr').length === 2")
        p.wait("!document.getElementById('res-figure').hidden")
        seen["analysis_dots"] = p.js("document.querySelectorAll('#res-chart circle').length")
        seen["dist_bars"] = p.js("[...document.querySelectorAll('#sr-chart rect')].length")
        seen["results"] = p.js("document.getElementById('sr-body').textContent")
        seen["bins"] = p.js("[...document.querySelectorAll('#sr-bins tr')].map(r => r.textContent)")
        review(p, "jalan-hasil")

        # 5b. a key correction: void an item one of them got wrong; the preview names whose
        # score changes, nothing is stored until it is applied
        p.click(".tab[data-tab=corrections]")
        p.fill("kc-session", str(sid))
        p.submit("kc-find")
        p.wait("document.querySelectorAll('#kc-items tr').length > 0")
        p.js(
            "[...document.querySelectorAll('#kc-items tr')].find(r => r.children[3].textContent === '0,50').querySelector('button').click()"
        )
        p.wait("document.getElementById('kc-history').children.length > 0")
        p.js(
            "(() => { const a = document.getElementById('kc-action'); a.value = 'void'; a.dispatchEvent(new Event('change')); })()"
        )
        p.fill("kc-reason", "Soal ambigu: dua pilihan sama-sama benar menurut Permendagri 77/2020")
        p.submit("kc-form")
        p.wait("document.getElementById('kc-summary').textContent.startsWith('Pratinjau')")
        seen["kc_preview"] = p.text("kc-summary")
        seen["kc_rows"] = p.js("[...document.querySelectorAll('#kc-changes tr')].map(r => r.textContent)")
        seen["kc_history_before"] = p.text("kc-history")
        review(p, "jalan-koreksi-pratinjau")
        p.click("#kc-apply")
        p.wait("document.getElementById('kc-summary').textContent.startsWith('Koreksi diterapkan')")
        seen["kc_applied"] = p.text("kc-summary")
        p.wait("document.getElementById('kc-history').textContent.includes('Dibatalkan')")

        # 6. revoke one credential with a reason; download the session's certificates
        p.click(".tab[data-tab=credentials]")
        p.fill("cred-session", str(sid))
        p.submit("cred-form")
        p.wait("document.querySelectorAll('#cred-body tr').length === 2")
        row = row_js("cred-body", "Peserta 25")
        p.js(f"[...{row}.querySelectorAll('button')].find(b => b.textContent === 'Cabut').click()")
        p.wait("document.getElementById('reason-dialog').open")
        p.fill("reason-text", "Data jabatan pemegang keliru")
        p.submit("reason-form")
        p.wait(f"{row}?.textContent.includes('dicabut')")
        p.click("#cred-zip")
        seen["zip"] = wait_download(downloads, f"sertifikat-sesi-{sid}.zip")
        p.click("#cred-pdf")
        seen["pdf"] = wait_download(downloads, f"sertifikat-sesi-{sid}.pdf")
        review(p, "jalan-sertifikat")
        for tab in ("coverage", "keys", "audit", "sites"):
            p.click(f".tab[data-tab={tab}]")
            p.wait(f"!document.getElementById('panel-{tab}').hidden")
            p.js("new Promise(r => setTimeout(r, 400))")
            review(p, f"jalan-{tab}")
        p.pump()
        seen["admin_errors"] = p.errors

        # 7. the viewer of Kota Kupang: its own regency, nothing of Alor's
        p.js("document.getElementById('logout').click()")
        login(p, base, "/admin", "viewer-kupang", PASSWORD)
        p.wait("document.querySelectorAll('#cov-body tr').length > 0")
        p.js("document.querySelector('#cov-body tr th button').click()")
        p.wait("document.querySelector('#cov-body tr th')?.textContent.startsWith('Kab/Kota')")
        seen["viewer_rows"] = p.js("[...document.querySelectorAll('#cov-body tr')].map(r => r.textContent)")
        seen["viewer_tabs"] = p.js(
            "[...document.querySelectorAll('.tab')].filter(t => !t.hidden).map(t => t.dataset.tab)"
        )
        review(p, "jalan-peninjau-kupang")
        token = p.js("JSON.parse(sessionStorage.getItem('apkd.admin.login')).access_token")
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        seen["viewer_alor_api"] = api.get(
            "/api/v1/coverage", params={"level": "instansi", "regency": "5305"}
        ).status_code
        seen["viewer_results_api"] = api.get(f"/api/v1/sessions/{sid}/results").status_code
        api.close()
        p.pump()
        seen["viewer_errors"] = p.errors
        seen["sid"] = sid
        return seen
    finally:
        b.close()


async def test_console_walks_the_whole_cycle(live_server: str, make_user: Any, tmp_path: Path) -> None:
    await make_user("admin", username="admin1")
    await make_user("proctor", username="pengawas1")
    await make_user("viewer", username="viewer-kupang", region_code="5371")
    review = Review()
    seen = await asyncio.to_thread(drive, live_server, review, tmp_path)
    sid = seen["sid"]
    ignore = ("Failed to load resource",)
    assert [e for e in seen["admin_errors"] if not any(i in e for i in ignore)] == []
    assert [e for e in seen["viewer_errors"] if not any(i in e for i in ignore)] == []
    # the bank
    assert (
        seen["bank_error"].startswith(f"bpg.yaml:{seen['bank_line']}: ") and seen["import_disabled"] is True
    )
    # the session in WITA
    assert "WITA" in seen["session_summary"]
    # the import: 40 good rows, the 3 bad ones named by line
    assert seen["preview"].startswith("Pratinjau: 40 baris baik, 3 baris ditolak")
    assert [int(re.match(r"Baris (\d+):", e).group(1)) for e in seen["import_errors"]] == seen["bad_lines"]
    assert "NIP" in seen["import_errors"][0]
    assert seen["imported"].startswith("Selesai: 40 akun dibuat, 40 peserta didaftarkan")
    # the confirmation told what publishing would do
    assert "2 ujian yang sudah ditutup akan dinilai; 2 di antaranya lulus" in seen["confirm"]
    assert "2 sertifikat akan diterbitkan" in seen["confirm"]
    # results, distribution and item analysis
    assert (
        "Peserta 02" in seen["results"] and "Peserta 25" in seen["results"] and "kompeten" in seen["results"]
    )
    assert seen["dist_bars"] == 10 and seen["bins"][-1].endswith("1") and seen["analysis_dots"] > 0
    # the key correction: previewed (nothing stored), then applied; nobody's outcome flips
    assert (
        "0 menjadi kompeten, 0 tidak lagi kompeten" in seen["kc_preview"]
        and "Belum ada yang disimpan" in seen["kc_preview"]
    )
    assert any("Peserta 25" in r and "tetap kompeten" in r for r in seen["kc_rows"])
    assert "Belum pernah dikoreksi" in seen["kc_history_before"]
    assert "0 sertifikat terbit, 0 dicabut" in seen["kc_applied"]
    # certificates: the revoked one left out of the ZIP and the merged PDF
    archive = zipfile.ZipFile(io.BytesIO(seen["zip"]))
    assert len([n for n in archive.namelist() if n.endswith(".pdf")]) == 1
    assert "revoked" in archive.read("daftar.csv").decode("utf-8-sig")
    from pypdf import PdfReader

    assert seen["pdf"].startswith(b"%PDF") and len(PdfReader(io.BytesIO(seen["pdf"])).outline) == 1
    # the viewer: Kota Kupang only; the API refuses Alor and the session's results
    assert len(seen["viewer_rows"]) == 1 and seen["viewer_rows"][0].startswith("Kab/Kota 5371")
    assert "5305" not in "".join(seen["viewer_rows"])
    assert seen["viewer_tabs"] == ["coverage", "renewals", "officers"]
    assert seen["viewer_alor_api"] == 403 and seen["viewer_results_api"] == 403
    assert sid > 0
    review.check()
