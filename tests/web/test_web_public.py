"""Issue 13 points 10-11 in a real browser: `/` and `/v` offer a box to type a number that finds
the credential; every verdict (valid, revoked, suspended, expired, forged token, unknown number,
mistyped number) says what to do next; no green signature card beside a red verdict; technical
details behind "rincian teknis". Screenshots at both sizes and axe-core on every page."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from cdp import Browser, find_chromium
from test_web_room import Review

from apkd.credentials.number import format_number

# The registry tests' credential factories (the real issuing code), shared rather than copied.
_spec = importlib.util.spec_from_file_location(
    "registry_fixtures", Path(__file__).parents[1] / "registry" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_registry = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_registry)
issue = _registry.issue
change_status = _registry.change_status
_fresh_keyring = _registry._fresh_keyring

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="websockets is not installed"),
]

# url path -> (headline, words of the next step, green signature card allowed)
Expect = tuple[str, str, bool]


def drive_public(
    base: str,
    valid_number: str,
    pages: dict[str, tuple[str, Expect]],
    review: Review,
    scanned: str = "",
    nip: str = "",
) -> list[str]:
    assert CHROMIUM is not None
    b = Browser(CHROMIUM)
    try:
        p = b.new_page()
        p.viewport(1366, 768)
        p.goto(f"{base}/")
        assert p.js("!!document.querySelector('form[role=search] input[name=nomor]')")
        review(p, "publik-beranda")
        # typed as people type it: lower case, spaces around
        p.fill("nomor", f"  {valid_number.lower()} ")
        p.js("document.querySelector('form[role=search]').requestSubmit()")
        p.wait(
            f"location.pathname === {json.dumps('/v/' + valid_number)} && document.readyState === 'complete'"
        )
        assert p.js("document.querySelector('.status-word').textContent") == "BERLAKU"
        p.goto(f"{base}/v")
        assert p.js("!!document.querySelector('input[name=nomor]')")
        p.js("document.querySelector('form[role=search]').requestSubmit()")  # empty: asked to type
        p.wait("!!document.getElementById('search-error')")
        review(p, "publik-cari-kosong")
        for name, (path, (headline, step, green)) in pages.items():
            p.goto(f"{base}{path}")
            assert p.js("document.querySelector('.status-word').textContent") == headline, name
            assert step in p.js("document.querySelector('.next-step').textContent"), name
            assert p.js("!!document.querySelector('.sig-ok')") is green or not green, name
            if not green:
                assert p.js("!!document.querySelector('.sig-ok')") is False, name
            technical = p.js("document.getElementById('technical')")
            if technical is not None or p.js("!!document.getElementById('technical')"):
                assert p.js("document.getElementById('technical').open") is False
                assert p.js("document.querySelector('#technical summary').textContent").startswith(
                    "Rincian teknis"
                )
            assert "karakter cek" not in p.js("document.body.textContent")
            assert p.js("!!document.querySelector('input[name=nomor]')"), name
            review(p, f"publik-{name}")
        if scanned:  # a verifier scans the QR, then types the NIP the holder shows
            p.goto(scanned)
            p.fill("nip", nip[:8] + " " + nip[8:14] + " " + nip[14] + " " + nip[15:])
            p.js("document.querySelector('.nip-check form').requestSubmit()")
            p.wait("!!document.querySelector('.nip-result')")
            assert p.js("document.querySelector('.nip-result').textContent").startswith("NIP yang ditunjukkan COCOK")
            assert nip not in p.js("document.body.innerHTML")
            assert p.js("document.querySelector('.status-word').textContent") == "BERLAKU"
            review(p, "publik-cocok-nip")
        p.pump()
        return p.errors
    finally:
        b.close()


async def test_public_pages_as_issue_13_asks(live_server: str, issue: Any, change_status: Any) -> None:
    valid, holder = await issue(full_name="Maria Goreti Lány")
    revoked, _ = await issue(full_name="Yakobus Lelang")
    await change_status(revoked.number, "revoke")
    suspended, _ = await issue(full_name="Ester Padafani")
    await change_status(suspended.number, "suspend")
    expired, _ = await issue(full_name="Abdul Duru", issued_at=datetime.now(UTC) - timedelta(days=5 * 366))
    # a QR token with its signature altered: forged
    url = urlsplit(valid.qr_text)
    token = parse_qs(url.query)["t"][0]
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    unknown = format_number("BPG", "5305", 2026, 999_999)
    mistyped = valid.number[:-1] + ("Z" if not valid.number.endswith("Z") else "Y")
    pages: dict[str, tuple[str, Expect]] = {
        "berlaku": (f"/v/{valid.number}", ("BERLAKU", "Cocokkan nama dan NIP", True)),
        "dicabut": (f"/v/{revoked.number}", ("DICABUT", "Jangan diterima", False)),
        "tidak-berlaku-sementara": (
            f"/v/{suspended.number}",
            ("TIDAK BERLAKU SEMENTARA", "Jangan diterima untuk sementara", False),
        ),
        "kedaluwarsa": (f"/v/{expired.number}", ("KEDALUWARSA", "sertifikasi ulang", False)),
        "palsu": (
            f"/v/{valid.number}?t={quote(forged)}",
            ("TIDAK SAH", "Jangan diterima; laporkan ke", False),
        ),
        "tidak-terdaftar": (f"/v/{unknown}", ("TIDAK TERDAFTAR", "Periksa kembali nomor", False)),
        "salah-ketik": (f"/v/{mistyped}", ("PERIKSA KEMBALI NOMOR", "Periksa kembali nomor", False)),
    }
    review = Review()
    scanned = f"/v/{valid.number}?{url.query}"
    errors = await asyncio.to_thread(
        drive_public, live_server, valid.number, pages, review, f"{live_server}{scanned}", holder.nip
    )
    # the 400/404 verdict pages are expected answers, not errors
    assert [e for e in errors if "Failed to load resource" not in e] == []
    assert len(review.shots) == 2 * (3 + len(pages))
    review.check()
