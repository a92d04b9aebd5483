"""Factories for grading tests (imported by conftest.py and the tests): rows are inserted directly through the models (the exams
service is not needed). A bank is imported from YAML; attempts carry the frozen ``form`` of
docs/interfaces.md and their responses."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import User
from apkd.accounts.security import Principal, hash_password
from apkd.banks.bankfile import parse_bank
from apkd.banks.models import Item, ItemVersion, Scheme, SchemeUnit
from apkd.banks.service import import_bank
from apkd.db import utcnow
from apkd.exams.models import Attempt, ExamSession, Registration, Response

PASSWORD = "rahasia-123"

# Form of every attempt (unless told otherwise): positions 1..5 in this order.
# Points: unit A 1 each (3), unit B 3 each (6): total 9. Pass 70 (7/9 = 77.8 passes,
# 6/9 = 66.7 does not). Unit A needs 60 (2 of 3), unit B needs 50 (1 of 2).
BANK = """\
scheme:
  code: TST
  version: "2026.1"
  title: Bendahara Uji
  position: Bendahara Pengeluaran SKPD
  duration_minutes: 30
  validity_months: 36
  pass_score: 70
  units:
    - code: TST.A
      title: Regulasi
      items_per_form: 3
      min_score: 60
    - code: TST.B
      title: Penatausahaan
      items_per_form: 2
      min_score: 50
items:
  - id: A1
    unit: TST.A
    type: single
    stem: "Dokumen dasar penerbitan SP2D adalah ..."
    options: {a: SPM, b: SPD, c: RKA, d: DPA}
    answer: a
  - id: A2
    unit: TST.A
    type: single
    stem: "Pejabat yang menandatangani SPM-LS adalah ..."
    options: {a: PA/KPA, b: Bendahara, c: PPTK, d: PPK-SKPD}
    answer: a
  - id: A3
    unit: TST.A
    type: single
    stem: "Batas waktu penyampaian laporan pertanggungjawaban bendahara adalah ..."
    options: {a: "tanggal 10 bulan berikutnya", b: "akhir bulan", c: "akhir triwulan", d: "akhir tahun"}
    answer: a
  - id: B1
    unit: TST.B
    type: multiple
    stem: "Pilih dokumen yang termasuk SPJ fungsional"
    options: {a: "buku kas umum", b: "RKA", c: "bukti pengeluaran", d: "Perda APBD"}
    answer: [a, c]
    points: 3
  - id: B2
    unit: TST.B
    type: numeric
    stem: "PPN 11% atas Rp10.000.000 adalah ... rupiah"
    answer: 1100000
    points: 3
"""

FORM_ORDER = ("A1", "A2", "A3", "B1", "B2")
KEYS: dict[str, object] = {"A1": "a", "A2": "a", "A3": "a", "B1": ["a", "c"], "B2": 1100000}
WRONG: dict[str, object] = {"A1": "b", "A2": "c", "A3": "d", "B1": ["a"], "B2": 1000000}


def right(*names: str) -> dict[str, object]:
    """Responses right on ``names`` and wrong on every other item."""
    return {n: (KEYS[n] if n in names else WRONG[n]) for n in FORM_ORDER}


@lru_cache(maxsize=1)
def password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass
class Bank:
    scheme: Scheme
    units: list[SchemeUnit]
    versions: dict[str, ItemVersion]  # external id -> latest version


class GradingFactory:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self._n = itertools.count(1)

    async def bank(self, text: str = BANK) -> Bank:
        parsed, errors = parse_bank(text, "tst.yaml")
        assert parsed is not None and errors == [], errors
        await import_bank(self.db, parsed, actor="test")
        await self.db.commit()
        scheme = (await self.db.exec(select(Scheme).where(Scheme.code == parsed.scheme.code))).one()
        units = list(
            (
                await self.db.exec(
                    select(SchemeUnit)
                    .where(SchemeUnit.scheme_id == scheme.id)
                    .order_by(col(SchemeUnit.ordinal))
                )
            ).all()
        )
        rows = (
            await self.db.exec(
                select(Item.external_id, ItemVersion)
                .join(ItemVersion, col(ItemVersion.item_id) == col(Item.id))
                .where(Item.scheme_id == scheme.id)
                .order_by(col(ItemVersion.version))
            )
        ).all()
        versions = {ext: v for ext, v in rows}
        await self.db.commit()  # SQLite: end the read transaction (it holds the write lock)
        return Bank(scheme=scheme, units=units, versions=versions)

    async def session(self, bank: Bank, title: str = "Sesi Uji Kalabahi") -> ExamSession:
        now = utcnow()
        es = ExamSession(
            scheme_id=bank.scheme.id or 0,
            title=title,
            venue="Aula BKD Kab. Alor",
            starts_at=now - timedelta(hours=3),
            ends_at=now - timedelta(hours=1),
        )
        self.db.add(es)
        await self.db.commit()
        return es

    async def decider(self, username: str = "admin1") -> Principal:
        """An admin (made once) as the principal taking the certification decision."""
        user = (await self.db.exec(select(User).where(User.username == username))).first()
        if user is None:
            user = User(username=username, password_hash=password_hash(), role="admin", full_name="Admin")
            self.db.add(user)
            await self.db.commit()
        assert user.id is not None
        return Principal(user.id, username, "admin", "sid", 0)

    async def candidate(
        self,
        username: str | None = None,
        *,
        full_name: str | None = None,
        nip: str | None = None,
        instansi: str | None = "BPKAD Kabupaten Alor",
    ) -> User:
        n = next(self._n)
        username = username or f"peserta{n:03d}"
        user = User(
            username=username,
            password_hash=password_hash(),
            role="candidate",
            full_name=full_name or f"Peserta {n:03d}",
            nip=nip or f"19850312201003{1 + n % 2}{n:03d}",
            instansi=instansi,
            jabatan="Bendahara Pengeluaran",
        )
        self.db.add(user)
        await self.db.commit()
        return user

    def form(self, bank: Bank, order: Sequence[str] = FORM_ORDER) -> dict[str, Any]:
        s = bank.scheme
        return {
            "assembly_version": 1,
            "scheme": {
                "id": s.id,
                "code": s.code,
                "version": s.version,
                "title": s.title,
                "position": s.position,
                "pass_score": s.pass_score,
                "duration_minutes": s.duration_minutes,
                "validity_months": s.validity_months,
                "units": [
                    {
                        "code": u.code,
                        "title": u.title,
                        "items_per_form": u.items_per_form,
                        "min_score": u.min_score,
                    }
                    for u in bank.units
                ],
            },
            "items": [
                {
                    "position": pos,
                    "item_version_id": bank.versions[ext].id,
                    "unit": bank.versions[ext].unit_code,
                    "option_order": [o[0] for o in reversed(bank.versions[ext].options)],
                }
                for pos, ext in enumerate(order, start=1)
            ],
        }

    async def attempt(
        self,
        es: ExamSession,
        bank: Bank,
        user: User,
        answers: Mapping[str, object],
        *,
        status: str = "submitted",
        order: Sequence[str] = FORM_ORDER,
        close_reason: str | None = None,
        deadline_in: timedelta = timedelta(minutes=-60),
    ) -> Attempt:
        now = utcnow()
        reg = Registration(session_id=es.id or 0, user_id=user.id or 0, status="admitted", admitted_at=now)
        self.db.add(reg)
        await self.db.flush()
        started = now + deadline_in - timedelta(minutes=30)
        closed = status in ("submitted", "expired", "terminated")
        attempt = Attempt(
            registration_id=reg.id or 0,
            session_id=es.id or 0,
            user_id=user.id or 0,
            status=status,
            seed=next(self._n),
            form=self.form(bank, order),
            started_at=started,
            duration_seconds=1800,
            deadline=now + deadline_in,
            submitted_at=now + deadline_in if status == "submitted" else None,
            closed_at=now + deadline_in if closed else None,
            close_reason=close_reason,
            bound_sid="sid-test",
        )
        self.db.add(attempt)
        await self.db.flush()
        for pos, ext in enumerate(order, start=1):
            if ext in answers:
                self.db.add(
                    Response(
                        attempt_id=attempt.id or 0,
                        position=pos,
                        response=answers[ext],
                        seq=1,
                        saved_at=started,
                    )
                )
        await self.db.commit()
        return attempt


@dataclass
class RecordedEffects:
    issued: list[int]
    revoked: list[int]

    async def issue(self, session: AsyncSession, result_ids: list[int], *, actor: str | None) -> int:
        new = [r for r in result_ids if r not in self.issued]
        self.issued.extend(new)
        return len(new)

    async def revoke_regraded(
        self, session: AsyncSession, result_ids: list[int], *, actor: str | None
    ) -> int:
        self.revoked.extend(result_ids)
        self.issued = [r for r in self.issued if r not in result_ids]
        return len(result_ids)
