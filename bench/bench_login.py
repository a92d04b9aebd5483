"""The login storm (issue 11) on PostgreSQL: candidates logging in while answers are being saved.

The exam-day case: a test site's candidates log in over a minute while those already sitting
their exam keep saving. Password checks are argon2id (OWASP parameters, tens of milliseconds of
CPU each); they must not hold up the saves or the health check.

Measured on one ``apkd serve`` worker, in the same run:

1. save latency at 800 saves/s offered (open loop: latency from the scheduled send time) for S
   seconds without logins: the baseline p99;
2. the same saves while N candidates log in, spread evenly over the same S seconds, with
   ``/healthz`` probed every 50 ms: save p99 during the storm beside the baseline (target: at
   most double, and under 100 ms), ``/healthz`` p99, and the logins' own p50/p99.

Sizes: the full storm is 300 candidates over 60 s (``APKD_BENCH_FULL_STORM=1``); by default a
scaled-down storm of the same rate, 75 candidates over 15 s (``--quick``: 30 over 6 s), so
that ``make bench`` stays short. A database of its own (``apkd_bench_login``) is made and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_exams import (
    ROOT,
    SECRET,
    Conn,
    Target,
    admin_exec,
    closed_loop,
    free_port,
    open_loop,
    pct,
    seed,
    spawn,
    stop,
    wait_up,
)

DB_NAME = "apkd_bench_login"
PASSWORD = "bench-password"  # what bench_exams.seed gives every user


async def logins(port: int, usernames: list[str], seconds: float) -> tuple[list[float], int]:
    """Each username logs in once, spread evenly over ``seconds``, each on its own connection."""
    latencies: list[float] = []
    failed = 0
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        nonlocal failed
        scheduled = start + seconds * i / len(usernames)
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        c = Conn("127.0.0.1", port)
        body = json.dumps({"username": usernames[i], "password": PASSWORD}).encode()
        try:
            status, _ = await c.request("POST", "/api/v1/auth/login", body)
        finally:
            await c.close()
        if status != 200:
            failed += 1
        latencies.append(time.perf_counter() - scheduled)

    await asyncio.gather(*(one(i) for i in range(len(usernames))))
    return latencies, failed


async def probe_health(port: int, seconds: float, every: float = 0.05) -> list[float]:
    """``GET /healthz`` every ``every`` seconds for ``seconds``, latency from the scheduled time."""
    latencies: list[float] = []
    c = Conn("127.0.0.1", port)
    await c.open()
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < seconds:
        scheduled = start + n * every
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        status, _ = await c.request("GET", "/healthz")
        if status != 200:
            raise RuntimeError(f"/healthz answered {status} during the storm")
        latencies.append(time.perf_counter() - scheduled)
        n += 1
    await c.close()
    return latencies


async def main(args: argparse.Namespace) -> list[str]:
    quick = bool(getattr(args, "quick", False))
    full = os.environ.get("APKD_BENCH_FULL_STORM", "") not in ("", "0")
    n_storm, seconds = (300, 60.0) if full else ((30, 6.0) if quick else (75, 15.0))
    rate, conns, positions = 800.0, 32, 40
    admin_url = os.environ.get(
        "APKD_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    if admin_url.startswith("postgresql://"):
        admin_url = "postgresql+asyncpg://" + admin_url[len("postgresql://") :]
    url = admin_url.rsplit("/", 1)[0] + "/" + DB_NAME

    await admin_exec(admin_url, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    await admin_exec(admin_url, f'CREATE DATABASE "{DB_NAME}"')
    procs: list[subprocess.Popen[bytes]] = []
    tmp = Path(tempfile.mkdtemp(prefix="apkd_bench_login_"))
    try:
        from apkd.migrate import upgrade

        await asyncio.to_thread(upgrade, url)
        savers = conns * 2
        session_id, headers = await seed(url, savers + n_storm)
        env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}
        env.update(
            {
                "APKD_DATABASE_URL": url,
                "APKD_SECRET_KEY": SECRET,
                "APKD_ENV": "test",
                "APKD_VAR_DIR": str(tmp),
                "APKD_PUBLIC_RATE_LIMIT": "0",
            }
        )
        port = free_port()
        app = spawn([sys.executable, "-m", "apkd", "serve", "--port", str(port)], env, ROOT)
        procs.append(app)
        await wait_up(port, app, "/healthz")

        c = Conn("127.0.0.1", port)
        attempt_ids = []
        for h in headers[:savers]:
            status, data = await c.request("POST", f"/api/v1/sessions/{session_id}/attempts", b"", h)
            if status not in (200, 201):
                raise RuntimeError(f"start answered {status}: {data[:200]!r}")
            attempt_ids.append(json.loads(data)["id"])
        await c.close()
        target = Target(
            port, lambda a, p: f"/api/v1/attempts/{attempt_ids[a]}/responses/{p}", lambda a: headers[a]
        )
        await closed_loop(target, conns, 1.0, savers, positions)  # warm-up

        calm, calm_rate = await open_loop(target, rate, seconds, savers, positions)
        usernames = [f"c{i:05d}" for i in range(savers, savers + n_storm)]
        (stormy, stormy_rate), (login_lat, login_failed), health = await asyncio.gather(
            open_loop(target, rate, seconds, savers, positions),
            logins(port, usernames, seconds),
            probe_health(port, seconds),
        )
        stop(app)
        if login_failed:
            raise RuntimeError(f"{login_failed} of {n_storm} logins failed during the storm")

        ms = 1000.0
        calm_p99, storm_p99 = pct(calm, 0.99) * ms, pct(stormy, 0.99) * ms
        size = "full size" if full else "scaled down; APKD_BENCH_FULL_STORM=1 for 300 over 60 s"
        return [
            f"login storm: {n_storm} candidates logging in over {seconds:.0f} s ({size}) while "
            f"{rate:.0f} saves/s are offered (achieved {calm_rate:,.0f}/s calm, {stormy_rate:,.0f}/s in the storm)",
            f"save p99 during the storm {storm_p99:.1f} ms beside {calm_p99:.1f} ms without it -> ratio "
            f"{storm_p99 / calm_p99:.2f} (target <= 2.0 and < 100 ms); p50 {pct(stormy, 0.5) * ms:.1f} ms "
            f"vs {pct(calm, 0.5) * ms:.1f} ms",
            f"/healthz p99 during the storm {pct(health, 0.99) * ms:.1f} ms (p50 {pct(health, 0.5) * ms:.1f} ms, "
            f"{len(health)} probes)",
            f"logins: p50 {pct(login_lat, 0.5) * ms:.0f} ms, p99 {pct(login_lat, 0.99) * ms:.0f} ms, all {n_storm} ok",
        ]
    finally:
        for p in procs:
            stop(p)
        await admin_exec(admin_url, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
