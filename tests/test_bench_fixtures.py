"""Every benchmark's fixtures, built at a tiny size: a schema change that breaks a bench's
seeding (a new NOT NULL column, a renamed helper) fails here, not on the next `make bench`.

The benches themselves need wrk, servers and minutes; their data is what rots silently.
COPY-based seeds are PostgreSQL-only and run on the PostgreSQL pass.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
if str(ROOT) not in sys.path:  # `python -m bench` runs from the repository root (bench, tests.factories)
    sys.path.insert(0, str(ROOT))
# (read here, not imported from conftest: with several conftest modules the name is ambiguous)
pg_only = pytest.mark.skipif(
    os.environ.get("APKD_TEST_DATABASE", "sqlite") != "postgres", reason="COPY seeding: the PostgreSQL pass"
)


def test_every_bench_module_imports_and_has_a_main() -> None:
    names = sorted(m.name for m in pkgutil.iter_modules([str(BENCH)]))
    benches = [n for n in names if n.startswith("bench_")] + ["national"]
    assert len(benches) >= 7, names
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        if name in benches:
            assert inspect.iscoroutinefunction(module.main), name
    main = importlib.import_module("bench.__main__")
    assert callable(main.main)


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def test_exam_rooms_and_login_storm_fixtures(clean: AsyncEngine, db_url: str) -> None:
    from bench.bench_exams import POSITIONS, bench_bank, seed_rooms
    from bench.bench_login import PREFIX, storm_usernames

    from apkd.banks.bankfile import parse_bank

    bank, errors = parse_bank(bench_bank(), "bench.yaml")
    assert bank is not None and not errors
    assert bank.scheme.form_length() == POSITIONS

    rooms = await seed_rooms(db_url, 2, 3, prefix="t")
    assert [len(r.candidates) for r in rooms] == [3, 3]
    assert all(c.token and c.attempt_id is None for r in rooms for c in r.candidates)
    form = {"assembly_version": 1, "scheme": {"code": "BNC"}, "items": []}
    started = await seed_rooms(db_url, 1, 2, prefix="u", form=form)
    assert all(c.attempt_id for c in started[0].candidates)
    assert await _count(clean, "SELECT count(*) FROM attempt WHERE status = 'in_progress'") == 2

    [storm] = await seed_rooms(db_url, 1, 3, prefix=PREFIX)
    names = storm_usernames(1, 2)
    async with clean.connect() as conn:
        found = (
            (
                await conn.execute(
                    text("SELECT username FROM app_user WHERE username IN (:a, :b)"),
                    dict(a=names[0], b=names[1]),
                )
            )
            .scalars()
            .all()
        )
    assert sorted(found) == names


async def test_credentials_bench_seed(clean: AsyncEngine) -> None:
    from bench.bench_credentials import seed

    result_ids, session_id = await seed(clean, 3)
    assert len(result_ids) == 3
    assert await _count(clean, f"SELECT count(*) FROM result WHERE session_id = {int(session_id)}") == 3


async def test_registry_bench_seed(clean: AsyncEngine, db_url: str, settings: Any) -> None:
    from bench.bench_registry import seed

    number = await seed(db_url, settings)
    assert number.startswith("APKD-")


@pg_only
async def test_grading_bench_seed_and_publish(clean: AsyncEngine, db_url: str) -> None:
    from bench import bench_grading

    session_id, _ = await bench_grading._seed(db_url, 4)
    assert await _count(clean, "SELECT count(*) FROM attempt WHERE status = 'submitted'") == 4
    _, passed = await bench_grading._pure_baseline(db_url, session_id)
    assert 0 <= passed <= 4


@pg_only
async def test_translog_bench_load(clean: AsyncEngine) -> None:
    from bench.bench_translog import build_tree, load_tree

    leaves, levels = build_tree(9)
    await load_tree(clean, leaves, levels)
    assert await _count(clean, "SELECT tree_size FROM log_head WHERE id = 1") == 9
    assert await _count(clean, "SELECT count(*) FROM log_node") == sum(len(lv) for lv in levels)
