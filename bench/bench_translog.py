"""Transparency-log benchmarks on PostgreSQL, as ratios against a baseline in the same run.

A log of N = 1,000,000 entries (``--quick``: 100,000) is bulk-loaded with COPY: the leaves
and every complete-subtree node are computed in Python, level by level, exactly as appends
would have stored them (the root is then checked against ``service.root_at``). Measured:

1. an inclusion proof through ``service.inclusion_proof`` (what GET /api/v1/log/proof/inclusion
   calls: O(log n) nodes in one query, plus the proof hashing), p50/p99 over random leaves,
   against a bare single-row primary-key SELECT on ``log_entry`` in the same session
   (target: p99 well under 10 ms);
2. a consistency proof (``service.consistency_proof``) between random sizes, same baseline;
3. an append of one event (lock head, read dependencies, insert leaf and nodes, commit),
   against a bare one-row INSERT + commit into a scratch table.

A database of its own (``apkd_bench_translog``) is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

DB_NAME = "apkd_bench_translog"


async def admin_exec(admin_url: str, sql: str) -> None:
    eng = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with eng.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await eng.dispose()


def build_tree(n: int) -> tuple[list[bytes], list[list[bytes]]]:
    """Leaves (canonical JSON events) and the hashes of every complete subtree, per level."""
    sha = hashlib.sha256
    leaves = [
        (
            f'{{"number":"APKD-BPG-5305-2026-{i % 1_000_000:06d}-X","time":"2026-03-01T02:00:00Z",'
            f'"type":"issued","vc_sha256":"{sha(i.to_bytes(8, "big")).hexdigest()}"}}'
        ).encode()
        for i in range(n)
    ]
    levels = [[sha(b"\x00" + e).digest() for e in leaves]]
    while len(levels[-1]) > 1:
        prev = levels[-1]
        levels.append([sha(b"\x01" + prev[i] + prev[i + 1]).digest() for i in range(0, len(prev) - 1, 2)])
    return leaves, levels


async def load_tree(engine: Any, leaves: list[bytes], levels: list[list[bytes]]) -> None:
    """The log's entries, nodes and head, bulk-loaded with COPY (PostgreSQL) as appends build them."""
    now = datetime.now(UTC)
    n = len(leaves)
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.copy_records_to_table(
            "log_entry",
            columns=["idx", "entry", "number", "created_at"],
            records=((i, e, f"APKD-BPG-5305-2026-{i % 1_000_000:06d}-X", now) for i, e in enumerate(leaves)),
        )
        await raw.copy_records_to_table(
            "log_node",
            columns=["level", "idx", "hash"],
            records=((lv, i, h) for lv, hashes in enumerate(levels) for i, h in enumerate(hashes)),
        )
        await raw.execute("INSERT INTO log_head (id, tree_size) VALUES (1, $1)", n)
        await raw.execute("ANALYZE log_entry; ANALYZE log_node")
        await conn.commit()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def timed(samples: int, fn: Callable[[int], Awaitable[Any]]) -> list[float]:
    out: list[float] = []
    for k in range(samples):
        t0 = time.perf_counter()
        await fn(k)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def line(name: str, measured: list[float], base: list[float]) -> str:
    p50, p99 = statistics.median(measured), pct(measured, 99)
    b50, b99 = statistics.median(base), pct(base, 99)
    return (
        f"{name}: p50 {p50:.3f} ms, p99 {p99:.3f} ms | baseline p50 {b50:.3f} ms, p99 {b99:.3f} ms"
        f" | ratio p50 {p50 / b50:.1f}x, p99 {p99 / b99:.1f}x"
    )


async def main(args: argparse.Namespace) -> list[str]:
    from apkd.config import load_settings
    from apkd.db import create_engine, session_factory
    from apkd.migrate import upgrade
    from apkd.translog import checkpoints, merkle, service

    n = 100_000 if getattr(args, "quick", False) else 1_000_000
    samples = 300 if getattr(args, "quick", False) else 2000
    admin_url = os.environ.get(
        "APKD_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    if admin_url.startswith("postgresql://"):
        admin_url = "postgresql+asyncpg://" + admin_url[len("postgresql://") :]
    url = f"{admin_url.rsplit('/', 1)[0]}/{DB_NAME}"
    out: list[str] = []

    await admin_exec(admin_url, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    await admin_exec(admin_url, f'CREATE DATABASE "{DB_NAME}"')
    engine = create_engine(url, pool_size=2)
    try:
        await asyncio.to_thread(upgrade, url)

        t0 = time.perf_counter()
        leaves, levels = await asyncio.to_thread(build_tree, n)
        t_hash = time.perf_counter() - t0

        t0 = time.perf_counter()
        await load_tree(engine, leaves, levels)
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.execute("CREATE TABLE bench_scratch (id bigserial PRIMARY KEY, v bytea NOT NULL)")
        t_load = time.perf_counter() - t0
        nodes = sum(len(lv) for lv in levels)
        out.append(f"loaded {n:,} entries and {nodes:,} nodes: hashing {t_hash:.1f} s, COPY {t_load:.1f} s")

        rng = random.Random(9162)
        factory = session_factory(engine)
        async with factory() as s:
            # The bulk-loaded tree is the one appends would build: check the root and one proof.
            expected_root = merkle.root_hash(n, {(lv, i): levels[lv][i] for lv, i in merkle.root_nodes(n)})
            assert await service.root_at(s, n) == expected_root, "bulk-loaded tree has a wrong root"
            probe = n // 3
            path = await service.inclusion_proof(s, probe, n)
            assert merkle.verify_inclusion(probe, n, merkle.leaf_hash(leaves[probe]), path, expected_root)
            del leaves, levels

            conn = await s.connection()
            pk_select = text("SELECT entry FROM log_entry WHERE idx = :i")
            indexes = [rng.randrange(n) for _ in range(samples)]
            firsts = [rng.randrange(1, n) for _ in range(samples)]

            async def bare(k: int) -> None:
                (await conn.execute(pk_select, {"i": indexes[k]})).one()

            async def inclusion(k: int) -> None:
                await service.inclusion_proof(s, indexes[k], n)

            async def consistency(k: int) -> None:
                await service.consistency_proof(s, firsts[k], n)

            for fn in (bare, inclusion, consistency):  # warm the plan and statement caches
                await timed(50, fn)
            base = await timed(samples, bare)
            incl = await timed(samples, inclusion)
            cons = await timed(samples, consistency)
            base2 = await timed(samples, bare)
            base_all = base + base2
            out.append(line(f"inclusion proof at {n:,}", incl, base_all))
            out.append(line(f"consistency proof at {n:,}", cons, base_all))
            verdict = "OK" if pct(incl, 99) < 10 else "OVER BUDGET"
            out.append(f"inclusion p99 {pct(incl, 99):.3f} ms vs 10 ms budget: {verdict}")
            await s.commit()

        appends = 100 if getattr(args, "quick", False) else 300
        async with factory() as s:
            scratch = text("INSERT INTO bench_scratch (v) VALUES (:v)")

            async def bare_insert(k: int) -> None:
                await (await s.connection()).execute(scratch, {"v": b"x" * 170})
                await s.commit()

            async def append_one(k: int) -> None:
                await service.append(
                    s,
                    [
                        {
                            "type": "revoked",
                            "number": f"APKD-BPG-5305-2026-{k:06d}-X",
                            "vc_sha256": hashlib.sha256(k.to_bytes(8, "big")).hexdigest(),
                            "time": "2026-03-02T02:00:00Z",
                            "reason_code": "bench",
                        }
                    ],
                )
                await s.commit()

            await timed(20, bare_insert)
            ins = await timed(appends, bare_insert)
            app = await timed(appends, append_one)
            out.append(line(f"append of 1 event at {n:,} (with commit)", app, ins))
            settings = load_settings(
                {"APKD_ENV": "test", "APKD_DATABASE_URL": url, "APKD_SECRET_KEY": "bench-" + "k" * 40}
            )
            t0 = time.perf_counter()
            cp = await checkpoints.current_checkpoint(s, settings)
            t_sign = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            await checkpoints.current_checkpoint(s, settings)
            t_cached = (time.perf_counter() - t0) * 1000
            out.append(
                f"checkpoint at {cp.tree_size:,}: first (sign, incl. key creation) {t_sign:.1f} ms, "
                f"stored {t_cached:.2f} ms"
            )
    finally:
        await engine.dispose()
        await admin_exec(admin_url, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    return out
