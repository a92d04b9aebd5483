"""Exams benchmarks on PostgreSQL, as ratios against a baseline measured in the same run.

Baseline: a bare Litestar + asyncpg endpoint doing one UPSERT (no auth, no checks), served by
uvicorn exactly like ``apkd serve`` (one worker, same log level). Measured:

1. saves sustained: closed loop, C connections, each a candidate saving its own attempt;
   apkd saves/s over baseline UPSERTs/s (target >= 0.50);
2. p99 save latency at 800 saves/s (open loop: latency counted from the scheduled send time,
   so a server that falls behind is charged for the queue), against the baseline at 800/s;
3. N candidates pressing "start" within the same second (N = 300), spread evenly over the
   second: p99 against the baseline endpoint under the same burst; then N other candidates
   pressing it at the same instant (all sent at once, stricter), against the baseline alike.

The load generator is a minimal keep-alive HTTP/1.1 client on asyncio streams, so that the
client is not the bottleneck. A database of its own (``apkd_bench_exams``) is created and
dropped. ``--quick`` uses smaller sizes and shorter runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "apkd_bench_exams"
SECRET = "bench-secret-" + "z" * 40

BARE_APP = textwrap.dedent(
    '''
    import json, os
    import asyncpg
    from litestar import Litestar, put
    from litestar.datastructures import State
    from msgspec import Struct

    DSN = os.environ["BENCH_DSN"]
    SQL = """INSERT INTO bench_upsert (attempt_id, position, response, seq, saved_at)
             VALUES ($1, $2, $3::json, $4, now())
             ON CONFLICT (attempt_id, position) DO UPDATE
             SET response = excluded.response, seq = excluded.seq, saved_at = excluded.saved_at
             WHERE bench_upsert.seq < excluded.seq"""

    class Body(Struct):
        seq: int
        response: object = None

    async def startup(app: Litestar) -> None:
        app.state.pool = await asyncpg.create_pool(DSN, min_size=10, max_size=20)

    @put("/save/{aid:int}/{pos:int}")
    async def save(aid: int, pos: int, data: Body, state: State) -> dict:
        await state.pool.execute(SQL, aid, pos, json.dumps(data.response), data.seq)
        return {"position": pos, "seq": data.seq}

    app = Litestar([save], on_startup=[startup])
    '''
)


# --- a small keep-alive HTTP/1.1 client -------------------------------------------------------------


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        if body:
            head += "Content-Type: application/json\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        data = await self.reader.readexactly(length) if length else b""
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


# --- servers ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(port: int, proc: subprocess.Popen[bytes], path: str) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"server on :{port} exited at start-up")
        try:
            c = Conn("127.0.0.1", port)
            status, _ = await c.request("GET", path)
            await c.close()
            if status < 500:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"server on :{port} did not come up")


def spawn(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Target:
    port: int
    path_for: Any  # (attempt index, position) -> path
    headers_for: Any  # attempt index -> headers
    seqs: dict[tuple[int, int], int] = field(default_factory=dict)  # last seq sent per item


# --- measurements ------------------------------------------------------------------------------------


async def closed_loop(target: Target, conns: int, seconds: float, n_attempts: int, positions: int) -> float:
    """Saves per second with ``conns`` connections saving as fast as answers come back."""
    done = 0
    deadline = time.perf_counter() + seconds
    seqs = target.seqs

    async def worker(k: int) -> None:
        nonlocal done
        c = Conn("127.0.0.1", target.port)
        await c.open()
        a = k % n_attempts
        pos = 1
        while time.perf_counter() < deadline:
            key = (a, pos)
            seqs[key] = seqs.get(key, 0) + 1
            body = json.dumps({"response": seqs[key], "seq": seqs[key]}).encode()
            status, data = await c.request("PUT", target.path_for(a, pos), body, target.headers_for(a))
            if status != 200:
                raise RuntimeError(f"save answered {status}: {data[:200]!r}")
            done += 1
            pos = pos % positions + 1
        await c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(conns)))
    return done / (time.perf_counter() - t0)


async def open_loop(
    target: Target, rate: float, seconds: float, n_attempts: int, positions: int, pool_size: int = 64
) -> tuple[list[float], float]:
    """Send at ``rate``/s on a pool of connections; latency from the scheduled send time."""
    idle: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(pool_size):
        c = Conn("127.0.0.1", target.port)
        await c.open()
        idle.put_nowait(c)
    latencies: list[float] = []
    seqs = target.seqs
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    failures = 0

    async def one(n: int) -> None:
        nonlocal failures
        scheduled = start + n / rate
        a, pos = n % n_attempts, (n // n_attempts) % positions + 1
        key = (a, pos)
        seqs[key] = seqs.get(key, 0) + 1
        body = json.dumps({"response": seqs[key], "seq": seqs[key]}).encode()
        conn = await idle.get()
        try:
            status, _ = await conn.request("PUT", target.path_for(a, pos), body, target.headers_for(a))
        finally:
            idle.put_nowait(conn)
        if status != 200:
            failures += 1
        latencies.append(time.perf_counter() - scheduled)

    tasks = []
    for n in range(total):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not idle.empty():
        await idle.get_nowait().close()
    if failures:
        raise RuntimeError(f"{failures} saves failed in the open-loop run")
    return latencies, total / elapsed


async def burst(
    port: int, requests: list[tuple[str, str, bytes, dict[str, str]]], spread: float
) -> list[float]:
    """Fire ``requests`` spread evenly over ``spread`` seconds, each on its own connection."""
    conns = [Conn("127.0.0.1", port) for _ in requests]
    await asyncio.gather(*(c.open() for c in conns))
    latencies: list[float] = []
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        scheduled = start + spread * i / len(requests)
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        method, path, body, headers = requests[i]
        status, data = await conns[i].request(method, path, body, headers)
        if status not in (200, 201):
            raise RuntimeError(f"burst request answered {status}: {data[:200]!r}")
        latencies.append(time.perf_counter() - scheduled)

    await asyncio.gather(*(one(i) for i in range(len(requests))))
    await asyncio.gather(*(c.close() for c in conns))
    return latencies


# --- set-up ---------------------------------------------------------------------------------------


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


async def admin_exec(admin_url: str, sql: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    eng = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with eng.connect() as conn:
        await conn.execute(text(sql))
    await eng.dispose()


async def seed(url: str, candidates: int) -> tuple[int, list[dict[str, str]]]:
    """Bank, admin, proctor, ``candidates`` admitted candidates; their access tokens."""
    from sqlalchemy import insert, text

    from apkd.accounts.models import User
    from apkd.accounts.security import hash_password, issue_token
    from apkd.banks.bankfile import parse_bank
    from apkd.banks.service import import_bank
    from apkd.config import load_settings
    from apkd.db import create_engine, session_factory, utcnow
    from apkd.exams.models import ExamSession, Registration, SessionProctor

    engine = create_engine(url)
    factory = session_factory(engine)
    bank, errors = parse_bank(bench_bank(), "bench.yaml")
    assert not errors, errors
    async with factory() as s:
        await import_bank(s, bank, actor="bench")
        await s.commit()
    pw = hash_password("bench-password")
    async with factory() as s:
        conn = await s.connection()
        await conn.execute(
            insert(User.__table__),  # type: ignore[attr-defined]
            [
                {
                    "username": "admin",
                    "password_hash": pw,
                    "role": "admin",
                    "full_name": "Admin",
                    "is_active": True,
                    "created_at": utcnow(),
                },
                {
                    "username": "pengawas",
                    "password_hash": pw,
                    "role": "proctor",
                    "full_name": "Pengawas",
                    "is_active": True,
                    "created_at": utcnow(),
                },
            ]
            + [
                {
                    "username": f"c{i:05d}",
                    "password_hash": pw,
                    "role": "candidate",
                    "full_name": f"Peserta {i}",
                    "is_active": True,
                    "created_at": utcnow(),
                }
                for i in range(candidates)
            ],
        )
        scheme_id = (await conn.execute(text("SELECT id FROM scheme WHERE code = 'BNC'"))).scalar_one()
        now = utcnow()
        exam = ExamSession(
            scheme_id=scheme_id,
            title="Benchmark",
            venue="Lab",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=6),
        )
        s.add(exam)
        await s.flush()
        ids = dict((await conn.execute(text("SELECT username, id FROM app_user"))).tuples().all())
        s.add(SessionProctor(session_id=exam.id or 0, user_id=ids["pengawas"]))
        for i in range(candidates):
            s.add(
                Registration(
                    session_id=exam.id or 0, user_id=ids[f"c{i:05d}"], status="admitted", admitted_at=now
                )
            )
        await s.commit()
        session_id = exam.id or 0
    await engine.dispose()
    settings = load_settings({"APKD_ENV": "test", "APKD_SECRET_KEY": SECRET, "APKD_DATABASE_URL": url})
    headers = []
    for i in range(candidates):
        token, _ = issue_token(settings, user_id=ids[f"c{i:05d}"], username=f"c{i:05d}", role="candidate")
        headers.append({"Authorization": f"Bearer {token}"})
    return session_id, headers


# --- main ------------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> list[str]:
    quick = bool(getattr(args, "quick", False))
    admin_url = os.environ.get(
        "APKD_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    if admin_url.startswith("postgresql://"):
        admin_url = "postgresql+asyncpg://" + admin_url[len("postgresql://") :]
    url = admin_url.rsplit("/", 1)[0] + "/" + DB_NAME
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    n_start = 300
    seconds = 2.0 if quick else 4.0
    rounds = 3 if quick else 5
    rate = 800.0
    conns = 32
    positions = 40

    await admin_exec(admin_url, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    await admin_exec(admin_url, f'CREATE DATABASE "{DB_NAME}"')
    procs: list[subprocess.Popen[bytes]] = []
    lines: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="apkd_bench_exams_"))
    try:
        from apkd.migrate import upgrade

        await asyncio.to_thread(upgrade, url)
        session_id, headers = await seed(url, n_start * 2)  # a second N for the instant burst
        await admin_exec(
            url,
            "CREATE TABLE bench_upsert (attempt_id integer, position integer, response json, seq bigint, "
            "saved_at timestamptz, PRIMARY KEY (attempt_id, position))",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}
        env.update(
            {
                "APKD_DATABASE_URL": url,
                "APKD_SECRET_KEY": SECRET,
                "APKD_ENV": "test",
                "APKD_VAR_DIR": str(tmp),
                "APKD_PUBLIC_RATE_LIMIT": "0",
                "BENCH_DSN": dsn,
            }
        )

        # Both servers run side by side; measurements alternate between them in short
        # windows, so that the noise of a shared machine falls on both alike.
        (tmp / "bare_app.py").write_text(BARE_APP)
        bare_port, app_port = free_port(), free_port()
        bare_cmd = [sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(tmp)]
        bare = spawn([*bare_cmd, "--port", str(bare_port), "--log-level", "info"], env, tmp)
        procs.append(bare)
        app = spawn([sys.executable, "-m", "apkd", "serve", "--port", str(app_port)], env, ROOT)
        procs.append(app)
        await wait_up(bare_port, bare, "/")
        await wait_up(app_port, app, "/healthz")

        # 3. the start burst (first, on a fresh server), and the baseline under the same burst
        starts = [("POST", f"/api/v1/sessions/{session_id}/attempts", b"", h) for h in headers]
        start_lat = await burst(app_port, starts[:n_start], 1.0)
        bare_burst = await burst(
            bare_port,
            [("PUT", f"/save/{100000 + i}/1", b'{"response": 1, "seq": 1}', {}) for i in range(n_start)],
            1.0,
        )
        instant_lat = await burst(app_port, starts[n_start:], 0.0)
        bare_instant = await burst(
            bare_port,
            [("PUT", f"/save/{200000 + i}/1", b'{"response": 1, "seq": 1}', {}) for i in range(n_start)],
            0.0,
        )
        # attempt ids, in candidate order (a second start returns the same attempt)
        c = Conn("127.0.0.1", app_port)
        attempt_ids = []
        for h in headers[: conns * 2]:
            _status, data = await c.request("POST", f"/api/v1/sessions/{session_id}/attempts", b"", h)
            attempt_ids.append(json.loads(data)["id"])
        await c.close()
        n_att = len(attempt_ids)
        bare_target = Target(bare_port, lambda a, p: f"/save/{a + 1}/{p}", lambda a: {})
        apkd_target = Target(
            app_port, lambda a, p: f"/api/v1/attempts/{attempt_ids[a]}/responses/{p}", lambda a: headers[a]
        )
        for t in (bare_target, apkd_target):  # warm-up
            await closed_loop(t, conns, 1.0, n_att, positions)

        # 1. sustained saves, alternating windows
        ratios, bare_runs, apkd_runs = [], [], []
        for _ in range(rounds):
            bare_runs.append(await closed_loop(bare_target, conns, seconds, n_att, positions))
            apkd_runs.append(await closed_loop(apkd_target, conns, seconds, n_att, positions))
            ratios.append(apkd_runs[-1] / bare_runs[-1])
        bare_tps, apkd_tps = statistics.median(bare_runs), statistics.median(apkd_runs)

        # 2. latency at 800 saves/s offered
        bare_lat, bare_rate = await open_loop(bare_target, rate, seconds * 2, n_att, positions)
        apkd_lat, apkd_rate = await open_loop(apkd_target, rate, seconds * 2, n_att, positions)
        stop(app)
        stop(bare)

        ms = 1000.0
        lines += [
            f"saves sustained ({conns} connections, {rounds} alternating windows of {seconds:.0f} s): "
            f"apkd {apkd_tps:,.0f}/s, bare Litestar+asyncpg UPSERT {bare_tps:,.0f}/s (medians) -> "
            f"ratio {statistics.median(ratios):.2f} (median of {', '.join(f'{r:.2f}' for r in ratios)}; "
            "target >= 0.50)",
            f"save latency at {rate:.0f}/s offered (achieved apkd {apkd_rate:,.0f}/s, bare {bare_rate:,.0f}/s): "
            f"apkd p50 {pct(apkd_lat, 0.5) * ms:.1f} ms p99 {pct(apkd_lat, 0.99) * ms:.1f} ms; "
            f"bare p99 {pct(bare_lat, 0.99) * ms:.1f} ms -> p99 ratio {pct(apkd_lat, 0.99) / pct(bare_lat, 0.99):.2f}",
            f"{n_start} candidates pressing start within 1 s: p50 {pct(start_lat, 0.5) * ms:.0f} ms, "
            f"p99 {pct(start_lat, 0.99) * ms:.0f} ms; bare UPSERT under the same burst p99 "
            f"{pct(bare_burst, 0.99) * ms:.1f} ms -> ratio {pct(start_lat, 0.99) / pct(bare_burst, 0.99):.1f}",
            f"{n_start} other candidates pressing start at the same instant: p50 "
            f"{pct(instant_lat, 0.5) * ms:.0f} ms, p99 {pct(instant_lat, 0.99) * ms:.0f} ms; bare UPSERT "
            f"under the same burst p99 {pct(bare_instant, 0.99) * ms:.1f} ms -> ratio "
            f"{pct(instant_lat, 0.99) / pct(bare_instant, 0.99):.1f}",
        ]
        return lines
    finally:
        for p in procs:
            stop(p)
        await admin_exec(admin_url, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
