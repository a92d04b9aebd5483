"""Credential benchmarks, as ratios against baselines measured in the same run.

1. Issuing N = 10,000 credentials (``--quick``: 2,000) for one published session through
   grading's effect (``effects.current().issue`` + commit: bulk load, serial block, status
   indexes, two Ed25519 signatures each (vc+jwt and QR token), bulk insert, one
   transparency-log append, one audit event), against bare Ed25519 signing of the same
   payloads (the vc+jwt and QR-token signing inputs that were signed) in the same process.
   Target (issue 18): >= 50 % of the bare rate. The ratio against the vc+jwt payloads alone is
   printed too; the Data Integrity proof gets its own figure once issuing produces one.
2. Revoking one credential (``service.revoke``: row lock, status list bit in a list of
   131,072 entries, history, log append, audit, commit), p50/p99, against a bare single-row
   UPDATE + commit. Target: under 50 ms.

Runs on SQLite (a temporary file) and on PostgreSQL (``APKD_BENCH_POSTGRES_URL``, a
database of its own, ``apkd_bench_credentials``, created and dropped) when reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DB_NAME = "apkd_bench_credentials"
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-secret-" + "z" * 40
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


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def seed(engine: AsyncEngine, n: int) -> tuple[list[int], int]:
    """A scheme, n candidates, one session with n submitted attempts and passing results.
    Rows go in with bulk INSERTs (no argon2 per user: the password hash is a placeholder)."""

    from apkd.accounts.models import User
    from apkd.banks.bankfile import parse_bank
    from apkd.banks.models import Scheme
    from apkd.banks.service import import_bank
    from apkd.db import session_factory, utcnow
    from apkd.exams.models import Attempt, ExamSession, Registration
    from apkd.grading.models import Result

    bank, errors = parse_bank(BANK_YAML.format(code="BPG", title="Bendahara Pengeluaran"), "BPG.yaml")
    assert bank is not None, errors
    now = utcnow()
    async with session_factory(engine)() as s:
        await import_bank(s, bank, actor="bench")
        await s.commit()
        from sqlmodel import select

        scheme = (await s.exec(select(Scheme).where(Scheme.code == "BPG"))).one()
        form = {
            "assembly_version": 1,
            "scheme": {
                "id": scheme.id,
                "code": "BPG",
                "version": scheme.version,
                "title": scheme.title,
                "position": scheme.position,
                "pass_score": scheme.pass_score,
                "duration_minutes": 90,
                "validity_months": 36,
                "units": [
                    {
                        "code": "BPG.A",
                        "title": "Regulasi dan Kelembagaan Keuangan Daerah",
                        "items_per_form": 1,
                    },
                    {"code": "BPG.B", "title": "Penatausahaan dan Pertanggungjawaban", "items_per_form": 1},
                ],
            },
            "items": [],
        }
        exam = ExamSession(
            scheme_id=scheme.id or 0,
            title="Uji bench",
            venue="Kalabahi",
            starts_at=now - timedelta(hours=3),
            ends_at=now - timedelta(hours=1),
        )
        s.add(exam)
        await s.flush()
        assert exam.id is not None
        conn = await s.connection()
        users = [
            {
                "username": f"peserta{i:05d}",
                "password_hash": "$argon2id$bench",
                "role": "candidate",
                "full_name": f"Peserta Uji Nomor {i:05d}",
                # 18 digits, unique per i: appointment year from i // 2000, sex digit, serial
                "nip": f"19850312{2000 + i // 2000}01{i // 1000 % 2 + 1}{i % 1000:03d}",
                "instansi": "Badan Keuangan dan Aset Daerah Kabupaten Alor",
                "jabatan": "Bendahara Pengeluaran",
                "region_code": "5305",
                "is_active": True,
                "created_at": now,
            }
            for i in range(n)
        ]
        user_ids = list((await conn.execute(insert(User).returning(User.id), users)).scalars())
        regs = [
            {"session_id": exam.id, "user_id": uid, "status": "admitted", "registered_at": now}
            for uid in user_ids
        ]
        reg_ids = list((await conn.execute(insert(Registration).returning(Registration.id), regs)).scalars())
        attempts = [
            {
                "registration_id": rid,
                "session_id": exam.id,
                "user_id": uid,
                "status": "submitted",
                "seed": i,
                "form": form,
                "started_at": now - timedelta(hours=3),
                "duration_seconds": 5400,
                "extension_seconds": 0,
                "paused_seconds": 0,
                "deadline": now - timedelta(hours=1),
                "submitted_at": now - timedelta(hours=2),
                "bound_sid": "bench",
            }
            for i, (rid, uid) in enumerate(zip(reg_ids, user_ids, strict=True))
        ]
        attempt_ids = list((await conn.execute(insert(Attempt).returning(Attempt.id), attempts)).scalars())
        results = [
            {
                "attempt_id": aid,
                "session_id": exam.id,
                "user_id": uid,
                "score": 70 + (i % 30),
                "passed": True,
                "outcome": "kompeten",
                "units": [],
                "items": [],
                "revision": 1,
                "graded_at": now,
            }
            for i, (aid, uid) in enumerate(zip(attempt_ids, user_ids, strict=True))
        ]
        result_ids = list((await conn.execute(insert(Result).returning(Result.id), results)).scalars())
        await s.commit()
        return result_ids, exam.id


async def run_backend(label: str, url: str, n: int, revokes: int) -> list[str]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from apkd.config import load_settings
    from apkd.credentials import service
    from apkd.credentials.models import Credential
    from apkd.credentials.service import Effects
    from apkd.db import create_engine, session_factory
    from apkd.grading import effects
    from apkd.migrate import upgrade
    from apkd.wiring import wire

    await asyncio.to_thread(upgrade, url)
    settings = load_settings(
        {
            "APKD_ENV": "test",
            "APKD_DATABASE_URL": url,
            "APKD_SECRET_KEY": SECRET,
            "APKD_BASE_URL": "https://apkd.alorkab.go.id",
            "APKD_SIGNING_CHILD_MIN": os.environ.get("APKD_SIGNING_CHILD_MIN", "500"),
        }
    )
    wire(settings)  # grading's credential effects, with these settings (as create_app does)
    engine = create_engine(url, pool_size=2)
    lines: list[str] = []
    try:
        result_ids, _session_id = await seed(engine, 2 * n + 1)  # 1 sample, n issued, n issued inline
        # A database in steady state: statistics gathered, no autovacuum woken up by the
        # bulk-loaded fixtures while the timed part runs.
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
            else:
                await conn.execute(text("ANALYZE"))
                await conn.commit()
        factory = session_factory(engine)
        async with factory() as s:  # the first key, created outside the timed part
            await service.ensure_keys(s, settings)
            await s.commit()

        # The bare baseline: Ed25519 signing of what issuing signed (each credential's vc+jwt
        # and QR-token signing inputs), right after issuing; and, since the machine may be
        # shared, also just before it on payloads of the same sizes; the two are averaged.
        sample_vc, sample_qr = await _sample_inputs(factory, result_ids[:1])
        key = Ed25519PrivateKey.generate()

        def bare(vc_inputs: list[bytes], qr_inputs: list[bytes]) -> tuple[float, float]:
            t0 = time.perf_counter()
            for data in vc_inputs:
                key.sign(data)
            t1 = time.perf_counter()
            for data in qr_inputs:
                key.sign(data)
            return t1 - t0, time.perf_counter() - t1

        before = bare(
            [sample_vc[:-8] + i.to_bytes(8, "big") for i in range(n)],
            [sample_qr[:-8] + i.to_bytes(8, "big") for i in range(n)],
        )
        async with factory() as s:
            t0 = time.perf_counter()
            issued = await effects.current().issue(s, result_ids[1 : n + 1], actor="bench")
            await s.commit()
            t_issue = time.perf_counter() - t0
        assert issued == n, issued
        async with factory() as s:
            from sqlmodel import select

            rows = list(
                (
                    await s.exec(
                        select(Credential.vc_jwt, Credential.qr_text).order_by(Credential.id).offset(1)
                    )
                ).all()
            )
            numbers = list((await s.exec(select(Credential.number).limit(revokes * 2))).all())
            cred_ids = list((await s.exec(select(Credential.id).limit(revokes))).all())
            await s.commit()
        after = bare(
            [vc.rsplit(".", 1)[0].encode("ascii") for vc, _ in rows],
            [qr.split("?t=", 1)[1].rsplit(".", 1)[0].encode("ascii") for _, qr in rows],
        )
        t_vc, t_qr = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
        # The same kind of batch with the signing child switched off (decision 054): what the
        # child adds, on this machine, now.
        inline = Effects(replace(settings, signing_child_min=0))
        async with factory() as s:
            t0 = time.perf_counter()
            assert await inline.issue(s, result_ids[n + 1 :], actor="bench") == n
            await s.commit()
            t_inline = time.perf_counter() - t0

        rate_issue = n / t_issue
        rate_all, rate_vc = n / (t_vc + t_qr), n / t_vc
        ratio = rate_issue / rate_all
        lines.append(
            f"[{label}] issue {n} credentials: {t_issue:.2f} s = {rate_issue:,.0f}/s. Bare Ed25519 signing of the "
            f"same payloads (vc+jwt and QR token, 2 per credential): {rate_all:,.0f} credentials/s; ratio "
            f"{ratio:.1%} (target >= 50%) {'OK' if ratio >= 0.50 else 'BELOW TARGET'}; against the vc+jwt "
            f"payloads alone ({rate_vc:,.0f}/s): {rate_issue / rate_vc:.1%}"
        )
        child_note = (
            f"signing child used (batch >= APKD_SIGNING_CHILD_MIN={settings.signing_child_min})"
            if settings.signing_child_min and n >= settings.signing_child_min
            else "no signing child (APKD_SIGNING_CHILD_MIN)"
        )
        lines.append(
            f"[{label}]   {child_note}; the same batch signed inline: {n / t_inline:,.0f}/s = ratio "
            f"{n / t_inline / rate_all:.1%}; with/without: {t_inline / t_issue:.2f}x"
        )
        lines.append(di_proof_line(label, settings, [vc for vc, _ in rows[:DI_SAMPLE]]))

        # Revocation of one credential in a 131,072-entry list vs a bare single-row UPDATE.
        rev_ms: list[float] = []
        for number in numbers[:revokes]:
            async with factory() as s:
                t0 = time.perf_counter()
                await service.revoke(s, number, "Pengujian kinerja", actor="bench")
                await s.commit()
                rev_ms.append((time.perf_counter() - t0) * 1000)
        base_ms: list[float] = []
        for cid in cred_ids:
            async with factory() as s:
                t0 = time.perf_counter()
                await s.exec(  # type: ignore[call-overload]
                    text("UPDATE credential SET suspension_reason = :r WHERE id = :i"),
                    params={"r": "x", "i": cid},
                )
                await s.commit()
                base_ms.append((time.perf_counter() - t0) * 1000)
        p50, p99, b50 = statistics.median(rev_ms), pct(rev_ms, 99), statistics.median(base_ms)
        lines.append(
            f"[{label}] revoke one credential (list of 131,072): p50 {p50:.1f} ms, p99 {p99:.1f} ms "
            f"(target < 50 ms at p50) {'OK' if p50 < 50 else 'ABOVE TARGET'}; bare single-row UPDATE+commit p50 "
            f"{b50:.1f} ms; ratio {p50 / b50:.1f}x"
        )
    finally:
        await engine.dispose()
    return lines


DI_SAMPLE = 200  # eddsa-rdfc-2022 canonicalizes RDF: milliseconds each; a sample says enough


def di_proof_line(label: str, settings: Any, vc_jwts: list[str]) -> str:
    """The Data Integrity proof (eddsa-rdfc-2022), its own figure: it is made when a credential
    is downloaded as JSON with an embedded proof (credentials.service.data_integrity_credential),
    not at issuing. Timed: create_proof over issued credentials' documents, against bare Ed25519
    signing of the same 64-byte hash data (what the canonicalization and hashing cost on top)."""
    from types import SimpleNamespace

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from apkd.credentials import issuer_keys
    from apkd.credentials.service import credential_document
    from apkd.signing import dataintegrity

    key = Ed25519PrivateKey.generate()
    method = issuer_keys.verification_method(settings, key.public_key())
    docs = [credential_document(SimpleNamespace(vc_jwt=vc)) for vc in vc_jwts]  # type: ignore[arg-type]
    dataintegrity.create_proof(docs[0], key, verification_method=method, created=docs[0]["validFrom"])  # warm
    t0 = time.perf_counter()
    proofs = [
        dataintegrity.create_proof(d, key, verification_method=method, created=d["validFrom"], as_set=True)
        for d in docs
    ]
    t_di = time.perf_counter() - t0
    assert all(p["proof"][0]["proofValue"].startswith("z") for p in proofs)
    hashes = [os.urandom(64) for _ in docs]
    t0 = time.perf_counter()
    for h in hashes:
        key.sign(h)
    t_bare = time.perf_counter() - t0
    n = len(docs)
    return (
        f"[{label}] Data Integrity proof (eddsa-rdfc-2022, made at download, not at issuing), {n} issued "
        f"credentials: {t_di / n * 1000:.2f} ms each = {n / t_di:,.0f}/s; bare Ed25519 of the same 64-byte "
        f"hash data {n / t_bare:,.0f}/s; ratio {t_bare / t_di:.1%} (RDF canonicalization is the rest)"
    )


async def _sample_inputs(factory: Any, result_ids: list[int]) -> tuple[bytes, bytes]:
    """Issue one credential (untimed) and return its two signing inputs, as samples."""
    from apkd.credentials.models import Credential
    from apkd.grading import effects

    async with factory() as s:
        await effects.current().issue(s, result_ids, actor="bench")
        await s.commit()
        from sqlmodel import select

        vc, qr = (await s.exec(select(Credential.vc_jwt, Credential.qr_text))).one()
        await s.commit()
    return vc.rsplit(".", 1)[0].encode("ascii"), qr.split("?t=", 1)[1].rsplit(".", 1)[0].encode("ascii")


async def admin_exec(admin_url: str, sql: str) -> None:
    eng = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with eng.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await eng.dispose()


async def main(args: argparse.Namespace) -> list[str]:
    quick = bool(getattr(args, "quick", False))
    n = 2_000 if quick else 10_000
    revokes = 10 if quick else 30
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as d:
        lines += await run_backend("sqlite", f"sqlite+aiosqlite:///{d}/bench.db", n, revokes)
    admin = os.environ.get("APKD_BENCH_POSTGRES_URL", PG_DEFAULT)
    try:
        await admin_exec(admin, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await admin_exec(admin, f'CREATE DATABASE "{DB_NAME}"')
    except Exception as exc:  # no server: report and keep the SQLite numbers
        lines.append(f"[postgresql] skipped: {type(exc).__name__}: {exc}")
        return lines
    try:
        url = admin.rsplit("/", 1)[0] + f"/{DB_NAME}"
        lines += await run_backend("postgresql", url, n, revokes)
    finally:
        await admin_exec(admin, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    return lines


def _cli() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    for line in asyncio.run(main(parser.parse_args())):
        print(line)


if __name__ == "__main__":
    _cli()
