"""Failed-login throttling, shared by every worker: a slowdown nobody can aim at someone.

Each attempt is counted *before* its password is checked, on two keys: the client address
(``a:<address>``, against password spraying across usernames) and the username (``u:<name>``;
unknown usernames share 1,024 buckets ``x:<n>``, so they cannot grow the table without limit).
A key allows ``free`` attempts (5 per username, 100 per address by default: a test site behind
one NAT address makes typos too); from then on each further attempt must wait a delay that grows
by a tenth of ``APKD_LOGIN_MAX_DELAY_SECONDS`` per attempt up to that maximum. A key forgets
after ``APKD_LOGIN_FAILURE_WINDOW_SECONDS`` without attempts. A successful login clears the
username's key and gives its attempt back to the address.

So 20 parallel guesses at one user get at most ``free`` password checks, every further guess
waits its turn, and nobody can lock a user out: the right password from the address the user
last logged in from is checked whatever the username's count (it still counts against the
address), and from anywhere else it gets in after at most the maximum delay.

Counting is one atomic statement per key, ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``,
the same SQL on PostgreSQL (the conflicting row is locked, so no update is lost and the first
failure cannot race into a duplicate row) and on SQLite (whose BEGIN IMMEDIATE already
serializes writers). Whether this attempt was granted is read back from ``grant_id``, a random
value only a granted attempt writes.

The counting runs in a short transaction of its own, committed at once, for two reasons: the
attempt must be counted even though a wrong password answers 401 (the request's unit of work
rolls back on error), and it must be visible to the other workers before this one spends time on
argon2. No transaction is open while the password is checked.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import User
from apkd.clientaddr import limit_key
from apkd.config import Settings

__all__ = ["Reservation", "UserSnapshot", "clear_after_success", "reserve"]

UNKNOWN_BUCKETS = 1024
PURGE_EVERY_MS = 60_000

_GRANTED = (
    "(login_throttle.last_ms <= CAST(:stale AS BIGINT) OR CAST(:force AS INTEGER) = 1"
    " OR login_throttle.failures < CAST(:free AS INTEGER)"
    " OR login_throttle.next_ms <= CAST(:now AS BIGINT))"
)
_FIRST_NEXT = (
    "CASE WHEN 1 >= CAST(:free AS INTEGER) THEN CAST(:now AS BIGINT) + CAST(:step AS BIGINT)"
    " ELSE CAST(:now AS BIGINT) END"
)
# the delay after this attempt: (failures + 1 - free + 1) steps, at most the cap
_STEPS = "(login_throttle.failures + 2 - CAST(:free AS INTEGER))"
_RESERVE = text(
    f"""
INSERT INTO login_throttle (key, failures, last_ms, next_ms, grant_id)
VALUES (CAST(:key AS VARCHAR(80)), 1, CAST(:now AS BIGINT), {_FIRST_NEXT}, CAST(:gid AS VARCHAR(32)))
ON CONFLICT (key) DO UPDATE SET
  failures = CASE WHEN login_throttle.last_ms <= CAST(:stale AS BIGINT) THEN 1
                  WHEN {_GRANTED} THEN login_throttle.failures + 1
                  ELSE login_throttle.failures END,
  next_ms = CASE WHEN login_throttle.last_ms <= CAST(:stale AS BIGINT) THEN {_FIRST_NEXT}
                 WHEN NOT {_GRANTED} THEN login_throttle.next_ms
                 WHEN login_throttle.failures + 1 < CAST(:free AS INTEGER) THEN login_throttle.next_ms
                 WHEN {_STEPS} * CAST(:step AS BIGINT) >= CAST(:cap AS BIGINT)
                   THEN CAST(:now AS BIGINT) + CAST(:cap AS BIGINT)
                 ELSE CAST(:now AS BIGINT) + {_STEPS} * CAST(:step AS BIGINT) END,
  grant_id = CASE WHEN {_GRANTED} THEN CAST(:gid AS VARCHAR(32)) ELSE login_throttle.grant_id END,
  last_ms = CASE WHEN {_GRANTED} THEN CAST(:now AS BIGINT) ELSE login_throttle.last_ms END
RETURNING failures, next_ms, grant_id
"""  # noqa: S608 - constant fragments only; every value is a bound parameter
)
_GIVE_BACK = text(
    "UPDATE login_throttle SET failures = failures - 1 WHERE key = CAST(:key AS VARCHAR(80)) AND failures > 0"
)
_CLEAR = text("DELETE FROM login_throttle WHERE key = CAST(:key AS VARCHAR(80))")
_PURGE = text("DELETE FROM login_throttle WHERE last_ms <= CAST(:stale AS BIGINT)")

_last_purge_ms = 0


@dataclass(frozen=True)
class UserSnapshot:
    """What the login needs of the user row, read in the counting transaction."""

    id: int
    username: str
    role: str
    password_hash: str
    is_active: bool
    token_version: int
    last_login_addr: str | None


@dataclass(frozen=True)
class Reservation:
    granted: bool
    retry_after: int  # seconds, when not granted
    user: UserSnapshot | None
    user_key: str
    address_key: str


def user_key(settings: Settings, username: str, known: bool) -> str:
    if known:
        return f"u:{username}"
    digest = hmac.new(settings.secret_key.encode(), b"login-bucket\0" + username.encode(), hashlib.sha256)
    return f"x:{int.from_bytes(digest.digest()[:4], 'big') % UNKNOWN_BUCKETS}"


async def _count(
    session: AsyncSession, key: str, *, free: int, now_ms: int, settings: Settings, force: bool = False
) -> tuple[bool, int]:
    """Count an attempt on ``key``; (granted, milliseconds until the next one may be checked)."""
    cap = max(0, settings.login_max_delay_seconds) * 1000
    gid = secrets.token_hex(8)
    row = (
        await session.execute(
            _RESERVE,
            {
                "key": key,
                "now": now_ms,
                "stale": now_ms - settings.login_failure_window_seconds * 1000,
                "free": free,
                "step": cap // 10,
                "cap": cap,
                "force": 1 if force else 0,
                "gid": gid,
            },
        )
    ).one()
    return row.grant_id == gid, max(0, int(row.next_ms) - now_ms)


async def reserve(
    factory: async_sessionmaker[AsyncSession], settings: Settings, *, username: str, address: str
) -> Reservation:
    """Count one login attempt before its password is checked; committed before returning."""
    global _last_purge_ms
    now_ms = int(time.time() * 1000)
    address_key = f"a:{limit_key(address)}"[:80]
    async with factory() as session:
        user = (await session.execute(select(User).where(User.username == username))).scalars().first()
        snapshot = None
        if user is not None and user.id is not None:
            snapshot = UserSnapshot(
                id=user.id,
                username=user.username,
                role=user.role,
                password_hash=user.password_hash,
                is_active=user.is_active,
                token_version=user.token_version,
                last_login_addr=user.last_login_addr,
            )
        ukey = user_key(settings, username, snapshot is not None)[:80]
        granted, wait_ms = await _count(
            session, address_key, free=settings.login_address_failures, now_ms=now_ms, settings=settings
        )
        if granted:
            known_address = snapshot is not None and snapshot.last_login_addr == address
            granted, wait_ms = await _count(
                session,
                ukey,
                free=settings.login_user_failures,
                now_ms=now_ms,
                settings=settings,
                force=known_address,
            )
            if not granted:  # not checked after all: the address's attempt is given back
                await session.execute(_GIVE_BACK, {"key": address_key})
        if now_ms - _last_purge_ms >= PURGE_EVERY_MS:
            _last_purge_ms = now_ms
            await session.execute(_PURGE, {"stale": now_ms - settings.login_failure_window_seconds * 1000})
        await session.commit()
    return Reservation(
        granted=granted,
        retry_after=max(1, math.ceil(wait_ms / 1000)),
        user=snapshot,
        user_key=ukey,
        address_key=address_key,
    )


async def clear_after_success(session: AsyncSession, reservation: Reservation) -> None:
    """A successful login: forget the username's attempts, give the address its attempt back.
    In the request's transaction (committed with the login)."""
    await session.execute(_CLEAR, {"key": reservation.user_key})
    await session.execute(_GIVE_BACK, {"key": reservation.address_key})
