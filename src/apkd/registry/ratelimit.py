"""Rate limiting of public routes per client address, shared by every worker process.

A fixed one-minute window per client IP, ``settings.public_rate_limit`` requests per window
(0 turns the limit off). Over the limit: ``429`` problem+json with ``Retry-After`` (seconds
to the next window).

The counter lives where every worker sees it (docs/design.md: "Litestar's rate limiter is per process
unless given a shared store"):

- Redis (``INCRBY`` + ``EXPIRE``) when ``APKD_REDIS_URL`` is set;
- otherwise a small SQLite file ``var/ratelimit.sqlite3``, incremented with one atomic
  ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` (WAL, no fsync: counters need not survive
  a power cut). Every worker on the host shares it; it is not the application database, so
  counting never takes that database's write lock and works while it is down.

Each worker tells the shared store its counts in small batches while a client is far below
the limit, and request by request near it (`Batched`): the hot routes do not pay a store
round trip per request.

The limiter fails open: when its store cannot be used, the request is served (and a
warning logged). Abuse control must not take the registry down with it.

Use it on any public route handler or router: ``before_request=public_rate_limit``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from litestar import Request, Response

from apkd.config import Settings
from apkd.errors import problem

__all__ = [
    "Batched",
    "CounterStore",
    "MemoryCounter",
    "RedisCounter",
    "SQLiteCounter",
    "counter_for",
    "public_rate_limit",
]

log = logging.getLogger("apkd.ratelimit")
WINDOW_SECONDS = 60


class CounterStore(Protocol):
    async def hit(self, key: str, window: int, n: int = 1) -> int:
        """Count `n` requests for `key` in window number `window`; the count so far in it."""
        ...


class MemoryCounter:
    """One process only: for tests and single-worker runs."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, window: int, n: int = 1) -> int:
        w, count = self._counts.get(key, (window, 0))
        count = count + n if w == window else n
        self._counts[key] = (window, count)
        if len(self._counts) > 100_000:
            self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
        return count


class SQLiteCounter:
    """A counter file shared by the worker processes of one host."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._last_purge = 0

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=0.25, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS hits (key TEXT PRIMARY KEY, win INTEGER NOT NULL, n INTEGER NOT NULL)"
            )
            self._local.conn = conn
        return conn

    def _hit(self, key: str, window: int, n: int = 1) -> int:
        conn = self._conn()
        row = conn.execute(
            "INSERT INTO hits (key, win, n) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
            "n = CASE WHEN win = excluded.win THEN n + excluded.n ELSE excluded.n END, "
            "win = excluded.win RETURNING n",
            (key, window, n),
        ).fetchone()
        if window != self._last_purge:
            self._last_purge = window
            conn.execute("DELETE FROM hits WHERE win < ?", (window - 1,))
        return int(row[0])

    async def hit(self, key: str, window: int, n: int = 1) -> int:
        # A few tens of microseconds: run inline rather than pay for a thread hop.
        return self._hit(key, window, n)


class RedisCounter:
    def __init__(self, url: str) -> None:
        try:
            from redis.asyncio import Redis  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:  # pragma: no cover - depends on the deployment
            raise RuntimeError("APKD_REDIS_URL diisi, tetapi paket 'redis' belum terpasang") from exc
        self._redis = Redis.from_url(url)

    async def hit(self, key: str, window: int, n: int = 1) -> int:
        name = f"apkd:rl:{window}:{key}"
        pipe = self._redis.pipeline()
        pipe.incrby(name, n)
        pipe.expire(name, WINDOW_SECONDS * 2)
        count, _ = await pipe.execute()
        return int(count)


class Batched:
    """This worker's counts, told to the shared store in small batches while a client is far
    below the limit, and one by one as it comes near.

    A shared-store round trip per request (a SQLite UPSERT, a Redis INCR) would cost the hot
    public routes a third of their throughput. Here each worker counts locally and adds its
    pending hits to the shared store once they reach ``room // 32`` (at most 32), where room
    is how far the last shared count plus the pending ones are from the limit. With the
    default 120 per minute that is every third request at first and every request in the
    last 64 of the minute, so a client spread over W workers can pass the limit by at most
    about W x limit / 32 (3% of the limit per worker); hits still pending when a window ends are
    not counted.
    """

    MAX_BATCH = 32

    def __init__(self, store: CounterStore, limit: int) -> None:
        self.store = store
        self.limit = limit
        self._window = -1
        self._seen: dict[str, list[int]] = {}  # key -> [last shared count, pending]

    async def hit(self, key: str, window: int, n: int = 1) -> int:
        if window != self._window:
            self._window, self._seen = window, {}
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = [0, 0]
        seen[1] += n
        estimate = seen[0] + seen[1]
        batch = min(self.MAX_BATCH, (self.limit - estimate) // 32)
        if seen[1] < batch:
            return estimate
        pending, seen[1] = seen[1], 0
        try:
            seen[0] = await self.store.hit(key, window, pending)
        except BaseException:
            seen[1] += pending  # not told: tell it next time
            raise
        return seen[0]


_stores: dict[tuple[str, str, int], CounterStore] = {}


def counter_for(settings: Settings) -> CounterStore:
    """The shared counter for these settings, batched per process (see `Batched`)."""
    ident = (settings.redis_url, str(settings.var_dir), settings.public_rate_limit)
    store = _stores.get(ident)
    if store is None:
        shared: CounterStore = (
            RedisCounter(settings.redis_url)
            if settings.redis_url
            else SQLiteCounter(Path(settings.var_dir) / "ratelimit.sqlite3")
        )
        store = _stores[ident] = Batched(shared, settings.public_rate_limit)
    return store


def client_key(request: Request[Any, Any, Any]) -> str:
    client = request.client
    return client.host if client is not None and client.host else "unknown"


async def public_rate_limit(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """before_request hook: None to serve the request, or the 429 problem response."""
    settings: Settings = request.app.state.settings
    limit = settings.public_rate_limit
    if limit <= 0:
        return None
    store: CounterStore = getattr(request.app.state, "rate_limit_store", None) or counter_for(settings)
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    try:
        async with asyncio.timeout(1.0):  # no task per request, unlike wait_for
            count = await store.hit(client_key(request), window)
    except Exception as exc:  # fail open: see the module docstring
        log.warning("rate limit store unavailable: %s: %s", type(exc).__name__, exc)
        return None
    if count <= limit:
        return None
    retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
    return problem(
        429,
        "rate_limited",
        f"Terlalu banyak permintaan dari alamat Anda (batas {limit} per menit). "
        f"Coba lagi dalam {retry_after} detik.",
        headers={"Retry-After": str(retry_after)},
        instance=request.url.path,
    )
