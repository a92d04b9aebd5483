"""Factories for tests and benchmarks, in one place: users, and exam outcomes without sitting
the exam (a session, registrations, attempts, results). Tests import it as ``factories`` (pytest
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
from apkd.accounts.service import create_user
from apkd.banks.models import Scheme, SchemeUnit
from apkd.exams.models import Attempt, ExamSession, Registration
from apkd.grading.models import Result

__all__ = ["PASSWORD", "SAMPLE_SCHEME", "Outcomes", "create_test_user", "passed_results", "sample_scheme"]

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
