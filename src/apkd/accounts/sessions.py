"""Logins that can be ended: login records, one-use refresh tokens, and the check guards make.

A login (its ``sid``) has a row in ``auth_login`` holding the SHA-256 of its current refresh
token. ``POST /api/v1/auth/refresh`` with ``{refresh_token}`` spends that token and hands out
the next one (one use each, rotated; a conditional UPDATE makes two concurrent uses of the same
token give one success). Presenting a spent token means it was copied: the login is ended
(RFC 9700, section 4.14.2), so a thief and the victim both have to log in again.

Access tokens stay stateless JWTs, but guards also ask, once per ``APKD_AUTH_RECHECK_SECONDS``
per login and worker, whether the user is still active, whether the token's ``ver`` is still
the user's ``token_version`` and whether the login has ended (logout). Deactivation, a password
change and a reset bump the version: every token of the user fails within those seconds on
every worker (at once on the worker that made the change). The look-up is one indexed read,
run inline on a read-only stdlib connection for SQLite and as one prepared statement on the
direct asyncpg pool for PostgreSQL, and shared by the concurrent requests of one login, so the
answer-save hot path pays a dictionary look-up almost always.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import sqlite3
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import LoginRecord, User
from apkd.accounts.security import Principal, issue_token
from apkd.config import Settings
from apkd.db import direct_pool, utcnow
from apkd.errors import ServiceUnavailable, Unauthorized

__all__ = [
    "TokenPair",
    "continue_login",
    "end_login",
    "end_user_tokens",
    "ensure_current",
    "forget_user",
    "rotate_refresh_token",
    "start_login",
]

log = logging.getLogger("apkd.accounts")
MAX_REFRESH_TOKEN = 200


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str | None
    refresh_expires_in: int | None
    role: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_refresh(sid: str) -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    return f"{sid}.{secret}", _digest(secret)


def _refresh_left(settings: Settings, created_at: datetime, now: datetime) -> int:
    return int((created_at + timedelta(hours=settings.login_max_hours) - now).total_seconds())


def _pair(
    settings: Settings,
    user: User,
    *,
    sid: str,
    auth_time: int,
    now: datetime,
    refresh: str | None = None,
    refresh_left: int | None = None,
) -> TokenPair:
    """An access token of login ``sid`` for ``user`` at its current token version."""
    assert user.id is not None
    token, ttl = issue_token(
        settings,
        user_id=user.id,
        username=user.username,
        role=user.role,
        sid=sid,
        auth_time=auth_time,
        version=user.token_version,
        now=now,
    )
    return TokenPair(token, ttl, refresh, refresh_left, user.role)


async def start_login(session: AsyncSession, settings: Settings, user: User) -> TokenPair:
    """A new login for ``user``: its record, an access token and its first refresh token."""
    assert user.id is not None
    now = utcnow()
    # Records older than the longest login are of no use any more: the table stays small.
    await session.execute(
        delete(LoginRecord).where(
            col(LoginRecord.created_at) < now - timedelta(hours=settings.login_max_hours + 1)
        )
    )
    sid = secrets.token_urlsafe(16)
    refresh, digest = _new_refresh(sid)
    session.add(LoginRecord(sid=sid, user_id=user.id, created_at=now, refresh_hash=digest))
    await session.flush()
    left = _refresh_left(settings, now, now)
    return _pair(
        settings, user, sid=sid, auth_time=int(now.timestamp()), now=now, refresh=refresh, refresh_left=left
    )


async def continue_login(
    session: AsyncSession, settings: Settings, user: User, principal: Principal
) -> TokenPair:
    """New tokens for the caller's own login after its user's version went up (a password
    change): same ``sid`` and ``auth_time``, the current version, a new refresh token."""
    now = utcnow()
    record = await session.get(LoginRecord, principal.sid)
    refresh: str | None = None
    refresh_left: int | None = None
    if record is not None and record.ended_at is None:
        refresh, record.refresh_hash = _new_refresh(principal.sid)
        record.refreshed_at = now
        session.add(record)
        refresh_left = _refresh_left(settings, record.created_at, now)
    await session.flush()
    return _pair(
        settings,
        user,
        sid=principal.sid,
        auth_time=principal.auth_time,
        now=now,
        refresh=refresh,
        refresh_left=refresh_left,
    )


def _refused(detail: str, code: str) -> Unauthorized:
    return Unauthorized(detail, code=code)


async def rotate_refresh_token(
    session: AsyncSession, factory: async_sessionmaker[AsyncSession], settings: Settings, refresh_token: str
) -> TokenPair:
    """Spend ``refresh_token``; a new access token and the next refresh token of the same login."""
    sid, _, secret = refresh_token.partition(".")
    if not sid or not secret or len(refresh_token) > MAX_REFRESH_TOKEN:
        raise _refused("Token penyegar tidak sah. Silakan masuk lagi.", "invalid_refresh_token")
    now = utcnow()
    record = await session.get(LoginRecord, sid)
    if record is None or record.ended_at is not None:
        raise _refused("Sesi login sudah berakhir. Silakan masuk lagi.", "login_ended")
    if _refresh_left(settings, record.created_at, now) <= 0:
        raise _refused("Sesi login sudah terlalu lama. Silakan masuk lagi.", "login_too_old")
    if not hmac.compare_digest(record.refresh_hash, _digest(secret)):
        # A spent token came back: someone holds a copy. End the login, and commit that now
        # (the 401 rolls the request back); the request's transaction is let go first, since
        # on SQLite it holds the write lock the ending needs.
        await session.rollback()
        await _end_committed(factory, sid, "refresh_reused")
        raise _refused(
            "Token penyegar ini sudah pernah dipakai; demi keamanan sesi login diakhiri. Silakan masuk lagi.",
            "refresh_token_reused",
        )
    user = await session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise _refused("Akun tidak aktif. Hubungi admin.", "account_inactive")
    refresh, digest = _new_refresh(sid)
    result = await session.execute(
        update(LoginRecord)
        .where(
            col(LoginRecord.sid) == sid,
            col(LoginRecord.refresh_hash) == record.refresh_hash,
            col(LoginRecord.ended_at).is_(None),
        )
        .values(refresh_hash=digest, refreshed_at=now)
        .execution_options(synchronize_session=False)
    )
    if not isinstance(result, CursorResult) or result.rowcount != 1:  # a concurrent use won
        raise _refused("Token penyegar ini sudah dipakai. Silakan masuk lagi.", "refresh_token_reused")
    left = _refresh_left(settings, record.created_at, now)
    auth_time = int(record.created_at.timestamp())
    return _pair(settings, user, sid=sid, auth_time=auth_time, now=now, refresh=refresh, refresh_left=left)


async def refresh_access_token(session: AsyncSession, settings: Settings, principal: Principal) -> TokenPair:
    """A new access token for the login of a still-valid access token (the older way, kept for
    clients that do not hold a refresh token): same ``sid`` and ``auth_time``, within the
    login's maximum age, for a user still active (the guard has checked version and logout)."""
    if utcnow().timestamp() - principal.auth_time > settings.login_max_hours * 3600:
        raise _refused("Sesi login sudah terlalu lama. Silakan masuk lagi.", "login_too_old")
    user = await session.get(User, principal.user_id)
    if user is None or not user.is_active or user.token_version != principal.version:
        raise _refused("Sesi login sudah berakhir. Silakan masuk lagi.", "login_ended")
    return _pair(settings, user, sid=principal.sid, auth_time=principal.auth_time, now=utcnow())


async def _end_committed(factory: async_sessionmaker[AsyncSession], sid: str, reason: str) -> None:
    async with factory() as own:
        await end_login(own, sid, reason)
        await own.commit()


async def end_login(session: AsyncSession, sid: str, reason: str) -> None:
    """End one login: its refresh token is spent and its access tokens fail (logout)."""
    await session.execute(
        update(LoginRecord)
        .where(col(LoginRecord.sid) == sid, col(LoginRecord.ended_at).is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    _drop(lambda key: key[1] == sid)


async def end_user_tokens(
    session: AsyncSession, user: User, reason: str, *, keep_sid: str | None = None
) -> None:
    """End every token of ``user`` (but the login ``keep_sid``'s record, when given): the version
    goes up, so access tokens fail; the logins end, so refresh tokens fail."""
    user.token_version += 1
    session.add(user)
    conditions = [col(LoginRecord.user_id) == user.id, col(LoginRecord.ended_at).is_(None)]
    if keep_sid is not None:
        conditions.append(col(LoginRecord.sid) != keep_sid)
    await session.execute(
        update(LoginRecord)
        .where(*conditions)
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    if user.id is not None:
        forget_user(user.id)


# --- the check guards make -------------------------------------------------------------------

_SQL = (
    "SELECT u.token_version, u.is_active, l.ended_at FROM app_user u "
    "LEFT JOIN auth_login l ON l.sid = {sid} AND l.user_id = u.id WHERE u.id = {uid}"
)
_SQL_SQLITE = _SQL.format(sid="?", uid="?")
_SQL_PG = _SQL.format(sid="$1::varchar", uid="$2::integer")


@dataclass(frozen=True)
class _State:
    version: int
    active: bool
    ended: bool
    until: float  # monotonic time after which it is looked up again


_states: dict[tuple[int, str], _State] = {}
_inflight: dict[tuple[int, str], asyncio.Future[_State | None]] = {}
_MAX_STATES = 50_000


def _drop(match: Any) -> None:
    for key in [k for k in _states if match(k)]:
        _states.pop(key, None)


def forget_user(user_id: int) -> None:
    """This worker looks the user's logins up again at their next request."""
    _drop(lambda key: key[0] == user_id)


class _InlineSQLite:
    """A read-only stdlib connection per thread, for the look-up inline on the event loop."""

    def __init__(self, path: Path) -> None:
        self.uri = path.resolve().as_uri() + "?mode=ro"
        self._local = threading.local()

    def read(self, user_id: int, sid: str) -> tuple[Any, ...] | None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.uri, uri=True, timeout=1.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        row = conn.execute(_SQL_SQLITE, (sid, user_id)).fetchone()
        return tuple(row) if row is not None else None


_inline: weakref.WeakKeyDictionary[Any, _InlineSQLite | None] = weakref.WeakKeyDictionary()


def _inline_of(engine: AsyncEngine) -> _InlineSQLite | None:
    main = engine.sync_engine
    if main in _inline:
        return _inline[main]
    database = main.url.database if main.dialect.name == "sqlite" else None
    reader = None
    if database and database != ":memory:" and not database.startswith("file:"):
        reader = _InlineSQLite(Path(database))
    _inline[main] = reader
    return reader


async def _read(engine: AsyncEngine, user_id: int, sid: str) -> tuple[Any, ...] | None:
    inline = _inline_of(engine)
    if inline is not None:
        try:
            return inline.read(user_id, sid)
        except sqlite3.Error as exc:
            log.info("inline login check failed (%s); using the engine", type(exc).__name__)
    if engine.dialect.driver == "asyncpg":
        pool = await direct_pool(engine)
        row = await pool.fetchrow(_SQL_PG, sid, user_id)
        return tuple(row) if row is not None else None
    from sqlalchemy import text

    async with engine.connect() as conn:
        found = (
            await conn.execute(text(_SQL.format(sid=":sid", uid=":uid")), {"sid": sid, "uid": user_id})
        ).first()
        return tuple(found) if found is not None else None


async def _look_up(engine: AsyncEngine, key: tuple[int, str], ttl: float) -> _State | None:
    row = await _read(engine, *key)
    if row is None:
        return None
    state = _State(
        version=int(row[0]), active=bool(row[1]), ended=row[2] is not None, until=time.monotonic() + ttl
    )
    if len(_states) >= _MAX_STATES:
        _states.clear()
    _states[key] = state
    return state


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "Basis data tidak dapat dihubungi untuk memeriksa login. Coba lagi sebentar lagi.",
        code="database_unavailable",
        headers={"Retry-After": "5"},
    )


async def ensure_current(engine: AsyncEngine, settings: Settings, principal: Principal) -> None:
    """Raise 401 unless the principal's login still stands: user active, token version current,
    login not ended. Looked up at most once per APKD_AUTH_RECHECK_SECONDS per login and worker."""
    key = (principal.user_id, principal.sid)
    state = _states.get(key)
    if state is None or state.until <= time.monotonic():
        future = _inflight.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            _inflight[key] = future
            try:
                async with asyncio.timeout(5):
                    state = await _look_up(engine, key, float(settings.auth_recheck_seconds))
                future.set_result(state)
            except Exception as exc:
                future.set_exception(exc)
                future.exception()  # retrieved: the waiters re-raise it
                log.warning("login check failed: %s: %s", type(exc).__name__, exc)
                raise _unavailable() from exc
            finally:
                _inflight.pop(key, None)
        else:
            try:
                state = await asyncio.shield(future)
            except Exception as exc:
                raise _unavailable() from exc
    if state is None or not state.active or state.ended or state.version != principal.version:
        raise Unauthorized(
            "Sesi login sudah berakhir (keluar, kata sandi diganti, atau akun dinonaktifkan). Silakan masuk lagi.",
            code="login_ended",
        )
