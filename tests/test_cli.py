"""The `apkd` command as a user runs it (a subprocess, its own database in a temp folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("cli")
    e = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}
    e.update({"APKD_VAR_DIR": str(d), "APKD_DATABASE_URL": f"sqlite+aiosqlite:///{d}/apkd.db"})
    r = apkd(e, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    return e


def apkd(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apkd", *args],
        input=stdin,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_user_create_and_clear_errors(env) -> None:
    r = apkd(
        env,
        "user",
        "create",
        "--role",
        "candidate",
        "--username",
        "bendahara1",
        "--password-stdin",
        "--full-name",
        "Yohanes Mau",
        "--nip",
        "198503122010031001",
        stdin="rahasia-123\n",
    )
    assert r.returncode == 0, r.stderr
    assert "bendahara1" in r.stdout
    r = apkd(
        env,
        "user",
        "create",
        "--role",
        "candidate",
        "--username",
        "bendahara1",
        "--password-stdin",
        stdin="rahasia-123\n",
    )
    assert r.returncode == 1 and "sudah dipakai" in r.stderr
    r = apkd(
        env,
        "user",
        "create",
        "--role",
        "candidate",
        "--username",
        "bendahara2",
        "--password-stdin",
        "--nip",
        "198513122010031001",
        stdin="rahasia-123\n",
    )
    assert r.returncode == 1 and "Tanggal lahir" in r.stderr
    assert "Traceback" not in r.stderr


def test_bank_check_reports_file_and_line(env, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (ROOT / "tests" / "banks" / "test_import.py")
        .read_text()
        .split('BANK = """\\\n')[1]
        .split('"""')[0]
        .replace("answer: a", "answer: z")
    )
    r = apkd(env, "bank", "check", str(bad))
    assert r.returncode == 1
    assert f"{bad}:20:" in r.stderr and "bukan salah satu opsi" in r.stderr, r.stderr
    r = apkd(env, "bank", "check", "exam_banks")
    assert r.returncode == 0, r.stderr


def test_bank_import_idempotent_and_demo(env) -> None:
    r = apkd(env, "bank", "import", "exam_banks")
    assert r.returncode == 0, r.stderr
    r2 = apkd(env, "bank", "import", "exam_banks")
    assert r2.returncode == 0 and "tidak ada perubahan" in r2.stdout
    d1 = apkd(env, "demo")
    assert d1.returncode == 0, d1.stderr
    assert "pengawas" in d1.stdout and "admin" in d1.stdout
    d2 = apkd(env, "demo")
    assert d2.returncode == 0 and d2.stdout.splitlines()[1] == d1.stdout.splitlines()[1]
    r = apkd(env, "audit", "verify")
    assert r.returncode == 0 and "utuh" in r.stdout
