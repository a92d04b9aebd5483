"""Demo data for ``make run``: Pemerintah Kabupaten Alor (NTT), a session today in Kalabahi.

Idempotent: running it again adds nothing that is already there. Never run in production.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import User
from apkd.accounts.schemas import UserCreate
from apkd.accounts.service import create_user
from apkd.banks.models import Scheme
from apkd.db import utcnow
from apkd.errors import Conflict
from apkd.exams.models import ExamSession, Registration, SessionProctor

SITE_TZ = "Asia/Makassar"
INSTANSI_PREFIX = "Pemerintah Kabupaten Alor"
REGION = "5305"  # the region code used in credential numbers (see docs/decisions)

DEMO_USERS: list[dict[str, str]] = [
    {
        "username": "admin",
        "password": "admin-apkd-2026",
        "role": "admin",
        "full_name": "Admin Lembaga Sertifikasi",
    },
    {
        "username": "pengawas",
        "password": "pengawas-2026",
        "role": "proctor",
        "full_name": "Fransiskus Xaverius Mali, S.E.",
    },
    {
        "username": "auditor",
        "password": "auditor-2026",
        "role": "auditor",
        "full_name": "Auditor Inspektorat",
    },
    {
        "username": "yohanes",
        "password": "peserta-2026",
        "role": "candidate",
        "full_name": "Yohanes Mau",
        "nip": "198503122010031001",
        "instansi": f"Dinas Pendidikan dan Kebudayaan, {INSTANSI_PREFIX}",
        "jabatan": "Bendahara Pengeluaran",
    },
    {
        "username": "maria",
        "password": "peserta-2026",
        "role": "candidate",
        "full_name": "Maria Magdalena Lapenangga",
        "nip": "199001252015032002",
        "instansi": f"Badan Pengelolaan Keuangan dan Aset Daerah, {INSTANSI_PREFIX}",
        "jabatan": "Bendahara Pengeluaran",
    },
    {
        "username": "abdul",
        "password": "peserta-2026",
        "role": "candidate",
        "full_name": "Abdul Rahman Duru",
        "nip": "198807142011011003",
        "instansi": f"Dinas Kesehatan, {INSTANSI_PREFIX}",
        "jabatan": "Bendahara Pengeluaran",
    },
    {
        "username": "ester",
        "password": "peserta-2026",
        "role": "candidate",
        "full_name": "Ester Maleta Padafani",
        "nip": "199204032019032004",
        "instansi": f"Sekretariat Daerah, {INSTANSI_PREFIX}",
        "jabatan": "Bendahara Pengeluaran",
    },
    {
        "username": "marthen",
        "password": "peserta-2026",
        "role": "candidate",
        "full_name": "Marthen Luther Mautuka",
        "nip": "198711202012121005",
        "instansi": f"Dinas Pekerjaan Umum dan Penataan Ruang, {INSTANSI_PREFIX}",
        "jabatan": "Bendahara Pengeluaran",
    },
]


def _repo_banks() -> Path:
    return Path(__file__).resolve().parents[2] / "exam_banks"


async def _ensure_scheme(session: AsyncSession, code: str) -> Scheme:
    scheme = (await session.exec(select(Scheme).where(Scheme.code == code))).first()
    if scheme is None:
        from apkd.banks.bankfile import load_banks
        from apkd.banks.service import import_banks

        banks, errors = load_banks([_repo_banks()])
        if errors:
            raise RuntimeError("bank soal contoh tidak valid: " + "; ".join(map(str, errors)))
        await import_banks(session, banks, actor="demo")
        scheme = (await session.exec(select(Scheme).where(Scheme.code == code))).first()
    assert scheme is not None
    return scheme


async def seed_demo(session: AsyncSession) -> list[str]:
    """Seed the demo data in one transaction, committed here; returns the lines to print."""
    users: dict[str, User] = {}
    notes: list[str] = []
    for spec in DEMO_USERS:
        found = (await session.exec(select(User).where(User.username == spec["username"]))).first()
        if found is None:
            fields = {**spec, "region_code": REGION if spec["role"] == "candidate" else None}
            data = msgspec.convert(fields, UserCreate)
            try:
                found = await create_user(session, data, actor="demo")
            except Conflict as exc:  # e.g. the NIP already belongs to a real account
                notes.append(f"  (akun demo {spec['username']} dilewati: {exc.detail})")
                continue
        users[spec["username"]] = found
    scheme = await _ensure_scheme(session, "BPG")
    tz = ZoneInfo(SITE_TZ)
    today = utcnow().astimezone(tz).date()
    starts = datetime.combine(today, time(0, 0), tz)
    title = f"Ujian Sertifikasi Bendahara Pengeluaran, Kalabahi {today.isoformat()}"
    exam = (await session.exec(select(ExamSession).where(ExamSession.title == title))).first()
    if exam is None:
        exam = ExamSession(
            scheme_id=scheme.id or 0,
            title=title,
            venue="UPT Pelatihan Kerja, Jl. Soekarno-Hatta, Kalabahi, Kabupaten Alor",
            timezone=SITE_TZ,
            starts_at=starts,
            ends_at=starts + timedelta(days=1) - timedelta(minutes=1),
            capacity=40,
            created_by=users["admin"].id,
        )
        session.add(exam)
        await session.flush()
        session.add(SessionProctor(session_id=exam.id or 0, user_id=users["pengawas"].id or 0))
        for spec in DEMO_USERS:
            if spec["role"] == "candidate" and spec["username"] in users:
                session.add(Registration(session_id=exam.id or 0, user_id=users[spec["username"]].id or 0))
    # `apkd demo` is its own unit of work: the services above flush, the command commits.
    await session.commit()
    lines = [
        "Data demo siap.",
        f"Sesi ujian #{exam.id}: {exam.title}",
        "Akun masuk (nama pengguna / kata sandi):",
    ]
    for spec in DEMO_USERS:
        if spec["username"] not in users:
            continue
        lines.append(f"  {spec['role']:<9} {spec['username']:<10} {spec['password']}")
    return lines + notes
