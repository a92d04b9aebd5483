"""Issue 14 in a real browser: the console (/admin) as an admin walks the coverage view down
from province to regency to instansi, finds an officer, revokes a credential with a reason; a
viewer scoped to one kabupaten/kota sees only its own. axe-core on every view; the desktop
screenshot of the coverage view is the one the README shows (docs/console-coverage.png)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from cdp import Browser, find_chromium
from sqlalchemy import text
from test_web_room import Review
from web_support import open_console

from apkd.db import session_factory

_spec = importlib.util.spec_from_file_location(
    "registry_fixtures_admin", Path(__file__).parents[1] / "registry" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_registry = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_registry)
issue = _registry.issue
_fresh_keyring = _registry._fresh_keyring

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="websockets is not installed"),
]
PASSWORD = "rahasia-123"


BANK = Path(__file__).parents[2] / "exam_banks" / "bpg.yaml"


def put_file(page: Any, input_id: str, name: str, content: str) -> None:
    """Choose a file in a file input, as a user would (DataTransfer into input.files)."""
    page.js(
        f"(() => {{ const dt = new DataTransfer(); dt.items.add(new File([{json.dumps(content)}], {json.dumps(name)}));"
        f" const input = document.getElementById({json.dumps(input_id)}); input.files = dt.files;"
        " input.dispatchEvent(new Event('change')); })()"
    )


def rows(page: Any) -> list[str]:
    return page.js("[...document.querySelectorAll('#cov-body tr th')].map(t => t.textContent)")


def login(page: Any, base: str, username: str) -> None:
    open_console(page, base, username, PASSWORD)
    page.wait("document.querySelectorAll('#cov-body tr').length > 0")


def drive(base: str, review: Review, revoke_number: str) -> list[str]:
    assert CHROMIUM is not None
    b = Browser(CHROMIUM)
    try:
        p = b.new_page()
        p.viewport(1366, 768)
        login(p, base, "admin1")
        assert rows(p) == ["Provinsi 53"]
        p.js("document.querySelector('#cov-body tr th button').click()")
        p.wait("document.querySelector('#cov-body tr th')?.textContent.startsWith('Kab/Kota')")
        assert sorted(rows(p)) == ["Kab/Kota 5305", "Kab/Kota 5371"]
        p.js(
            "[...document.querySelectorAll('#cov-body tr th button')]"
            ".find(b => b.textContent === 'Kab/Kota 5305').click()"
        )
        p.wait("document.querySelectorAll('#cov-crumbs li').length === 3")
        p.wait("document.querySelector('#cov-body tr th')?.textContent.includes('Alor')")
        review(p, "admin-cakupan-instansi")
        p.js("document.querySelector('#cov-crumbs li:nth-child(2) button').click()")
        p.wait("document.querySelectorAll('#cov-crumbs li').length === 2")
        p.wait("document.querySelectorAll('#cov-body tr').length === 2")
        review(p, "admin-cakupan")

        # a bank file: the broken one refused with its line named, the good one imported
        good = BANK.read_text(encoding="utf-8")
        lines = good.splitlines()
        at = next(i for i, line in enumerate(lines) if line.strip().startswith("answer:"))
        broken = "\n".join([*lines[:at], "    answer: zz", *lines[at + 1 :]]) + "\n"
        p.click(".tab[data-tab=banks]")
        put_file(p, "bank-file", "bpg.yaml", broken)
        p.submit("bank-form")
        p.wait("document.querySelectorAll('#bank-errors li').length > 0")
        assert p.js("document.querySelector('#bank-errors li').textContent").startswith(
            f"bpg.yaml:{at + 1}: "
        )
        assert p.js("document.getElementById('bank-import').disabled") is True
        review(p, "admin-bank-ditolak")
        put_file(p, "bank-file", "bpg.yaml", good)
        p.submit("bank-form")
        p.wait("!document.getElementById('bank-import').disabled")
        p.click("#bank-import")
        p.wait("document.getElementById('bank-summary').textContent.startsWith('Diimpor')")
        assert re.search(r"BPG: .*[1-9][0-9]* soal baru", p.text("bank-summary"))

        # officer search
        p.click(".tab[data-tab=officers]")
        p.fill("off-q", "Lamuri")
        p.submit("off-form")
        p.wait("document.querySelectorAll('#off-results .officer').length > 0")
        assert "Sertifikat APKD-" in p.js("document.getElementById('off-results').textContent")
        review(p, "admin-cari-pegawai")

        # revoke with a reason
        p.click(".tab[data-tab=credentials]")
        p.submit("cred-form")
        p.wait("document.querySelectorAll('#cred-body tr').length === 3")
        row = f"[...document.querySelectorAll('#cred-body tr')].find(r => r.textContent.includes({json.dumps(revoke_number)}))"
        p.js(f"[...{row}.querySelectorAll('button')].find(b => b.textContent === 'Cabut').click()")
        p.wait("document.getElementById('reason-dialog').open")
        p.submit("reason-form")  # empty reason: asked for one
        p.wait("!document.getElementById('reason-error').hidden")
        p.fill("reason-text", "Data pemegang keliru")
        p.submit("reason-form")
        p.wait(f"{row}?.textContent.includes('dicabut')")
        review(p, "admin-sertifikat")

        # a viewer of Kota Kupang: its own regency only, even when it asks for another
        p.js("document.getElementById('logout').click()")
        login(p, base, "viewer-kupang")
        assert rows(p) == ["Provinsi 53"]
        assert "5371" in p.text("cov-scope")
        assert p.js("document.querySelector('.tab[data-tab=import]').hidden") is True
        p.js("document.querySelector('#cov-body tr th button').click()")
        p.wait("document.querySelector('#cov-body tr th')?.textContent.startsWith('Kab/Kota')")
        assert rows(p) == ["Kab/Kota 5371"]
        review(p, "viewer-cakupan")
        p.pump()
        return p.errors
    finally:
        b.close()


async def test_console_coverage_officers_and_revocation(
    live_server: str, issue: Any, make_user: Any, clean: Any
) -> None:
    await make_user("admin", username="admin1")
    await make_user("viewer", username="viewer-kupang", region_code="5371")
    await issue(full_name="Siti Aminah Lamuri")
    second, _ = await issue(full_name="Yohanes Mau")
    kupang, kupang_user = await issue(full_name="Maria Ndun", instansi="BPKAD Kota Kupang")
    # the third officer works in Kota Kupang (5371): as if issued there
    async with session_factory(clean)() as s:
        await s.execute(text("UPDATE credential SET region_code = '5371' WHERE id = :i"), {"i": kupang.id})
        await s.execute(text("UPDATE app_user SET region_code = '5371' WHERE id = :i"), {"i": kupang_user.id})
        await s.commit()

    review = Review()
    errors = await asyncio.to_thread(drive, live_server, review, second.number)
    assert [e for e in errors if "Failed to load resource" not in e] == []
    review.check()
    # APKD_UPDATE_README_SHOT=1 refreshes the README's picture of the coverage view.
    shot = review.dir / "admin-cakupan-desktop.png"
    if os.environ.get("APKD_UPDATE_README_SHOT") == "1" and shot.is_file():
        shutil.copyfile(shot, Path(__file__).parents[2] / "docs" / "console-coverage.png")
