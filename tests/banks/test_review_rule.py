"""Two people per item: in production a scheme with draft items is not imported unless allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from banktext import balanced_items, parse, text, unit
from sqlmodel import select

from apkd.banks.models import ItemVersion, Scheme
from apkd.banks.service import import_banks
from apkd.errors import Conflict

ROOT = Path(__file__).resolve().parents[2]
REVIEWED = "    review: reviewed\n    reviewer: Yakobus Lelang, S.E.\n    reviewed_at: 2026-10-01\n"
DRAFTS = text(unit("TST.A", 2), balanced_items("TST.A", 5))
ALL_REVIEWED = DRAFTS.replace("    answer: ", REVIEWED + "    answer: ")


async def test_import_refuses_drafts_when_not_allowed(db) -> None:
    with pytest.raises(Conflict) as info:
        await import_banks(db, [parse(DRAFTS)], actor="t", allow_drafts=False)
    assert info.value.code == "bank_has_drafts" and "5 soal belum ditelaah" in info.value.detail
    assert (await db.exec(select(Scheme))).all() == []  # nothing written

    report = await import_banks(db, [parse(ALL_REVIEWED)], actor="t", allow_drafts=False)
    assert report.schemes[0].items_added == 5
    rows = (await db.exec(select(ItemVersion))).all()
    assert {(r.review_status, r.reviewer) for r in rows} == {("reviewed", "Yakobus Lelang, S.E.")}


async def test_a_review_is_recorded_in_place_without_a_new_version(db) -> None:
    await import_banks(db, [parse(DRAFTS)], actor="t")
    report = await import_banks(db, [parse(ALL_REVIEWED)], actor="t")
    s = report.schemes[0]
    assert (s.items_versioned, s.reviews_recorded, s.items_unchanged) == (0, 5, 5)
    rows = (await db.exec(select(ItemVersion))).all()
    assert len(rows) == 5 and all(r.version == 1 and r.review_status == "reviewed" for r in rows)


def _apkd(tmp_path: Path, env_name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}
    env.update(
        {
            "APKD_ENV": env_name,
            "APKD_SECRET_KEY": "k" * 40,
            "APKD_VAR_DIR": str(tmp_path),
            "APKD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/apkd.db",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "apkd", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_in_production_refuses_drafts_unless_allowed(tmp_path) -> None:
    (tmp_path / "drafts.yaml").write_text(DRAFTS)
    assert _apkd(tmp_path, "production", "db", "upgrade").returncode == 0
    r = _apkd(tmp_path, "production", "bank", "import", str(tmp_path / "drafts.yaml"))
    assert r.returncode == 1 and "belum ditelaah" in r.stderr and "--allow-drafts" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    r = _apkd(tmp_path, "production", "bank", "import", "--allow-drafts", str(tmp_path / "drafts.yaml"))
    assert r.returncode == 0 and "5 soal baru" in r.stdout, r.stderr
    # development imports drafts: that is where they are written and tried
    (tmp_path / "dev").mkdir()
    r = _apkd(tmp_path / "dev", "development", "db", "upgrade")
    r = _apkd(tmp_path / "dev", "development", "bank", "import", str(tmp_path / "drafts.yaml"))
    assert r.returncode == 0, r.stderr
