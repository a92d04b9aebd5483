"""Credentials for registry tests, issued by the real issuing code (apkd.credentials.issuing)
for a minimal passing attempt: scheme, exam session, registration, attempt, result."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
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
    from apkd.credentials.issuing import issue_for_results
    from apkd.credentials.models import Credential
    from factories import passed_results, sample_scheme

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
            scheme = await sample_scheme(s, validity_months=validity_months)
            outcomes = await passed_results(s, scheme, [user.id], now=now, score=86.5)
            batch = await issue_for_results(s, outcomes.result_ids, settings=settings, actor=None, now=now)
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
            await s.commit()  # the caller's unit of work commits (the service flushes)

    return do


@pytest.fixture
def jwks_doc(clean: AsyncEngine) -> Any:
    async def get() -> dict[str, Any]:
        from apkd.credentials.issuer_keys import public_jwks

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
