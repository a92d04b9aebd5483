"""The login storm (issue 11) on PostgreSQL: candidates logging in while answers are being saved.

The exam-day case: a test site's candidates log in over a minute while those already sitting
their exam keep saving. Password checks are argon2id (OWASP parameters, tens of milliseconds of
CPU each); they must not hold up the saves or the health check.

Measured on one ``apkd serve`` worker, in the same run:

1. save latency at 800 saves/s offered (wrk, constant rate: latency from the scheduled send
   time) for S seconds without logins: the baseline p99;
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
import tempfile
import time
from pathlib import Path

from bench.bench_exams import Candidate, seed_rooms
from bench.common import Conn, Server, apkd_env, http_request, pct, scratch_database, wrk

DB_NAME = "apkd_bench_login"
PASSWORD = "bench-password"  # what bench_exams.seed_rooms gives every user
PREFIX = "l"


def storm_usernames(n_savers: int, n_storm: int) -> list[str]:
    """seed_rooms names candidates ``<prefix>c<index>``; the storm is those after the savers."""
    return [f"{PREFIX}c{i:06d}" for i in range(n_savers, n_savers + n_storm)]


async def logins(port: int, usernames: list[str], seconds: float) -> tuple[list[float], int]:
    """Each username logs in once, spread evenly over ``seconds``, each on its own connection."""
    latencies: list[float] = []
    failed = 0
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        nonlocal failed
        scheduled = start + seconds * i / len(usernames)
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        body = json.dumps({"username": usernames[i], "password": PASSWORD}).encode()
        status, _ = await http_request(port, "POST", "/api/v1/auth/login", body)
        if status != 200:
            failed += 1
        latencies.append(time.perf_counter() - scheduled)

    await asyncio.gather(*(one(i) for i in range(len(usernames))))
    return latencies, failed


async def probe_health(port: int, seconds: float, every: float = 0.05) -> list[float]:
    """``GET /healthz`` every ``every`` seconds for ``seconds``, latency from the scheduled time."""
    latencies: list[float] = []
    c = await Conn.open(port)
    start = time.perf_counter()
    n = 0
    try:
        while time.perf_counter() - start < seconds:
            scheduled = start + n * every
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            status, _ = await c.request("GET", "/healthz")
            if status != 200:
                raise RuntimeError(f"/healthz answered {status} during the storm")
            latencies.append(time.perf_counter() - scheduled)
            n += 1
    finally:
        await c.close()
    return latencies


async def start_attempts(port: int, session_id: int, cands: list[Candidate]) -> None:
    """Each saver starts its attempt (one request each, in turn); learns the attempt ids."""
    c = await Conn.open(port)
    try:
        for cand in cands:
            status, data = await c.request(
                "POST",
                f"/api/v1/sessions/{session_id}/attempts",
                b"",
                {"Authorization": f"Bearer {cand.token}"},
            )
            if status not in (200, 201):
                raise RuntimeError(f"start answered {status}: {data[:200]!r}")
            cand.attempt_id = int(json.loads(data)["id"])
    finally:
        await c.close()


async def main(args: argparse.Namespace) -> list[str]:
    quick = bool(getattr(args, "quick", False))
    full = os.environ.get("APKD_BENCH_FULL_STORM", "") not in ("", "0")
    n_storm, seconds = (300, 60.0) if full else ((30, 6.0) if quick else (75, 15.0))
    rate, conns = 800.0, 32
    savers = conns * 2
    tmp = Path(tempfile.mkdtemp(prefix="apkd_bench_login_"))
    async with scratch_database(DB_NAME) as url:
        [room] = await seed_rooms(url, 1, savers + n_storm, prefix=PREFIX)
        app = Server.apkd(apkd_env(url, tmp), workers=1)
        try:
            await app.wait_up("/healthz")
            saving = room.candidates[:savers]
            await start_attempts(app.port, room.session_id, saving)
            targets = [f"{c.attempt_id} {c.token}" for c in saving]
            (await wrk(app.port, "save", targets, 2, connections=conns)).check("warm-up saves")

            calm = await wrk(app.port, "save", targets, seconds, connections=conns, rate=rate)
            stormy, (login_lat, login_failed), health = await asyncio.gather(
                wrk(app.port, "save", targets, seconds, connections=conns, rate=rate),
                logins(app.port, storm_usernames(savers, n_storm), seconds),
                probe_health(app.port, seconds),
            )
        except BaseException:
            print(f"--- apkd log ---\n{app.log_tail()}", flush=True)
            raise
        finally:
            app.stop()
    calm.check("saves without logins")
    stormy.check("saves during the storm")
    if login_failed:
        raise RuntimeError(f"{login_failed} of {n_storm} logins failed during the storm")

    ms = 1000.0
    size = "full size" if full else "scaled down; APKD_BENCH_FULL_STORM=1 for 300 over 60 s"
    return [
        f"login storm (1 worker): {n_storm} candidates logging in over {seconds:.0f} s ({size}) while "
        f"{rate:.0f} saves/s are offered (wrk; achieved {calm.rate:,.0f}/s calm, {stormy.rate:,.0f}/s in the storm)",
        f"save p99 during the storm {stormy.sched_p99:.1f} ms beside {calm.sched_p99:.1f} ms without it -> ratio "
        f"{stormy.sched_p99 / calm.sched_p99:.2f} (target <= 2.0 and < 100 ms); p50 {stormy.sched_p50:.1f} ms "
        f"vs {calm.sched_p50:.1f} ms",
        f"/healthz p99 during the storm {pct(health, 0.99) * ms:.1f} ms (p50 {pct(health, 0.5) * ms:.1f} ms, "
        f"{len(health)} probes)",
        f"logins: p50 {pct(login_lat, 0.5) * ms:.0f} ms, p99 {pct(login_lat, 0.99) * ms:.0f} ms, all {n_storm} ok",
    ]
