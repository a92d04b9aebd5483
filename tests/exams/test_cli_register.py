"""`apkd session register SESSION_ID FILE.csv`, run as a user runs it (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from apkd.accounts.security import Principal
from apkd.db import session_factory, utcnow
from apkd.exams import sessions
from apkd.exams.models import Registration
from apkd.exams.schemas import SessionCreate

ROOT = Path(__file__).resolve().parents[2]


def apkd(db_url: str, var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}
    env.update({"APKD_DATABASE_URL": db_url, "APKD_VAR_DIR": str(var_dir), "APKD_ENV": "test"})
    return subprocess.run(
        [sys.executable, "-m", "apkd", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


async def test_register_from_csv_reports_bad_rows_by_line(
    clean, make_user, reimport, db_url, tmp_path
) -> None:
    await reimport()
    admin = await make_user("admin", username="admin1")
    await make_user("candidate", username="yohanes", nip="198503122010031001")
    await make_user("candidate", username="maria", nip="199001252015032002")
    await make_user("candidate", username="abdul", nip="198807142011011003")
    await make_user("proctor", username="pengawas1")
    now = utcnow()
    async with session_factory(clean)() as s:
        exam = await sessions.create_session(
            s,
            SessionCreate(
                scheme_code="UJI",
                title="Sesi CSV",
                venue="Kalabahi",
                starts_at=now,
                ends_at=now + timedelta(hours=3),
                proctors=["pengawas1"],
            ),
            principal=Principal(admin.id, "admin1", "admin", "sid", 0),
        )
        session_id = exam.id
        await s.commit()
    csv_file = tmp_path / "peserta.csv"
    csv_file.write_text(
        "no,nama,nip\n"
        "1,Yohanes Mau,198503122010031001\n"
        "2,Salah Ketik,19850312201003100\n"
        "\n"
        "3,Maria,199001252015 03 2 002\n"
        "4,Tidak Dikenal,198501012010011009\n"
        "5,Yohanes lagi,198503122010031001\n"
        "6,Tanpa NIP,\n",
        encoding="utf-8",
    )
    r = apkd(db_url, tmp_path, "session", "register", str(session_id), str(csv_file))
    assert r.returncode == 1, r.stdout + r.stderr
    err = r.stderr.splitlines()
    assert any(line.startswith(f"{csv_file}:3: ") and "NIP" in line for line in err), r.stderr
    assert any(line.startswith(f"{csv_file}:6: ") and "tidak terdaftar" in line for line in err), r.stderr
    assert any(line.startswith(f"{csv_file}:7: ") and "baris 2" in line for line in err), r.stderr
    assert any(line.startswith(f"{csv_file}:8: ") for line in err), r.stderr
    assert not any(f"{csv_file}:2:" in line or f"{csv_file}:5:" in line for line in err)
    assert "2 peserta didaftarkan" in r.stdout and "4 baris bermasalah" in r.stdout
    assert "tetap didaftarkan" in r.stderr
    async with session_factory(clean)() as s:
        regs = (await s.exec(select(Registration).where(Registration.session_id == session_id))).all()
    assert len(regs) == 2

    # fixed file, run again: the registered ones are skipped, the rest registered, exit 0
    csv_file.write_text("nip\n198503122010031001\n198807142011011003\n", encoding="utf-8")
    r = apkd(db_url, tmp_path, "session", "register", str(session_id), str(csv_file))
    assert r.returncode == 0, r.stderr
    assert "1 peserta didaftarkan" in r.stdout and "1 sudah terdaftar" in r.stdout
    async with session_factory(clean)() as s:
        regs = (await s.exec(select(Registration).where(Registration.session_id == session_id))).all()
    assert len(regs) == 3

    # no nip column, unknown session
    bad = tmp_path / "salah.csv"
    bad.write_text("nama\nYohanes\n", encoding="utf-8")
    r = apkd(db_url, tmp_path, "session", "register", str(session_id), str(bad))
    assert r.returncode == 1 and f"{bad}:1:" in r.stderr and "nip" in r.stderr
    r = apkd(db_url, tmp_path, "session", "register", "9999", str(csv_file))
    assert r.returncode == 1 and "tidak ditemukan" in r.stderr
