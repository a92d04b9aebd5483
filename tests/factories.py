"""Factories for tests and benchmarks, in one place: users, the test bank, live exam sessions
(bank imported, staff and candidates, registered and admitted as asked), and exam outcomes
without sitting the exam (a session, registrations, attempts, results). Tests import it as ``factories`` (pytest
puts tests/ on the path); ``python -m bench`` from the repo root as ``tests.factories``. It is
not part of the installed package.

Users go through the accounts service (:func:`create_test_user`), so their passwords are hashed
with the process's argon2 cost (lowered by tests/conftest.py).

Issuing, the registry and their benchmarks need candidates who have passed; walking each one
through admit, start, save and submit would make those tests slow and about something else.
These builders write the rows an exam leaves behind (a closed session, admitted
registrations, submitted attempts with a frozen form snapshot, graded results) with bulk
inserts, in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import User
from apkd.accounts.schemas import UserCreate
from apkd.accounts.security import Principal
from apkd.accounts.service import create_user
from apkd.banks.bankfile import parse_bank
from apkd.banks.models import Scheme, SchemeUnit
from apkd.banks.service import import_bank
from apkd.db import utcnow
from apkd.exams import proctoring, sessions
from apkd.exams.models import Attempt, ExamSession, Registration
from apkd.exams.schemas import SessionCreate
from apkd.grading.models import Result

__all__ = [
    "PASSWORD",
    "SAMPLE_SCHEME",
    "ExamSetup",
    "Outcomes",
    "bank_text",
    "create_test_user",
    "exam_setup",
    "import_bank_text",
    "passed_results",
    "principal_of",
    "create_exam_session",
    "sample_scheme",
]

PASSWORD = "rahasia-123"


async def create_test_user(
    session: AsyncSession,
    n: int,
    role: str = "candidate",
    username: str | None = None,
    password: str = PASSWORD,
    **fields: Any,
) -> User:
    """User number ``n`` of a test: a unique username, a valid NIP for candidates (unless one
    is given, or ``n`` is a multiple of 1000: then none), created through the service."""
    username = username or f"{role}{n}-{uuid.uuid4().hex[:6]}"
    if role == "candidate" and "nip" not in fields:
        fields["nip"] = f"19850312201003{1 + n % 2}{n % 1000:03d}" if n % 1000 else None
    fields.setdefault("full_name", f"Pengguna {username}")
    return await create_user(
        session, UserCreate(username=username, password=password, role=role, **fields), actor="test"
    )


SAMPLE_SCHEME: dict[str, Any] = {
    "code": "BPG",
    "version": "2026.1",
    "title": "Bendahara Pengeluaran",
    "position": "Bendahara Pengeluaran SKPD",
    "duration_minutes": 90,
    "validity_months": 36,
    "pass_score": 70.0,
    "content_hash": "0" * 64,
}


async def sample_scheme(session: AsyncSession, **fields: Any) -> Scheme:
    """The scheme with this code (default BPG), made bare (no units, no items) when missing."""
    values = {**SAMPLE_SCHEME, **fields}
    found = (await session.exec(select(Scheme).where(Scheme.code == values["code"]))).first()
    if found is not None:
        return found
    scheme = Scheme(**values)
    session.add(scheme)
    await session.flush()
    return scheme


@dataclass
class Outcomes:
    session: ExamSession
    attempts: list[Attempt]
    results: list[Result]

    @property
    def result_ids(self) -> list[int]:
        return [r.id for r in self.results if r.id is not None]


async def passed_results(
    session: AsyncSession,
    scheme: Scheme,
    user_ids: Sequence[int],
    *,
    now: datetime,
    score: float = 85.0,
    passed: bool = True,
    title: str = "Uji kompetensi",
    venue: str = "BPKAD Kabupaten Alor, Kalabahi",
    published: bool = False,
) -> Outcomes:
    """One session of `scheme` that ended an hour before `now`, in which each user submitted
    an attempt and got `score` (passed or not). Flushed, not committed."""
    units = (
        await session.exec(
            select(SchemeUnit).where(SchemeUnit.scheme_id == scheme.id).order_by(col(SchemeUnit.ordinal))
        )
    ).all()
    form = {
        "assembly_version": 1,
        "scheme": {
            "id": scheme.id,
            "code": scheme.code,
            "version": scheme.version,
            "title": scheme.title,
            "position": scheme.position,
            "pass_score": scheme.pass_score,
            "duration_minutes": scheme.duration_minutes,
            "validity_months": scheme.validity_months,
            "units": [u.snapshot() for u in units],
        },
        "items": [],
    }
    started = now - timedelta(hours=3)
    exam = ExamSession(
        scheme_id=scheme.id or 0,
        title=title,
        venue=venue,
        starts_at=started,
        ends_at=now - timedelta(hours=1),
        results_published_at=now if published else None,
    )
    session.add(exam)
    await session.flush()
    regs = [Registration(session_id=exam.id or 0, user_id=uid, status="admitted") for uid in user_ids]
    session.add_all(regs)
    await session.flush()
    submitted = now - timedelta(hours=2)
    attempts = [
        Attempt(
            registration_id=r.id or 0,
            session_id=exam.id or 0,
            user_id=r.user_id,
            status="submitted",
            seed=1000 + i,
            form=form,
            started_at=started,
            duration_seconds=scheme.duration_minutes * 60,
            deadline=started + timedelta(minutes=scheme.duration_minutes),
            submitted_at=submitted,
            closed_at=submitted,
            bound_sid=f"sid-{i}",
        )
        for i, r in enumerate(regs)
    ]
    session.add_all(attempts)
    await session.flush()
    results = [
        Result(
            attempt_id=a.id or 0,
            session_id=exam.id or 0,
            user_id=a.user_id,
            score=score,
            passed=passed,
            outcome="kompeten" if passed else "belum_kompeten",
            units=[{"code": u.code, "score": score, "passed": passed} for u in units],
            items=[],
        )
        for a in attempts
    ]
    session.add_all(results)
    await session.flush()
    return Outcomes(session=exam, attempts=attempts, results=results)


# --- the test bank and live sessions -----------------------------------------------------------


def bank_text(
    per_unit: int = 6, items_per_form: int = 3, version: str = "2026.1", stem_suffix: str = ""
) -> str:
    """The tests' bank file (scheme UJI): two units of ``per_unit`` items (single, multiple and
    numeric in turn), ``items_per_form`` drawn from each."""
    lines = [
        "scheme:",
        "  code: UJI",
        f'  version: "{version}"',
        "  title: Skema Uji Bendahara",
        "  position: Bendahara Uji",
        "  duration_minutes: 30",
        "  validity_months: 36",
        "  pass_score: 70",
        "  units:",
        "    - code: UJI.A",
        "      title: Unit A",
        f"      items_per_form: {items_per_form}",
        "    - code: UJI.B",
        "      title: Unit B",
        f"      items_per_form: {items_per_form}",
        "items:",
    ]
    for unit in ("A", "B"):
        for n in range(1, per_unit + 1):
            kind = ("single", "multiple", "numeric")[n % 3]
            lines += [
                f"  - id: UJI-{unit}-{n:03d}",
                f"    unit: UJI.{unit}",
                f"    type: {kind}",
                f'    stem: "Soal {unit}{n}{stem_suffix}: berapa dan apa?"',
            ]
            if kind == "numeric":
                lines += [f"    answer: {n * 1000}", "    tolerance: 0.5", "    points: 2"]
            elif kind == "single":
                lines += ["    options: {a: SPM, b: SPD, c: RKA, d: DPA}", "    answer: c"]
            else:
                lines += ["    options: {a: SP2D, b: SPP, c: SPJ, d: BKU}", "    answer: [a, d]"]
    return "\n".join(lines) + "\n"


async def import_bank_text(session: AsyncSession, source: str, name: str = "uji.yaml") -> None:
    """Import a bank file's text (it must have no errors). Flushed, not committed."""
    bank, errors = parse_bank(source, name)
    assert errors == [], errors
    await import_bank(session, bank, actor="test")


def principal_of(user: User) -> Principal:
    """A principal of ``user`` for calling services directly (a login id of its own)."""
    return Principal(user.id or 0, user.username, str(user.role), f"sid-{user.username}", 0)


async def create_exam_session(
    factory: Any,
    admin: User,
    proctors: Sequence[str],
    *,
    starts: datetime | None = None,
    ends: datetime | None = None,
    title: str = "Ujian Sertifikasi Uji, Kalabahi",
    venue: str = "UPT Pelatihan Kerja Kalabahi",
) -> int:
    """A session of scheme UJI through the service, committed (default: started an hour ago,
    ending in five); its id."""
    now = utcnow()
    async with factory() as s:
        exam = await sessions.create_session(
            s,
            SessionCreate(
                scheme_code="UJI",
                title=title,
                venue=venue,
                starts_at=starts or now - timedelta(hours=1),
                ends_at=ends or now + timedelta(hours=5),
                proctors=list(proctors),
            ),
            principal=principal_of(admin),
        )
        await s.commit()
        return exam.id or 0


@dataclass
class ExamSetup:
    session_id: int
    users: dict[str, User]
    registrations: dict[str, int]

    def principal(self, username: str) -> Principal:
        return principal_of(self.users[username])


async def exam_setup(
    factory: Any,
    *,
    bank_source: str | None = None,
    starts: datetime | None = None,
    ends: datetime | None = None,
    proctors: Sequence[str] = ("pengawas1",),
    candidates: Sequence[str] = ("peserta1", "peserta2"),
    admit: bool = False,
    title: str = "Ujian Sertifikasi Uji, Kalabahi",
    venue: str = "UPT Pelatihan Kerja Kalabahi",
) -> ExamSetup:
    """A live session of the test bank through the services, committed: the bank imported, an
    admin ``admin1``, the proctors (the first one proctors the session) and the candidates
    created (password :data:`PASSWORD`, full name the username titled), the candidates
    registered and, if asked, admitted. ``factory`` makes database sessions
    (``apkd.db.session_factory(engine)``)."""
    async with factory() as s:
        await import_bank_text(s, bank_source or bank_text())
        users: dict[str, User] = {}
        people = [("admin", "admin1")] + [("proctor", n) for n in proctors]
        people += [("candidate", n) for n in candidates]
        for i, (role, name) in enumerate(people, start=1):
            users[name] = await create_test_user(s, i, role, name, full_name=name.title())
        await s.commit()
    setup = ExamSetup(0, users, {})
    setup.session_id = await create_exam_session(
        factory, users["admin1"], proctors[:1], starts=starts, ends=ends, title=title, venue=venue
    )
    admin = setup.principal("admin1")
    async with factory() as s:
        for name in candidates:
            reg, _ = await sessions.register_candidate(s, setup.session_id, name, principal=admin)
            setup.registrations[name] = reg.id or 0
        await s.commit()
    if admit:
        proctor = setup.principal(proctors[0])
        async with factory() as s:
            for reg_id in setup.registrations.values():
                await proctoring.admit(s, reg_id, proctor)
            await s.commit()
    return setup
