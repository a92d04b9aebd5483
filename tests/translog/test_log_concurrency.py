"""Several workers (separate engines, as separate processes would have) append at once: the
tree never forks. Meant for PostgreSQL (row lock on log_head); also runs on SQLite."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random

from rfc9162 import ref_mth
from sqlalchemy import text

from apkd.db import create_engine, session_factory
from apkd.translog import checkpoints, service

WORKERS = 5
ROUNDS = 8


def ev(worker: int, n: int) -> dict[str, str]:
    return {
        "type": "issued",
        "number": f"APKD-W{worker}-5305-2026-{n:06d}-X",
        "vc_sha256": hashlib.sha256(f"{worker}/{n}".encode()).hexdigest(),
        "time": "2026-03-01T02:00:00Z",
    }


async def test_concurrent_appends_from_several_engines_never_fork_the_tree(clean, db_url, settings) -> None:
    engines = [create_engine(db_url, pool_size=2) for _ in range(WORKERS)]
    rng = random.Random(6962)
    plans = [[rng.randint(1, 6) for _ in range(ROUNDS)] for _ in range(WORKERS)]

    async def worker(w: int) -> list[tuple[int, dict[str, str]]]:
        got: list[tuple[int, dict[str, str]]] = []
        counter = 0
        async with session_factory(engines[w])() as session:
            for round_, size in enumerate(plans[w]):
                events = [ev(w, counter + k) for k in range(size)]
                counter += size
                indexes = await service.append(session, events)
                await asyncio.sleep(0.001 * rng.random())  # hold the lock a little, like a real request
                await session.commit()
                got.extend(zip(indexes, events, strict=True))
                if round_ % 3 == 1:  # readers sign checkpoints (and race to create the log key)
                    await checkpoints.current_checkpoint(session, settings)
        return got

    try:
        results = await asyncio.gather(*(worker(w) for w in range(WORKERS)))
    finally:
        for eng in engines:
            await eng.dispose()

    total = sum(sum(p) for p in plans)
    returned = sorted(i for r in results for i, _ in r)
    assert returned == list(range(total))  # every index handed out exactly once, no gap

    async with session_factory(clean)() as s:
        rows = (await s.execute(text("SELECT idx, entry FROM log_entry ORDER BY idx"))).all()
        assert [int(r[0]) for r in rows] == list(range(total))
        leaves = [bytes(r[1]) for r in rows]
        # each worker's event landed at the index it was told
        for r in results:
            for index, event in r:
                assert json.loads(leaves[index]) == event
        assert await service.tree_size(s) == total
        root = ref_mth(leaves)
        assert await service.root_at(s, total) == root
        cp = await checkpoints.current_checkpoint(s, settings)
        assert cp.tree_size == total and base64.b64decode(cp.root_hash) == root
        nodes = (await s.execute(text("SELECT count(*) FROM log_node"))).scalar_one()
        assert nodes == sum(total >> level for level in range(total.bit_length()))
        keys = (await s.execute(text("SELECT count(*) FROM signing_key WHERE purpose = 'log'"))).scalar_one()
        assert keys == 1


async def test_concurrent_large_batches_never_fork_the_tree(clean, db_url) -> None:
    """Batches of hundreds of leaves (a published session) from several engines at once: every
    batch lands as one contiguous run, and the stored tree is the RFC 9162 tree of the log."""
    workers, rng = 4, random.Random(9162)
    plans = [[rng.randint(50, 400) for _ in range(3)] for _ in range(workers)]
    engines = [create_engine(db_url, pool_size=2) for _ in range(workers)]

    async def worker(w: int) -> list[list[int]]:
        runs: list[list[int]] = []
        counter = 0
        async with session_factory(engines[w])() as session:
            for size in plans[w]:
                indexes = await service.append(session, [ev(w, counter + k) for k in range(size)])
                counter += size
                await asyncio.sleep(0.002 * rng.random())
                await session.commit()
                runs.append(indexes)
        return runs

    try:
        results = await asyncio.gather(*(worker(w) for w in range(workers)))
    finally:
        for eng in engines:
            await eng.dispose()

    total = sum(sum(p) for p in plans)
    runs = sorted((run for r in results for run in r), key=lambda run: run[0])
    assert [i for run in runs for i in run] == list(range(total))  # contiguous, disjoint, no gap
    for run in runs:
        assert run == list(range(run[0], run[0] + len(run)))
    async with session_factory(clean)() as s:
        leaves = [
            bytes(r[0]) for r in (await s.execute(text("SELECT entry FROM log_entry ORDER BY idx"))).all()
        ]
        assert len(leaves) == total
        for size in sorted({total, *(run[-1] + 1 for run in runs)}):
            assert await service.root_at(s, size) == ref_mth(leaves[:size])
        nodes = (await s.execute(text("SELECT count(*) FROM log_node"))).scalar_one()
        assert nodes == sum(total >> level for level in range(total.bit_length()))
