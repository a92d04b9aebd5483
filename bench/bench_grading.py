"""Grading benchmark on PostgreSQL: publishing a session of N attempts of 50 items.

Measured: ``apkd.grading.publishing.publish`` end to end (close overdue, one query for the
attempts, one for every response, one for the item versions and one for the key
corrections, scoring, multi-row INSERT of the results, audit, commit), against the
baseline of the pure scoring functions alone (``grader.grade_attempt``) over the same data
already in memory. The ratio is what the database costs. Target: N = 10,000 in under 10 s.

A database of its own (``apkd_bench_grading``) is created, filled with COPY and dropped.
``--quick`` uses N = 1,000.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

DB_NAME = "apkd_bench_grading"
ITEMS_PER_FORM = 50
UNITS = (("BG.A", 20, 60.0), ("BG.B", 15, 60.0), ("BG.C", 15, None))  # code, items per form, min
POOL_PER_UNIT = 60
LIMIT_SECONDS = 10.0


def _admin_url() -> str:
    url = os.environ.get("APKD_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    return url


async def _admin(sql: str) -> None:
    eng = create_async_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        async with eng.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await eng.dispose()


def _bank_yaml() -> str:
    lines = [
        "scheme:",
        "  code: BG",
        '  version: "2026.1"',
        "  title: Bendahara Bench",
        "  position: Bendahara Pengeluaran SKPD",
        "  duration_minutes: 90",
        "  validity_months: 36",
        "  pass_score: 65",
        "  units:",
    ]
    for code, per_form, min_score in UNITS:
        lines += [f"    - code: {code}", f"      title: Unit {code}", f"      items_per_form: {per_form}"]
        if min_score is not None:
            lines.append(f"      min_score: {min_score:g}")
    lines.append("items:")
    for code, _per_form, _min in UNITS:
        for i in range(POOL_PER_UNIT):
            kind = ("single", "single", "multiple", "numeric")[i % 4]
            lines += [
                f"  - id: {code.replace('.', '-')}-{i:03d}",
                f"    unit: {code}",
                f"    type: {kind}",
                f'    stem: "Soal {code} nomor {i}"',
            ]
            if kind == "single":
                lines += ["    options: {a: satu, b: dua, c: tiga, d: empat}", "    answer: b"]
            elif kind == "multiple":
                lines += ["    options: {a: satu, b: dua, c: tiga, d: empat}", "    answer: [a, c]"]
            else:
                lines += ["    answer: 1500000", "    tolerance: 0.5"]
    return "\n".join(lines) + "\n"


def _response(kind: str, right: bool, rng: random.Random) -> Any:
    if kind == "single":
        return "b" if right else rng.choice(["a", "c", "d"])
    if kind == "multiple":
        return ["a", "c"] if right else rng.choice([["a"], ["c", "d"], ["a", "b", "c"]])
    return 1500000 if right else rng.choice([150000, 1500001, 15000000])


async def _seed(url: str, n: int) -> tuple[int, float]:
    """Scheme, N candidates, one session, N submitted attempts and N x 50 responses."""
    from apkd.banks.bankfile import parse_bank
    from apkd.banks.service import current_pool, import_bank
    from apkd.db import create_engine, session_factory, utcnow

    engine = create_engine(url, pool_size=2)
    t0 = time.perf_counter()
    try:
        bank, errors = parse_bank(_bank_yaml(), "bench.yaml")
        assert bank is not None and not errors, errors
        async with session_factory(engine)() as s:
            await import_bank(s, bank, actor="bench")
            await s.commit()
            row = (
                await (await s.connection()).execute(text("SELECT id FROM scheme WHERE code = 'BG'"))
            ).one()
            scheme_id = row[0]
            pool = await current_pool(s, scheme_id)
            units = (
                await (await s.connection()).execute(
                    text(
                        "SELECT code, title, items_per_form, min_score FROM scheme_unit WHERE scheme_id = :s"
                    ),
                    {"s": scheme_id},
                )
            ).all()
            await s.commit()
        by_unit: dict[str, list[Any]] = {}
        for v in pool:
            by_unit.setdefault(v.unit_code, []).append(v)
        now = utcnow()
        rng = random.Random(20261128)
        scheme_json = {
            "id": scheme_id,
            "code": "BG",
            "version": "2026.1",
            "title": "Bendahara Bench",
            "position": "Bendahara Pengeluaran SKPD",
            "pass_score": 65.0,
            "duration_minutes": 90,
            "validity_months": 36,
            "units": [
                {
                    "code": u.code,
                    "title": u.title,
                    "items_per_form": u.items_per_form,
                    "min_score": u.min_score,
                }
                for u in units
            ],
        }
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            pg = raw.driver_connection
            assert pg is not None
            sid = await pg.fetchval(
                "INSERT INTO exam_session (scheme_id, title, venue, timezone, starts_at, ends_at, created_at)"
                " VALUES ($1, 'Bench', 'Aula', 'Asia/Makassar', $2, $3, $2) RETURNING id",
                scheme_id,
                now - timedelta(hours=3),
                now - timedelta(hours=1),
            )
            first_user = 1 + (await pg.fetchval("SELECT coalesce(max(id), 0) FROM app_user"))
            users = [
                (
                    first_user + i,
                    f"bench{i:05d}",
                    "x",
                    "candidate",
                    f"Peserta {i:05d}",
                    f"19850312201003{i:04d}",
                    True,
                    False,
                    now,
                    0,
                )
                for i in range(n)
            ]
            await pg.copy_records_to_table(
                "app_user",
                records=users,
                columns=[
                    "id",
                    "username",
                    "password_hash",
                    "role",
                    "full_name",
                    "nip",
                    "is_active",
                    "can_decide",
                    "created_at",
                    "token_version",
                ],
            )
            await pg.execute(
                "SELECT setval(pg_get_serial_sequence('app_user', 'id'), (SELECT max(id) FROM app_user))"
            )
            regs = [(i + 1, sid, first_user + i, "admitted", now) for i in range(n)]
            await pg.copy_records_to_table(
                "registration",
                records=regs,
                columns=["id", "session_id", "user_id", "status", "registered_at"],
            )
            attempts, responses = [], []
            for i in range(n):
                ability = rng.random()
                drawn = []
                for code, per_form, _min in UNITS:
                    drawn += rng.sample(by_unit[code], per_form)
                rng.shuffle(drawn)
                items = [
                    {
                        "position": p,
                        "item_version_id": v.id,
                        "unit": v.unit_code,
                        "option_order": ["a", "b", "c", "d"],
                    }
                    for p, v in enumerate(drawn, start=1)
                ]
                form = {"assembly_version": 1, "scheme": scheme_json, "items": items}
                attempts.append(
                    (
                        i + 1,
                        i + 1,
                        sid,
                        first_user + i,
                        "submitted",
                        i,
                        json.dumps(form),
                        now - timedelta(hours=2),
                        5400,
                        0,
                        0,
                        now - timedelta(minutes=40),
                        now - timedelta(minutes=50),
                        now - timedelta(minutes=50),
                        "sid",
                    )
                )
                for p, v in enumerate(drawn, start=1):
                    if rng.random() < 0.03:
                        continue
                    right = rng.random() < 0.35 + 0.6 * ability
                    responses.append(
                        (
                            i + 1,
                            p,
                            json.dumps(_response(v.type, right, rng)),
                            1,
                            False,
                            now - timedelta(hours=1),
                        )
                    )
            await pg.copy_records_to_table(
                "attempt",
                records=attempts,
                columns=[
                    "id",
                    "registration_id",
                    "session_id",
                    "user_id",
                    "status",
                    "seed",
                    "form",
                    "started_at",
                    "duration_seconds",
                    "extension_seconds",
                    "paused_seconds",
                    "deadline",
                    "submitted_at",
                    "closed_at",
                    "bound_sid",
                ],
            )
            await pg.copy_records_to_table(
                "response",
                records=responses,
                columns=["attempt_id", "position", "response", "seq", "flagged", "saved_at"],
            )
            await pg.execute("ANALYZE")
            await conn.commit()
        return int(sid), time.perf_counter() - t0
    finally:
        await engine.dispose()


async def _pure_baseline(url: str, session_id: int) -> tuple[float, int]:
    """Load the same data (untimed), then time the pure scoring of every attempt."""
    from apkd.db import create_engine, session_factory
    from apkd.exams.states import CLOSED_STATUSES
    from apkd.grading import loading
    from apkd.grading.grader import ScoringCache, grade_attempt

    engine = create_engine(url, pool_size=2)
    try:
        async with session_factory(engine)() as s:
            conn = await s.connection()
            attempts = await loading.closed_attempts(conn, [session_id])
            keys = await loading.item_keys(conn, (i for a in attempts for i in a.item_version_ids()))
            corrections = await loading.latest_corrections(conn, keys)
            responses = await loading.responses_of_sessions(conn, [session_id], CLOSED_STATUSES)
            await s.rollback()
    finally:
        await engine.dispose()
    t0 = time.perf_counter()
    cache = ScoringCache(keys, corrections)
    passed = 0
    for a in attempts:
        g = grade_attempt(
            a.form,
            responses.get(a.id, {}),
            keys,
            corrections,
            status=a.status,
            close_reason=a.close_reason,
            cache=cache,
        )
        passed += g.passed
    return time.perf_counter() - t0, passed


async def _bench_decider(s: Any) -> Any:
    """An admin taking the certification decision (made once; not a proctor of the session)."""
    from sqlmodel import select

    from apkd.accounts.models import User
    from apkd.accounts.security import Principal

    user = (await s.exec(select(User).where(User.username == "bench-decider"))).first()
    if user is None:
        user = User(username="bench-decider", password_hash="-", role="admin", full_name="Bench")
        s.add(user)
        await s.commit()
    return Principal(user.id, user.username, "admin", "bench", 0)


async def _publish(url: str, session_id: int) -> tuple[float, Any]:
    from apkd.db import create_engine, session_factory
    from apkd.grading import publishing

    engine = create_engine(url, pool_size=2)
    try:
        async with session_factory(engine)() as s:
            decider = await _bench_decider(s)
            t0 = time.perf_counter()
            out = await publishing.publish(s, session_id, decider=decider)
            await s.commit()  # the request's unit of work commits after the handler
            return time.perf_counter() - t0, out
    finally:
        await engine.dispose()


async def _correct(url: str, session_id: int) -> tuple[float, Any]:
    """Void the most used item version: every result that used it is regraded."""
    from apkd.accounts.security import Principal
    from apkd.db import create_engine, session_factory
    from apkd.grading import corrections

    engine = create_engine(url, pool_size=2)
    try:
        async with session_factory(engine)() as s:
            conn = await s.connection()
            ivid, user_id = (
                await conn.execute(
                    text(
                        "SELECT (SELECT (form->'items'->0->>'item_version_id')::int FROM attempt"
                        " WHERE session_id = :s ORDER BY id LIMIT 1),"
                        " (SELECT min(id) FROM app_user)"
                    ),
                    {"s": session_id},
                )
            ).one()
            await s.rollback()
            actor = Principal(user_id=user_id, username="bench", role="admin", sid="bench", auth_time=0)
            t0 = time.perf_counter()
            out = await corrections.correct_key(s, ivid, action="void", reason="bench", actor=actor)
            await s.commit()  # the request's unit of work commits after the handler
            return time.perf_counter() - t0, out
    finally:
        await engine.dispose()


class _NoCredentials:
    """Grading alone is measured: credentials are not issued (nor warned about) here."""

    async def issue(self, session: Any, result_ids: list[int], *, actor: str | None) -> int:
        return 0

    async def revoke_regraded(self, session: Any, result_ids: list[int], *, actor: str | None) -> int:
        return 0


async def main(args: argparse.Namespace) -> list[str]:
    from apkd.grading import effects
    from apkd.migrate import upgrade

    effects.register(_NoCredentials())

    n = 1_000 if getattr(args, "quick", False) else 10_000
    admin = _admin_url()
    url = f"{admin.rsplit('/', 1)[0]}/{DB_NAME}"
    await _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{DB_NAME}"')
    lines: list[str] = []
    try:
        await asyncio.to_thread(upgrade, url)
        session_id, seed_s = await _seed(url, n)
        lines.append(f"seeded {n} attempts x {ITEMS_PER_FORM} items with COPY in {seed_s:.1f} s")
        pure_s, pure_passed = await _pure_baseline(url, session_id)
        db_s, out = await _publish(url, session_id)
        assert out.graded == n and out.passed == pure_passed, (out, pure_passed)
        again_s, again = await _publish(url, session_id)
        assert again.graded == 0
        lines.append(
            f"publish (grade + store) {n} attempts on PostgreSQL: {db_s:.2f} s "
            f"({n / db_s:,.0f} attempts/s; target < {LIMIT_SECONDS:.0f} s for 10,000: "
            f"{'OK' if n < 10_000 or db_s < LIMIT_SECONDS else 'TOO SLOW'})"
        )
        lines.append(
            f"pure scoring of the same data in memory: {pure_s:.2f} s ({n / pure_s:,.0f} attempts/s)"
        )
        lines.append(f"ratio publish / pure scoring: {db_s / pure_s:.2f}x (what the database costs)")
        lines.append(f"publishing again (no-op): {again_s:.2f} s; {out.passed} of {n} passed")
        fix_s, fix = await _correct(url, session_id)
        lines.append(
            f"voiding one item: {fix.regraded} results regraded in {fix_s:.2f} s "
            f"({len(fix.newly_passed)} newly pass, {len(fix.no_longer_passed)} no longer pass)"
        )
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    return lines
