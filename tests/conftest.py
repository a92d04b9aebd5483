"""Test fixtures: the schema is built by Alembic (never create_all), on SQLite by default and
on PostgreSQL when APKD_TEST_DATABASE=postgres (with APKD_TEST_POSTGRES_URL pointing at a
server; a database of its own is created and dropped). Tables are emptied before each test
that uses the database. On PostgreSQL only the tests that touch the database run: the pure
ones already ran on the SQLite pass of the same `make test`.

Under pytest-xdist (``make test`` runs ``-n 2``) each worker has its own temporary directory,
so its own SQLite file, and its own PostgreSQL database (the name carries the worker's pid).
Tests are fast and deterministic: the argon2 cost is lowered (APKD_PASSWORD_HASH_*, also for
the CLI subprocesses some tests start) and exam forms are drawn from pinned seeds."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.config import Settings, load_settings
from apkd.db import create_engine, session_factory
from apkd.tables import metadata

DB_FIXTURES = {"engine", "db", "client", "app", "db_url", "make_user", "login"}
TEST_SECRET = "test-secret-" + "x" * 40


# argon2 at its lowest cost: tests check behaviour, not the cost (which is a setting).
CHEAP_PASSWORD_HASH = {
    "APKD_PASSWORD_HASH_TIME_COST": "1",
    "APKD_PASSWORD_HASH_MEMORY_KIB": "8",
    "APKD_PASSWORD_HASH_PARALLELISM": "1",
}


def pytest_configure(config: pytest.Config) -> None:
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings

    from apkd.accounts.security import configure_password_hashing

    # Property tests: the same examples on every run (derandomize) and no timing checks (a
    # loaded 2-core machine is not a failing test).
    hypothesis_settings.register_profile(
        "apkd", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    hypothesis_settings.load_profile("apkd")

    for name, value in CHEAP_PASSWORD_HASH.items():
        os.environ.setdefault(name, value)  # CLI subprocesses inherit it
    configure_password_hashing(
        Settings(password_hash_time_cost=1, password_hash_memory_kib=8, password_hash_parallelism=1)
    )


@pytest.fixture(autouse=True)
def pinned_seeds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exam forms are drawn from seeds 1001, 1002, ... in each test (not 63 random bits), so a
    test that needs, say, a single-choice item in the first form passes or fails every time."""
    import sys

    from apkd.exams import assembly

    original = assembly.new_seed
    seeds = iter(range(1001, 1_000_000))

    def pinned() -> int:
        return next(seeds)

    for name, module in list(sys.modules.items()):
        if name.startswith("apkd.") and getattr(module, "new_seed", None) is original:
            monkeypatch.setattr(module, "new_seed", pinned)


def backend() -> str:
    return os.environ.get("APKD_TEST_DATABASE", "sqlite")


# The modules whose tests take longest (seconds on the 2-core machine, measured with
# --durations; docs/decisions/053-test-speed.md). Under xdist's worksteal each worker first gets
# one contiguous half of the collection and steals from the end of the other's queue: long tests
# left at the end of a queue run alone while the other core idles. So the long modules are split
# into two groups of about equal time and each group goes to the front of one half.
LONG_MODULES = {
    "tests/sites/test_two_installations.py": 84,
    "tests/web/test_web_room.py": 69,
    "tests/web/test_web_console_walk.py": 61,
    "tests/web/test_web_browser.py": 28,
    "tests/credentials/test_signing_keys.py": 22,
    "tests/test_cli.py": 34,
    "tests/web/test_web_public.py": 13,
    "tests/banks/test_review_rule.py": 12,
    "tests/exams/test_cli_register.py": 12,
    "tests/credentials/test_reissue.py": 12,
    "tests/exams/test_crash_durability.py": 11,
    "tests/web/test_web_admin.py": 11,
    "tests/appeals/test_archive.py": 7,
    "tests/test_wheel.py": 6,
}


def _long_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """The same items, the long modules at the front of each half (order within a module kept)."""
    by_module: dict[str, list[pytest.Item]] = {}
    rest: list[pytest.Item] = []
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        (by_module.setdefault(module, []) if module in LONG_MODULES else rest).append(item)
    groups: tuple[list[pytest.Item], list[pytest.Item]] = ([], [])
    load = [0, 0]
    for module in sorted(by_module, key=lambda m: -LONG_MODULES[m]):
        side = 0 if load[0] <= load[1] else 1
        groups[side].extend(by_module[module])
        load[side] += LONG_MODULES[module]
    cut = max(0, len(items) // 2 - len(groups[0]))
    return [*groups[0], *rest[:cut], *groups[1], *rest[cut:]]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backend() == "postgres":
        keep, drop = [], []
        for item in items:
            names = set(getattr(item, "fixturenames", ()))
            (keep if names & DB_FIXTURES or item.get_closest_marker("postgres") else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    items[:] = _long_first(items)


def _pg_admin_url() -> str:
    url = os.environ.get("APKD_TEST_POSTGRES_URL")
    if not url:
        pytest.exit("APKD_TEST_DATABASE=postgres needs APKD_TEST_POSTGRES_URL", returncode=2)
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    return url


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from apkd.migrate import upgrade

    if backend() == "postgres":
        admin = _pg_admin_url()
        name = f"apkd_test_{os.getpid()}_{secrets.token_hex(3)}"

        async def admin_exec(sql: str) -> None:
            eng = create_async_engine(admin, isolation_level="AUTOCOMMIT")
            async with eng.connect() as conn:
                await conn.execute(text(sql))
            await eng.dispose()

        asyncio.run(admin_exec(f'CREATE DATABASE "{name}"'))
        base = admin.rsplit("/", 1)[0]
        url = f"{base}/{name}"
        upgrade(url)
        yield url
        asyncio.run(admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("db") / "apkd.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def base_settings(db_url: str, var_dir: Path) -> Settings:
    """The tests' settings; a module may override ``settings`` with others (its app is then
    built for it)."""
    return load_settings(
        {
            "APKD_ENV": "test",
            "APKD_DATABASE_URL": db_url,
            "APKD_SECRET_KEY": TEST_SECRET,
            "APKD_VAR_DIR": str(var_dir),
            "APKD_BASE_URL": "https://apkd.test",
            "APKD_PUBLIC_RATE_LIMIT": "0",
            "APKD_WARM_START": "0",  # a lifespan per test: its direct pool opens on first use
            **CHEAP_PASSWORD_HASH,
        }
    )


@pytest.fixture(scope="session")
def settings(base_settings: Settings) -> Settings:
    return base_settings


@pytest.fixture(scope="session")
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url, pool_size=5)
    yield eng
    await eng.dispose()


async def _truncate(engine: AsyncEngine) -> None:
    tables = [t.name for t in reversed(metadata().sorted_tables)]
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            )
        else:
            for t in tables:
                await conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
async def clean(engine: AsyncEngine) -> AsyncEngine:
    await _truncate(engine)
    return engine


@pytest.fixture
async def db(clean: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with session_factory(clean)() as session:
        yield session


@pytest.fixture(scope="session")
def built_app(base_settings: Settings) -> Any:
    """The app of the test settings, built once per worker (building one takes about 0.1 s:
    Litestar prepares every handler's signature). Each test's client runs its lifespan
    afresh (own engine, own sweeper); the per-worker caches are module-level either way
    (docs/caches.md)."""
    from apkd.app import create_app

    return create_app(base_settings)


@pytest.fixture
def app(settings: Settings, base_settings: Settings, clean: AsyncEngine, built_app: Any) -> Any:
    """The app makes its own engine: the test client serves it from another event loop,
    and database connections belong to the loop that opened them. Another test may have
    built an app with other settings since, so this process is configured for these again;
    a module that overrides ``settings`` gets an app of its own."""
    from apkd.app import configure_process, create_app

    if settings is not base_settings:
        return create_app(settings)
    configure_process(settings)
    # what an earlier test put into the app's state (a counter, a broken session factory) goes
    initial = built_app.state.setdefault("_initial_state", dict(built_app.state))
    for key in [k for k in built_app.state if k not in initial and k != "_initial_state"]:
        del built_app.state[key]
    built_app.state.update(initial)
    return built_app


@pytest.fixture
async def client(app: Any) -> AsyncIterator[Any]:
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as c:
        yield c


@pytest.fixture
def make_user(clean: AsyncEngine) -> Any:
    """Create a user directly through the service (see factories.create_test_user); returns the User."""
    from factories import PASSWORD, create_test_user

    counter = iter(range(1, 10_000))

    async def factory(
        role: str = "candidate", username: str | None = None, password: str = PASSWORD, **fields: Any
    ) -> Any:
        async with session_factory(clean)() as s:
            user = await create_test_user(s, next(counter), role, username, password, **fields)
            await s.commit()  # services flush; the caller's unit of work commits
            return user

    return factory


@pytest.fixture
def login(client: Any) -> Any:
    """Log in through the API; returns the Authorization headers."""

    async def do(username: str, password: str = "rahasia-123") -> dict[str, str]:
        r = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return do
