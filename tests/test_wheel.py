"""The wheel carries the migrations: build it, install it (not editable) into a fresh venv,
and run `apkd db upgrade` from an empty directory against a new SQLite database.

No network: the wheel is built without build isolation (hatchling is a dev dependency) and
installed with --no-deps; the fresh venv sees this venv's dependencies through a .pth line, which
adds their folder to sys.path without running this venv's .pth hooks (so the editable apkd of
the source tree stays out of sight)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from apkd.migrate import alembic_config
from apkd.tables import metadata

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_installed_wheel_migrates_a_new_database_from_any_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        dist,
        ROOT,
        cwd=ROOT,
    )
    (wheel,) = dist.glob("apkd-*.whl")

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path).strip()
    )
    (site / "apkd-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel, cwd=tmp_path)

    empty = tmp_path / "anywhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}
    env.update(
        {
            "APKD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'new' / 'apkd.db'}",
            "APKD_VAR_DIR": str(tmp_path / "var"),
            "PYTHONPATH": "",
        }
    )
    where = _run(
        python,
        "-c",
        "import apkd, apkd.migrate as m; print(apkd.__file__); print(m.script_location())",
        cwd=empty,
        env=env,
    )
    package_file, location = where.split()
    assert Path(package_file).is_relative_to(venv), where  # the installed copy, not the source tree
    assert Path(location) == Path(package_file).parent / "migrations"

    out = _run(venv / "bin" / "apkd", "db", "upgrade", cwd=empty, env=env)
    assert "versi terbaru" in out
    assert list(empty.iterdir()) == []  # nothing written into the working directory

    with sqlite3.connect(tmp_path / "new" / "apkd.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert set(metadata().tables) <= tables
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
