"""Exam-day benchmarks on PostgreSQL, each against a baseline measured in the same run.

Servers: ``apkd serve --workers 2`` and, for baselines, a bare Litestar + asyncpg endpoint doing
one UPSERT (no auth, no checks) served by the same uvicorn command (2 workers, same log
level). Load: Debian's wrk with ``bench/lua/apkd.lua`` (a C client: it does not take the cores
the servers need the way a Python client does); each request carries its candidate's token,
and each candidate's ``seq`` rises.

1. saves at saturation (wrk, closed loop, alternating windows): apkd saves/s over bare
   UPSERTs/s; target >= 0.6;
2. save latency at 800 saves/s offered, constant rate (latency counted from each request's
   scheduled time, as wrk2 does); target p99 < 50 ms; the baseline's p99 at the same rate;
3. 300 candidates pressing "start" at the same instant (each on its own connection, all sent
   at once: a scenario wrk cannot express, so the small Python client in bench/common.py fires
   it); target p99 < 500 ms, every candidate getting a form; the baseline under the same burst;
4. roster polling at national scale: 600 rooms of 40 candidates, each room's proctor polling
   the roster every 5 s (120 reads/s), while saves run at 800/s; targets roster p99 < 200 ms,
   save p99 < 100 ms.

A database of its own (``apkd_bench_exams``) is created and dropped. ``--quick``: smaller
and shorter. The 10-minute national session is ``make bench BENCH_ARGS=--national``
(bench/national.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    BARE_UPSERT_APP,
    BARE_UPSERT_TABLE,
    Conn,
    CpuMeter,
    Server,
    WrkResult,
    admin_exec,
    apkd_env,
    http_request,
    pct,
    scratch_database,
    vacuum_analyze,
    wrk,
)

DB_NAME = "apkd_bench_exams"
POSITIONS = 40  # items per form: 4 units x 10


def bench_bank(per_unit: int = 20, items_per_form: int = 10) -> str:
    lines = [
        "scheme:",
        "  code: BNC",
        '  version: "2026.1"',
        "  title: Skema Benchmark",
        "  position: Bendahara Benchmark",
        "  duration_minutes: 120",
        "  validity_months: 36",
        "  pass_score: 70",
        "  units:",
    ]
    for u in "ABCD":
        lines += [f"    - code: BNC.{u}", f"      title: Unit {u}", f"      items_per_form: {items_per_form}"]
    lines.append("items:")
    for u in "ABCD":
        for n in range(1, per_unit + 1):
            lines += [
                f"  - id: BNC-{u}-{n:03d}",
                f"    unit: BNC.{u}",
                "    type: numeric",
                f'    stem: "Berapa jumlah pada contoh {u}{n}? Hitung sesuai Permendagri 77/2020."',
                f"    answer: {n * 1000}",
            ]
    return "\n".join(lines) + "\n"


# --- fixtures ---------------------------------------------------------------------------------


@dataclass
class Candidate:
    user_id: int
    token: str
    attempt_id: int | None = None


@dataclass
class Room:
    session_id: int
    proctor_token: str
    candidates: list[Candidate]


async def seed_rooms(
    url: str, rooms: int, per_room: int, *, prefix: str, form: dict[str, Any] | None = None
) -> list[Room]:
    """``rooms`` exam sessions open now, a proctor each, ``per_room`` admitted candidates each,
    and their access tokens; bulk INSERTs (one shared password hash). With ``form``, every
    candidate already has an attempt in progress holding that form, bound to the token's login.
    """
    from sqlalchemy import insert, text

    from apkd.accounts.models import LoginRecord, User
    from apkd.accounts.security import hash_password, issue_token
    from apkd.banks.bankfile import parse_bank
    from apkd.banks.service import import_bank
    from apkd.config import load_settings
    from apkd.db import create_engine, session_factory, utcnow
    from apkd.exams.models import Attempt, ExamSession, Registration, SessionProctor

    settings = load_settings(
        {
            "APKD_ENV": "test",
            "APKD_SECRET_KEY": apkd_env(url, Path("."))["APKD_SECRET_KEY"],
            "APKD_DATABASE_URL": url,
        }
    )
    engine = create_engine(url)
    now = utcnow()
    try:
        async with session_factory(engine)() as s:
            if (await s.execute(text("SELECT id FROM scheme WHERE code = 'BNC'"))).scalar() is None:
                bank, errors = parse_bank(bench_bank(), "bench.yaml")
                assert bank is not None, errors
                await import_bank(s, bank, actor="bench")
                await s.commit()
        async with session_factory(engine)() as s:
            conn = await s.connection()
            scheme_id = (await conn.execute(text("SELECT id FROM scheme WHERE code = 'BNC'"))).scalar_one()
            pw = hash_password("bench-password")

            def user(name: str, role: str) -> dict[str, Any]:
                return {
                    "username": name,
                    "password_hash": pw,
                    "role": role,
                    "full_name": name.title(),
                    "is_active": True,
                    "created_at": now,
                }

            async def add(model: Any, rows: list[dict[str, Any]]) -> list[int]:
                table = model.__table__
                stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
                return list((await conn.execute(stmt, rows)).scalars())

            proctor_ids = await add(User, [user(f"{prefix}p{r:04d}", "proctor") for r in range(rooms)])
            cand_ids = await add(
                User, [user(f"{prefix}c{i:06d}", "candidate") for i in range(rooms * per_room)]
            )
            session = {
                "scheme_id": scheme_id,
                "venue": "Lab",
                "timezone": "Asia/Makassar",
                "starts_at": now - timedelta(hours=1),
                "ends_at": now + timedelta(hours=6),
                "created_at": now,
            }
            session_ids = await add(
                ExamSession, [{**session, "title": f"Ruang {r + 1}"} for r in range(rooms)]
            )
            await conn.execute(
                insert(SessionProctor.__table__),  # type: ignore[attr-defined]
                [
                    {"session_id": sid, "user_id": pid}
                    for sid, pid in zip(session_ids, proctor_ids, strict=True)
                ],
            )
            # one login each (sid "bench-<user id>"): tokens are checked against it
            await conn.execute(
                insert(LoginRecord.__table__),  # type: ignore[attr-defined]
                [
                    {"sid": f"bench-{uid}", "user_id": uid, "created_at": now, "refresh_hash": "-" * 64}
                    for uid in proctor_ids + cand_ids
                ],
            )
            registration = {"status": "admitted", "registered_at": now, "admitted_at": now}
            reg_ids = await add(
                Registration,
                [
                    {**registration, "session_id": session_ids[i // per_room], "user_id": uid}
                    for i, uid in enumerate(cand_ids)
                ],
            )
            attempt_ids: list[int | None] = [None] * len(cand_ids)
            if form is not None:
                rng = random.Random(7)
                attempt = {
                    "status": "in_progress",
                    "form": form,
                    "started_at": now,
                    "duration_seconds": 7200,
                    "extension_seconds": 0,
                    "paused_seconds": 0,
                    "deadline": now + timedelta(hours=2),
                }
                attempt_ids = list(
                    await add(
                        Attempt,
                        [
                            {
                                **attempt,
                                "registration_id": rid,
                                "session_id": session_ids[i // per_room],
                                "user_id": uid,
                                "seed": rng.randrange(1, 2**62),
                                "bound_sid": f"bench-{uid}",
                            }
                            for i, (rid, uid) in enumerate(zip(reg_ids, cand_ids, strict=True))
                        ],
                    )
                )
            await s.commit()
    finally:
        await engine.dispose()

    def token(uid: int, name: str, role: str) -> str:
        return issue_token(settings, user_id=uid, username=name, role=role, sid=f"bench-{uid}")[0]

    out = []
    for r in range(rooms):
        cands = []
        for j in range(per_room):
            i = r * per_room + j
            uid = cand_ids[i]
            cands.append(Candidate(uid, token(uid, f"{prefix}c{i:06d}", "candidate"), attempt_ids[i]))
        out.append(Room(session_ids[r], token(proctor_ids[r], f"{prefix}p{r:04d}", "proctor"), cands))
    return out


# --- the instant burst --------------------------------------------------------------------------


async def burst(
    port: int, requests: list[tuple[str, str, bytes, dict[str, str]]]
) -> tuple[list[float], list[bytes]]:
    """Every request on its own connection (opened beforehand), all written at the same instant;
    latency from that instant to each full answer."""

    conns = await asyncio.gather(*(Conn.open(port) for _ in requests))
    start = time.perf_counter()
    lat: list[float] = []
    bodies: list[bytes] = []

    async def one(c: Conn, req: tuple[str, str, bytes, dict[str, str]]) -> None:
        status, data = await c.request(*req)
        if status not in (200, 201):
            raise RuntimeError(f"burst request answered {status}: {data[:300]!r}")
        lat.append((time.perf_counter() - start) * 1000)
        bodies.append(data)

    try:
        await asyncio.gather(*(one(c, r) for c, r in zip(conns, requests, strict=True)))
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    return lat, bodies


# --- main ------------------------------------------------------------------------------------


def save_lines(cands: list[Candidate]) -> list[str]:
    return [f"{c.attempt_id} {c.token}" for c in cands if c.attempt_id is not None]


def bare_lines(n: int, offset: int) -> list[str]:
    return [f"{offset + i} -" for i in range(n)]


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


async def main(args: argparse.Namespace) -> list[str]:
    quick = bool(getattr(args, "quick", False))
    n_start = 300
    seconds = 3.0 if quick else 5.0
    rounds = 2 if quick else 4
    rate_seconds = 6.0 if quick else 12.0
    rate = 800.0
    conns = 64
    rooms, per_room = (60, 40) if quick else (600, 40)
    lines: list[str] = []
    servers: list[Server] = []
    tmp = Path(tempfile.mkdtemp(prefix="apkd_bench_exams_"))
    async with scratch_database(DB_NAME) as url:
        try:
            [burst_room] = await seed_rooms(url, 1, n_start, prefix="b")
            await admin_exec(url, BARE_UPSERT_TABLE)
            env = apkd_env(url, tmp)
            bare = Server.app("bare_upsert", BARE_UPSERT_APP, env, tmp)
            app = Server.apkd(env)
            servers += [bare, app]
            await bare.wait_up("/")
            await app.wait_up("/healthz")

            # 3. the instant burst of starts, first (a fresh server, as on exam morning)
            sid = burst_room.session_id
            starts = [
                ("POST", f"/api/v1/sessions/{sid}/attempts", b"", {"Authorization": f"Bearer {c.token}"})
                for c in burst_room.candidates
            ]
            start_lat, bodies = await burst(app.port, starts)
            views = [json.loads(b) for b in bodies]
            with_form = sum(1 for v in views if len(v.get("items", [])) == POSITIONS)
            by_token = {c.token: c for c in burst_room.candidates}
            for c in burst_room.candidates:  # a second start returns the attempt: learn its id
                status, data = await http_request(
                    app.port,
                    "POST",
                    f"/api/v1/sessions/{sid}/attempts",
                    b"",
                    {"Authorization": f"Bearer {c.token}"},
                )
                assert status in (200, 201), data[:200]
                by_token[c.token].attempt_id = json.loads(data)["id"]
            bare_burst, _ = await burst(
                bare.port,
                [("PUT", f"/save/{900000 + i}/1", b'{"response": 1, "seq": 1}', {}) for i in range(n_start)],
            )

            # fixtures for the roster scenario: every candidate already started (same form)
            form = await _form_of(url, burst_room.candidates[0].attempt_id or 0)
            national = await seed_rooms(url, rooms, per_room, prefix="n", form=form)
            await vacuum_analyze(url)

            saves = save_lines(burst_room.candidates)
            bare_saves = bare_lines(len(saves), 1)
            for port, mode, tl in ((bare.port, "put-bare", bare_saves), (app.port, "save", saves)):  # warm-up
                (await wrk(port, mode, tl, 2, connections=conns)).check(f"warm-up {mode}")

            # 1. saves at saturation, alternating windows
            bare_runs: list[WrkResult] = []
            app_runs: list[WrkResult] = []
            bare_cpu, app_cpu = CpuMeter(bare, url), CpuMeter(app, url)
            cpu = {"bare": [0.0, 0.0], "apkd": [0.0, 0.0]}
            for _ in range(rounds):
                for name, meter, port, mode, tl, runs in (
                    ("bare", bare_cpu, bare.port, "put-bare", bare_saves, bare_runs),
                    ("apkd", app_cpu, app.port, "save", saves, app_runs),
                ):
                    await meter.start()
                    runs.append(await wrk(port, mode, tl, seconds, connections=conns))
                    await meter.stop()
                    cpu[name][0] += meter.app_cpu
                    cpu[name][1] += meter.db_cpu
            for r in bare_runs + app_runs:
                r.check("saves at saturation")
            ratios = [a.rate / b.rate for a, b in zip(app_runs, bare_runs, strict=True)]
            app_tps = statistics.median(r.rate for r in app_runs)
            bare_tps = statistics.median(r.rate for r in bare_runs)
            ratio = statistics.median(ratios)
            n_bare, n_app = sum(r.requests for r in bare_runs), sum(r.requests for r in app_runs)
            cpu_bare = [v / n_bare * 1e6 for v in cpu["bare"]]
            cpu_app = [v / n_app * 1e6 for v in cpu["apkd"]]
            cpu_ratio = sum(cpu_bare) / sum(cpu_app)

            # 2. latency at 800 saves/s, constant rate
            bare_rate = await wrk(
                bare.port, "put-bare", bare_saves, rate_seconds, connections=conns, rate=rate
            )
            app_rate = await wrk(app.port, "save", saves, rate_seconds, connections=conns, rate=rate)
            bare_rate.check("bare at 800/s")
            app_rate.check("saves at 800/s")

            # 4. roster polling (120/s over 600 rooms) with saves at 800/s over 24,000 candidates
            rosters = [f"/api/v1/sessions/{r.session_id}/roster {r.proctor_token}" for r in national]
            all_saves = save_lines([c for r in national for c in r.candidates])
            random.Random(1).shuffle(all_saves)
            roster_rate = rooms / 5.0
            roster_conns = 16 if quick else 24
            (await wrk(app.port, "get", rosters, 2, connections=8)).check("warm-up rosters")
            # steady state: every worker has seen every attempt (its form cached), as a minute
            # into the exam; a cold start is the national run's first minutes
            warm = 0
            deadline = time.monotonic() + (30 if quick else 120)
            while warm < 3 * len(all_saves) and time.monotonic() < deadline:
                run = await wrk(app.port, "save", all_saves, 5, connections=conns)
                run.check("warm-up saves")
                warm += run.requests
            save_run, roster_run = await asyncio.gather(
                wrk(app.port, "save", all_saves, rate_seconds, connections=conns, rate=rate),
                wrk(app.port, "get", rosters, rate_seconds, connections=roster_conns, rate=roster_rate),
            )
            save_run.check("saves with rosters")
            roster_run.check("rosters with saves")
        except BaseException:
            for s in servers:
                print(f"--- {s.name} log ---\n{s.log_tail()}", flush=True)
            raise
        finally:
            for s in servers:
                s.stop()

    lines += [
        f"saves at saturation (wrk, {conns} connections, {rounds} alternating windows of {seconds:.0f} s, "
        f"2 workers each): apkd {app_tps:,.0f}/s, bare Litestar+asyncpg UPSERT {bare_tps:,.0f}/s (medians) -> "
        f"ratio {ratio:.2f} (windows {', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.60 "
        f"{verdict(ratio >= 0.6)})",
        f"CPU per save at saturation (server workers + PostgreSQL backends; the load's neighbours move it "
        f"less than throughput): apkd {cpu_app[0]:.0f} + {cpu_app[1]:.0f} us, bare {cpu_bare[0]:.0f} + "
        f"{cpu_bare[1]:.0f} us -> CPU-bound ratio {cpu_ratio:.2f}",
        f"saves at {rate:.0f}/s offered (constant rate, {conns} connections, {rate_seconds:.0f} s; latency from the "
        f"schedule): apkd {app_rate.rate:,.0f}/s achieved, p50 {app_rate.sched_p50:.1f} ms, p99 "
        f"{app_rate.sched_p99:.1f} ms, max {app_rate.sched_max:.0f} ms (target p99 < 50 ms "
        f"{verdict(app_rate.sched_p99 < 50)}); bare UPSERT p50 {bare_rate.sched_p50:.1f} ms, p99 "
        f"{bare_rate.sched_p99:.1f} ms -> p99 ratio {app_rate.sched_p99 / bare_rate.sched_p99:.1f}",
        f"{n_start} candidates pressing start at the same instant: p50 {pct(start_lat, 0.5):.0f} ms, p99 "
        f"{pct(start_lat, 0.99):.0f} ms, {with_form}/{n_start} got a form of {POSITIONS} items (target p99 < "
        f"500 ms {verdict(pct(start_lat, 0.99) < 500 and with_form == n_start)}); bare UPSERT under the same "
        f"burst p99 {pct(bare_burst, 0.99):.0f} ms",
        f"roster polling, {rooms} rooms of {per_room} ({roster_rate:.0f} roster reads/s offered, achieved "
        f"{roster_run.rate:.0f}/s) with saves at {rate:.0f}/s over {len(all_saves):,} candidates (achieved "
        f"{save_run.rate:,.0f}/s): roster p50 {roster_run.sched_p50:.0f} ms p99 {roster_run.sched_p99:.0f} ms "
        f"(target < 200 ms {verdict(roster_run.sched_p99 < 200)}); save p50 {save_run.sched_p50:.1f} ms p99 "
        f"{save_run.sched_p99:.1f} ms (target < 100 ms {verdict(save_run.sched_p99 < 100)})",
    ]
    return lines


async def _form_of(url: str, attempt_id: int) -> dict[str, Any]:
    from sqlalchemy import text

    from apkd.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            form = (
                await conn.execute(text("SELECT form FROM attempt WHERE id = :i"), {"i": attempt_id})
            ).scalar_one()
    finally:
        await engine.dispose()
    return dict(form)
