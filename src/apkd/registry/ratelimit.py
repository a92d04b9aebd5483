"""Rate limiting of every public route per client address, shared by every worker process.

A fixed one-minute window per client address (apkd.clientaddr) and class of route:
``APKD_PUBLIC_RATE_LIMIT`` requests per window on the public API (registry, verification, log
entries and look-ups), ``APKD_PUBLIC_DOCUMENT_RATE_LIMIT`` on cacheable documents (JWKS, status
lists, checkpoint, log key, proofs, schemes, pages, static files, the OpenAPI document) and
``APKD_LOGIN_RATE_LIMIT`` on login and refresh. ``APKD_PUBLIC_RATE_LIMIT=0`` turns them all
off (a benchmark behind one load generator); 0 in another turns that class off. Listing log
entries costs one per entry asked for. Over the limit: ``429`` problem+json with
``Retry-After`` (seconds to the next window).

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

``create_app`` installs it as the whole app's ``before_request`` hook; it limits public routes
only.

Confirming a holder's NIP (``POST /api/v1/registry/verify`` with ``nip``) is limited more
tightly and separately (:func:`nip_rate_limit`): NIP_CHECKS_PER_MINUTE per client address
and NIP_CHECKS_PER_CREDENTIAL per credential over all clients, whatever
``APKD_PUBLIC_RATE_LIMIT`` says; an enumeration of the NIPs that fit a public masked NIP
(about 210,000) against one credential then takes about a month (decision 005).
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

from apkd.clientaddr import client_address, limit_key
from apkd.config import Settings
from apkd.httperrors import problem

__all__ = [
    "Batched",
    "CounterStore",
    "MemoryCounter",
    "RedisCounter",
    "SQLiteCounter",
    "counter_for",
    "nip_rate_limit",
    "public_rate_limit",
]

log = logging.getLogger("apkd.ratelimit")
WINDOW_SECONDS = 60
NIP_CHECKS_PER_MINUTE = 10
NIP_CHECKS_PER_CREDENTIAL = 5


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


def counter_for(settings: Settings, limit: int | None = None) -> CounterStore:
    """The shared counter for these settings and this limit, batched per process (`Batched`)."""
    limit = settings.public_rate_limit if limit is None else limit
    ident = (settings.redis_url, str(settings.var_dir), limit)
    store = _stores.get(ident)
    if store is None:
        shared: CounterStore = (
            RedisCounter(settings.redis_url)
            if settings.redis_url
            else SQLiteCounter(Path(settings.var_dir) / "ratelimit.sqlite3")
        )
        store = _stores[ident] = Batched(shared, limit)
    return store


def client_key(request: Request[Any, Any, Any]) -> str:
    """The client's address as limits count it (apkd.clientaddr: X-Forwarded-For only from
    APKD_TRUSTED_PROXIES; IPv6 per /64)."""
    settings: Settings = request.app.state.settings
    return limit_key(client_address(request.scope, settings.trusted_proxies))


# Cacheable public documents, fetched again and again by verifiers, browsers and witnesses:
# the higher limit (APKD_PUBLIC_DOCUMENT_RATE_LIMIT).
DOCUMENT_PREFIXES = (
    "/.well-known/",
    "/api/v1/status-lists/",
    "/api/v1/log/checkpoint",
    "/api/v1/log/key",
    "/api/v1/log/proof/",
    "/api/v1/schemes",
    "/static/",
    "/ujian",
    "/pengawas",
    "/healthz",
    "/schema",
    "/issuer",
)
# The login routes: their own limit (APKD_LOGIN_RATE_LIMIT), high enough for a test site whose
# candidates share one address; failed attempts are throttled besides (apkd.accounts.throttle).
LOGIN_PATHS = ("/api/v1/auth/login", "/api/v1/auth/refresh")
LOG_ENTRIES_PATH = "/api/v1/log/entries"
LOG_PAGE = 1000  # apkd.translog.service.MAX_PAGE
_UNLIMITED_ROLES = frozenset({"admin", "auditor"})


def limit_class(settings: Settings, method: str, path: str) -> tuple[str, int]:
    """(class name, requests per minute) of a public request."""
    if path in LOGIN_PATHS:
        return "login", settings.login_rate_limit
    if method in ("GET", "HEAD") and path.startswith(DOCUMENT_PREFIXES):
        return "doc", settings.public_document_rate_limit
    return "api", settings.public_rate_limit


def _int_or_none(raw: str | None) -> int | None:
    if raw is None or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


async def _entries_cost(request: Request[Any, Any, Any]) -> int:
    """What listing log entries costs: one per entry asked for, as a registry look-up costs one
    (each leaf names a credential number), so the whole log cannot be harvested faster than the
    limit allows. Admins and auditors (a valid token) pay one per request."""
    if request.headers.get("authorization"):
        from apkd.accounts.guards import principal_from
        from apkd.accounts.sessions import ensure_current

        try:
            principal = principal_from(request)
            await ensure_current(request.app.state.engine, request.app.state.settings, principal)
        except Exception:  # not a valid login: counted as anonymous
            principal = None
        if principal is not None and principal.role in _UNLIMITED_ROLES:
            return 1
    start = _int_or_none(request.query_params.get("start"))
    end = _int_or_none(request.query_params.get("end"))
    if start is None:
        return 1  # refused by the handler anyway
    if end is None or end - start > LOG_PAGE:
        return LOG_PAGE
    return max(1, end - start)


def _is_limited(request: Request[Any, Any, Any]) -> bool:
    handler = request.scope.get("route_handler")
    if handler is not None and handler.opt.get("public") is True:
        return True
    return str(request.scope.get("path", "")).startswith("/schema")


async def public_rate_limit(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """before_request hook of the whole app: None to serve the request, or the 429 problem
    response. Applies to public routes only (``opt={"public": True}``, and the OpenAPI
    document); routes behind a login are not limited per address."""
    settings: Settings = request.app.state.settings
    if settings.public_rate_limit <= 0 or not _is_limited(request):
        return None
    path = str(request.scope.get("path", ""))
    name, limit = limit_class(settings, request.method, path)
    if limit <= 0:
        return None
    cost = await _entries_cost(request) if path == LOG_ENTRIES_PATH else 1
    state = request.app.state
    store: CounterStore = getattr(state, "rate_limit_store", None) or counter_for(settings, limit)
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
    if cost > limit:
        return problem(
            429,
            "rate_limited",
            f"Tanpa login auditor, daftar entri log dibatasi {limit} entri per menit: "
            f"mintalah rentang start/end yang lebih kecil (paling banyak {limit} entri).",
            headers={"Retry-After": str(retry_after)},
            instance=request.url.path,
        )
    try:
        async with asyncio.timeout(1.0):  # no task per request, unlike wait_for
            count = await store.hit(f"{name}:{client_key(request)}", window, cost)
    except Exception as exc:  # fail open: see the module docstring
        log.warning("rate limit store unavailable: %s: %s", type(exc).__name__, exc)
        return None
    if count <= limit:
        return None
    return problem(
        429,
        "rate_limited",
        f"Terlalu banyak permintaan dari alamat Anda (batas {limit} per menit). "
        f"Coba lagi dalam {retry_after} detik.",
        headers={"Retry-After": str(retry_after)},
        instance=request.url.path,
    )


async def nip_rate_limit(
    request: Request[Any, Any, Any], credential: str | None = None
) -> Response[Any] | None:
    """The tighter limit on NIP confirmations: per client address, and per credential (the
    number presented) over all clients. None to go on, or the 429 response."""
    settings: Settings = request.app.state.settings
    store: CounterStore = getattr(request.app.state, "nip_rate_limit_store", None) or counter_for(
        settings, NIP_CHECKS_PER_MINUTE
    )
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    checks = [(f"nip:client:{client_key(request)}", NIP_CHECKS_PER_MINUTE, "dari alamat Anda")]
    if credential:
        checks.append((f"nip:credential:{credential}", NIP_CHECKS_PER_CREDENTIAL, "untuk sertifikat ini"))
    for key, limit, whom in checks:
        try:
            async with asyncio.timeout(1.0):
                count = await store.hit(key, window)
        except Exception as exc:  # fail open, as public_rate_limit does
            log.warning("rate limit store unavailable: %s: %s", type(exc).__name__, exc)
            return None
        if count > limit:
            retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
            return problem(
                429,
                "rate_limited",
                f"Terlalu banyak pencocokan NIP {whom} (batas {limit} per menit). "
                f"Coba lagi dalam {retry_after} detik.",
                headers={"Retry-After": str(retry_after)},
                instance=request.url.path,
            )
    return None
