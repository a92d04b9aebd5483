"""Credentials for registry tests, issued by the real issuing code (apkd.credentials.issuing)
for a minimal passing attempt: scheme, exam session, registration, attempt, result."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from apkd.db import session_factory

_nip_seq = itertools.count(1)


def make_nip() -> str:
    """A plausible NIP (born 12 March 1985, CPNS March 2010, female), unique per call."""
    return f"19850312201003200{0}"[:15] + f"{next(_nip_seq) % 999 + 1:03d}"


@pytest.fixture(autouse=True)
def _fresh_keyring() -> Iterator[None]:
    from apkd.registry.service import KEYRING, clear_record_cache

    KEYRING.clear()
    clear_record_cache()
    yield
    KEYRING.clear()
    clear_record_cache()


@pytest.fixture
def issue(settings: Any, clean: AsyncEngine, make_user: Any) -> Any:
    """issue(**fields) -> (Credential, User with .nip): one credential, committed."""
    from apkd.banks.models import Scheme
    from apkd.credentials.issuing import issue_for_results
    from apkd.credentials.models import Credential
    from apkd.exams.models import Attempt, ExamSession, Registration
    from apkd.grading.models import Result

    async def factory(
        *,
        full_name: str = "Siti Aminah Lamuri",
        instansi: str = "Badan Pengelolaan Keuangan dan Aset Daerah Kabupaten Alor",
        issued_at: datetime | None = None,
        validity_months: int = 36,
        nip: str | None = None,
    ) -> tuple[Any, Any]:
        nip = nip or make_nip()
        user = await make_user(
            "candidate",
            full_name=full_name,
            nip=nip,
            instansi=instansi,
            jabatan="Bendahara Pengeluaran",
            region_code="5305",
        )
        now = (issued_at or datetime.now(UTC)).replace(microsecond=0)
        async with session_factory(clean)() as s:
            scheme = (await s.exec(select(Scheme).where(Scheme.code == "BPG"))).first()
            if scheme is None:
                scheme = Scheme(
                    code="BPG",
                    version="2026.1",
                    title="Bendahara Pengeluaran",
                    position="Bendahara Pengeluaran SKPD",
                    duration_minutes=90,
                    validity_months=validity_months,
                    pass_score=70.0,
                    content_hash="0" * 64,
                )
                s.add(scheme)
                await s.flush()
            exam = ExamSession(
                scheme_id=scheme.id,
                title="Uji kompetensi",
                venue="Kalabahi",
                starts_at=now - timedelta(hours=3),
                ends_at=now - timedelta(hours=1),
            )
            s.add(exam)
            await s.flush()
            reg = Registration(session_id=exam.id, user_id=user.id, status="admitted")
            s.add(reg)
            await s.flush()
            form = {
                "assembly_version": 1,
                "scheme": {
                    "id": scheme.id,
                    "code": "BPG",
                    "version": "2026.1",
                    "title": "Bendahara Pengeluaran",
                    "position": "Bendahara Pengeluaran SKPD",
                    "pass_score": 70.0,
                    "duration_minutes": 90,
                    "validity_months": validity_months,
                    "units": [{"code": "BPG.A", "title": "Regulasi", "items_per_form": 4, "min_score": 60.0}],
                },
                "items": [],
            }
            attempt = Attempt(
                registration_id=reg.id,
                session_id=exam.id,
                user_id=user.id,
                status="submitted",
                seed=1,
                form=form,
                started_at=now - timedelta(hours=3),
                duration_seconds=5400,
                deadline=now - timedelta(hours=1, minutes=30),
                submitted_at=now - timedelta(hours=2),
                bound_sid="test",
            )
            s.add(attempt)
            await s.flush()
            result = Result(
                attempt_id=attempt.id,
                session_id=exam.id,
                user_id=user.id,
                score=86.5,
                passed=True,
                outcome="kompeten",
            )
            s.add(result)
            await s.flush()
            batch = await issue_for_results(s, [result.id], settings=settings, actor=None, now=now)
            await s.commit()
            cred = (await s.exec(select(Credential).where(Credential.number == batch.numbers[0]))).one()
        return cred, user

    return factory


@pytest.fixture
def change_status(settings: Any, clean: AsyncEngine) -> Any:
    """change_status(number, "revoke" | "suspend" | "reinstate", reason)."""
    from apkd.credentials import service as cred_service

    async def do(number: str, action: str, reason: str = "Pelanggaran kode etik berat") -> None:
        async with session_factory(clean)() as s:
            await getattr(cred_service, action)(s, number, reason, actor="test")

    return do


@pytest.fixture
def jwks_doc(clean: AsyncEngine) -> Any:
    async def get() -> dict[str, Any]:
        from apkd.credentials.keystore import public_jwks

        async with session_factory(clean)() as s:
            return await public_jwks(s)

    return get


@pytest.fixture
def status_list_jwt(settings: Any, clean: AsyncEngine) -> Any:
    async def get(list_id: int) -> str:
        from apkd.credentials.service import signed_status_list

        async with session_factory(clean)() as s:
            return (await signed_status_list(s, list_id, settings)).jwt

    return get
