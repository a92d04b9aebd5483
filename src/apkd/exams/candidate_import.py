"""Candidates from a CSV into a session, in one step: every row checked first (a preview names
each bad row with its reason), then accounts made for new officers (username = NIP, a random
initial password shown once for the login slips) and every good row registered.

The CSV has a header row; columns (case-insensitive, Indonesian or English names):
``nip``, ``nama`` (full_name), ``instansi``, ``jabatan``, optionally ``email`` and
``kode_wilayah`` (region_code). Comma or semicolon separated (Excel in Indonesian writes ``;``).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import Role, User
from apkd.accounts.nip import NipError, validate_nip
from apkd.accounts.schemas import UserCreate
from apkd.accounts.service import create_user
from apkd.db import serialize
from apkd.errors import AppError, NotFound, Unprocessable
from apkd.exams.models import ExamSession, Registration
from apkd.exams.sessions import _add_registration

MAX_ROWS = 2000
_ALIASES = {
    "nip": "nip",
    "nama": "full_name",
    "nama_lengkap": "full_name",
    "full_name": "full_name",
    "name": "full_name",
    "instansi": "instansi",
    "jabatan": "jabatan",
    "email": "email",
    "surel": "email",
    "kode_wilayah": "region_code",
    "region_code": "region_code",
}
REQUIRED = ("nip", "full_name", "instansi", "jabatan")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_REGION = re.compile(r"[0-9]{4}")
# No 0/O, 1/l/I: the password is typed from a printed slip.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass
class Row:
    line: int
    nip: str
    full_name: str
    instansi: str
    jabatan: str
    email: str | None
    region_code: str | None
    action: str = ""  # create | register | already_registered
    username: str = ""


@dataclass
class ImportReport:
    rows: list[Row] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    created: int = 0
    registered: int = 0
    skipped: int = 0
    passwords: dict[str, str] = field(default_factory=dict)  # username -> initial password (once)


def initial_password() -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3))


def parse_csv(text: str) -> tuple[list[Row], list[tuple[int, str]]]:
    """The rows of a candidates CSV, and (line, reason) for each bad one. Pure."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise Unprocessable("Berkas CSV kosong: baris pertama harus judul kolom.", code="csv_empty")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
    names = [_ALIASES.get(h) for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise Unprocessable(
            "Kolom wajib tidak ada: "
            + ", ".join(missing)
            + " (baris 1 harus berisi nip, nama, instansi, jabatan).",
            code="csv_missing_columns",
        )
    rows: list[Row] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            raise Unprocessable(f"Paling banyak {MAX_ROWS} baris per impor.", code="csv_too_many_rows")
        values = {n: record[i].strip() for i, n in enumerate(names) if n and i < len(record)}
        empty = [c for c in REQUIRED if not values.get(c)]
        if empty:
            errors.append(
                (line, "kolom " + ", ".join("nama" if c == "full_name" else c for c in empty) + " kosong")
            )
            continue
        try:
            nip = validate_nip(values["nip"]).nip
        except NipError as exc:
            errors.append((line, f"NIP '{values['nip']}': {exc.message}"))
            continue
        if nip in seen:
            errors.append((line, f"NIP {nip} sudah tercantum pada baris {seen[nip]}"))
            continue
        if any(len(values[c]) > 200 for c in ("full_name", "instansi", "jabatan")):
            errors.append((line, "nama, instansi atau jabatan lebih dari 200 karakter"))
            continue
        email = values.get("email") or None
        if email is not None and not _EMAIL.fullmatch(email):
            errors.append((line, f"alamat surel '{email}' tidak sah"))
            continue
        region = values.get("region_code") or None
        if region is not None and not _REGION.fullmatch(region):
            errors.append((line, f"kode wilayah '{region}' harus 4 digit"))
            continue
        seen[nip] = line
        rows.append(Row(line, nip, values["full_name"], values["instansi"], values["jabatan"], email, region))
    return rows, errors


async def import_candidates(
    db: AsyncSession, session_id: int, text: str, *, apply: bool, actor: str
) -> ImportReport:
    """Check every row; with ``apply``, create the missing accounts and register the good rows
    (bad rows are named and left out). Without it, nothing is written: the preview."""
    exam = await db.get(ExamSession, session_id)
    if exam is None:
        raise NotFound(f"Sesi ujian #{session_id} tidak ditemukan.", code="session_not_found")
    rows, errors = parse_csv(text)
    report = ImportReport(errors=errors)
    if apply:
        await serialize(db, f"registrations:{session_id}")
    nips = [r.nip for r in rows]
    users = (
        {u.nip: u for u in (await db.exec(select(User).where(col(User.nip).in_(nips)))).all()} if nips else {}
    )
    registered = set(
        (await db.exec(select(Registration.user_id).where(Registration.session_id == session_id))).all()
    )
    for row in rows:
        user = users.get(row.nip)
        if user is not None and user.role != Role.CANDIDATE:
            report.errors.append((row.line, f"NIP {row.nip} milik akun '{user.username}' yang bukan peserta"))
            continue
        if user is None:
            taken = (await db.exec(select(User.id).where(User.username == row.nip))).first()
            if taken is not None:
                report.errors.append((row.line, f"nama pengguna {row.nip} sudah dipakai akun lain"))
                continue
        row.username = user.username if user is not None else row.nip
        if user is not None and user.id in registered:
            row.action = "already_registered"
            report.skipped += 1
            report.rows.append(row)
            continue
        row.action = "register" if user is not None else "create"
        if not apply:
            report.rows.append(row)
            continue
        try:
            if user is None:
                password = initial_password()
                user = await create_user(
                    db,
                    UserCreate(
                        username=row.nip,
                        password=password,
                        role=Role.CANDIDATE,
                        full_name=row.full_name,
                        nip=row.nip,
                        instansi=row.instansi,
                        jabatan=row.jabatan,
                        region_code=row.region_code,
                    ),
                    actor=actor,
                )
                report.passwords[user.username] = password
                report.created += 1
            await _add_registration(db, exam, user, principal_name=actor)
        except AppError as exc:
            report.errors.append((row.line, str(exc.detail)))
            continue
        report.registered += 1
        report.rows.append(row)
    report.errors.sort()
    if apply:
        await audit.record(
            db,
            "registration.imported",
            "exam_session",
            session_id,
            actor=actor,
            details={
                "created": report.created,
                "registered": report.registered,
                "errors": len(report.errors),
            },
        )
    return report
