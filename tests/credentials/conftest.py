"""Factories for credential tests: a scheme imported from a small bank file, candidates, and a
graded exam session whose results passed, all inserted through the models (the exams and
grading services are not needed to issue credentials)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from apkd.banks.bankfile import parse_bank
from apkd.banks.models import Scheme
from apkd.banks.service import import_bank
from apkd.db import session_factory, utcnow
from factories import passed_results

BANK_YAML = """\
scheme:
  code: {code}
  version: "2026.1"
  title: {title}
  position: {title} SKPD
  duration_minutes: 90
  validity_months: 36
  pass_score: 70
  units:
    - code: {code}.A
      title: Regulasi dan Kelembagaan Keuangan Daerah
      items_per_form: 1
      min_score: 60
    - code: {code}.B
      title: Penatausahaan dan Pertanggungjawaban
      items_per_form: 1
items:
  - id: {code}-A-001
    unit: {code}.A
    type: single
    stem: "Undang-undang yang mengatur hubungan keuangan pusat dan daerah adalah ..."
    options: {{a: "UU 1/2022", b: "UU 23/2014", c: "UU 17/2003", d: "UU 33/2004"}}
    answer: a
  - id: {code}-B-001
    unit: {code}.B
    type: numeric
    stem: "Berapa persen PPN yang dipungut atas belanja barang senilai Rp1.000.000?"
    answer: 11
"""

_nip_counter = itertools.count(1)


def next_nip() -> str:
    """A plausible, unique NIP: born 12 March 1985, CPNS October 2010, male, sequence n."""
    n = next(_nip_counter)
    return f"19850312201010{1 + (n // 999) % 2}{1 + n % 999:03d}"


@dataclass
class Seeded:
    session_id: int
    result_ids: list[int]
    attempt_ids: list[int]
    user_ids: list[int]


class Factory:
    def __init__(self, engine: AsyncEngine, make_user: Any) -> None:
        self.engine = engine
        self.make_user = make_user
        self.schemes: dict[str, int] = {}

    async def scheme(self, code: str = "BPG", title: str = "Bendahara Pengeluaran") -> int:
        if code in self.schemes:
            return self.schemes[code]
        bank, errors = parse_bank(BANK_YAML.format(code=code, title=title), f"{code}.yaml")
        assert bank is not None, errors
        async with session_factory(self.engine)() as s:
            await import_bank(s, bank, actor="test")
            await s.commit()
            from sqlmodel import select

            scheme = (await s.exec(select(Scheme).where(Scheme.code == code))).one()
            assert scheme.id is not None
            self.schemes[code] = scheme.id
        return self.schemes[code]

    async def candidate(self, **fields: Any) -> Any:
        fields.setdefault("nip", next_nip())
        fields.setdefault("instansi", "Badan Keuangan dan Aset Daerah Kabupaten Alor")
        fields.setdefault("jabatan", "Bendahara Pengeluaran")
        fields.setdefault("region_code", "5305")
        return await self.make_user("candidate", **fields)

    async def passed_session(
        self, users: list[Any], *, code: str = "BPG", score: float = 85.0, passed: bool = True
    ) -> Seeded:
        """An exam session of scheme `code`, each user with a submitted attempt and a result."""
        scheme_id = await self.scheme(code)
        async with session_factory(self.engine)() as s:
            scheme = await s.get(Scheme, scheme_id)
            assert scheme is not None
            out = await passed_results(
                s,
                scheme,
                [u.id for u in users],
                now=utcnow(),
                score=score,
                passed=passed,
                title=f"Uji {code}",
                published=True,
            )
            await s.commit()
            return Seeded(
                session_id=out.session.id or 0,
                result_ids=out.result_ids,
                attempt_ids=[a.id for a in out.attempts if a.id is not None],
                user_ids=[u.id for u in users],
            )


@pytest.fixture
def factory(clean: AsyncEngine, make_user: Any, settings: Any) -> Factory:
    # Issuing through grading's effects uses these settings (create_app wires the same).
    from apkd.wiring import wire

    wire(settings)
    return Factory(clean, make_user)
