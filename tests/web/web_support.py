"""What the exam-room scripts read from the API (kept next to the tests that pin it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apkd.banks.bankfile import load_bank

CANDIDATE_PASSWORD = "peserta-2026"
STAFF_PASSWORD = "rahasia-123"  # the password of users made by tests/factories.py
PROCTOR = ("pengawas", "pengawas-2026")


@dataclass
class Demo:
    session_id: int


# fields read by pengawas.js
SESSION_FIELDS = {
    "id",
    "title",
    "scheme_code",
    "scheme_title",
    "venue",
    "timezone",
    "starts_at_text",
    "ends_at_text",
    "registered",
}
ROSTER_FIELDS = {
    "registration_id",
    "username",
    "full_name",
    "nip",
    "status",
    "attempt_id",
    "remaining_seconds",
    "last_saved_at",
    "current_position",
}
MINUTES_INCIDENT_FIELDS = {
    "created_at_text",
    "category",
    "username",
    "item_position",
    "description",
    "reported_by",
}
MINUTES_ACTION_FIELDS = {"created_at_text", "action", "username", "minutes", "reason", "actor"}
# fields read by ujian.js
CANDIDATE_FIELDS = {
    "id",
    "session_id",
    "status",
    "scheme_code",
    "remaining_seconds",
    "current_position",
    "items",
}
ITEM_FIELDS = {"position", "type", "stem", "options", "response", "unit", "flagged"}


def answer_for(item: dict[str, Any], *, second: bool = False) -> object:
    """A response of the shape the page sends for this item."""
    options = [o["id"] for o in item["options"]]
    if item["type"] == "single":
        return options[1 if second else 0]
    if item["type"] == "multiple":
        return options[:3] if second else options[:2]
    return "2500000" if second else "1500000"


# --- review material of the browser tests: screenshots and axe-core ---------------------------

REPO = Path(__file__).resolve().parents[2]
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


def screenshot_dir() -> Path:
    """Where the browser tests write their screenshots (not committed): APKD_SCREENSHOT_DIR, or
    var/screenshots in the repository."""
    return Path(os.environ.get("APKD_SCREENSHOT_DIR") or REPO / "var" / "screenshots")


def axe_source() -> str | None:
    """axe-core's script, from APKD_AXE_JS or tests/web/node_modules (`npm install axe-core`)."""
    path = Path(
        os.environ.get("APKD_AXE_JS") or Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
    )
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _bpg_seconds() -> int:
    """The demo sits the BPG scheme of exam_banks/: its duration in seconds."""
    bank, errors = load_bank(Path(__file__).resolve().parents[2] / "exam_banks" / "bpg.yaml")
    assert bank is not None, errors
    return bank.scheme.duration_minutes * 60


BPG_SECONDS = _bpg_seconds()


def log_in(page: Any, base: str, path: str, username: str, password: str) -> None:
    """Sign in with a page's login form (``/ujian``, ``/pengawas`` or ``/admin``)."""
    page.goto(f"{base}{path}")
    page.wait("!document.getElementById('view-login').hidden")
    page.fill("login-username", username)
    page.fill("login-password", password)
    page.submit("login-form")


def open_console(page: Any, base: str, username: str = "admin1", password: str = STAFF_PASSWORD) -> None:
    """Sign in to ``/admin`` and wait for the console."""
    log_in(page, base, "/admin", username, password)
    page.wait("!document.getElementById('view-console').hidden")
