"""One error hierarchy for every domain, and what the database's errors mean.

Services raise :class:`AppError` subclasses with a machine-readable ``code`` and an
Indonesian ``detail`` that tells the user what to do; :mod:`apkd.httperrors` turns them (and
Litestar's own HTTP errors) into RFC 9457 ``application/problem+json``. This module imports
no web framework, so the CLI and the services load without Litestar.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from sqlalchemy import exc as sa_exc

PROBLEM_JSON = "application/problem+json"

class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra or {}
        self.headers = headers or {}


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Unprocessable(AppError):
    status = 422
    code = "unprocessable"


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"


PROBLEM_TYPE_PATH = "/problems/"
RETRY_AFTER_OUTAGE = "5"  # seconds: a database restart or fail-over is usually over by then


def problem_type(code: str, base_url: str = "") -> str:
    """The URI of a problem ``code``: a page in Indonesian that says what it means and what to
    do (``GET /problems/{code}``). Absolute under the public base URL when it is known."""
    return f"{base_url.rstrip('/')}{PROBLEM_TYPE_PATH}{code}"


# --- the database -----------------------------------------------------------------------------
# An outage (refused or dropped connection, a pool that cannot hand out a connection, an
# unreadable SQLite file, "database is locked") is 503 with Retry-After: the client may try
# again and nothing acknowledged is lost. A value the database refuses (out of range, NUL, too
# long) should have been stopped by apkd.bounds; if one slips through it is a 422, not a 500.

_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,  # SQLite: unable to open, locked, disk I/O; psycopg-style drivers
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # the pool could not hand out a connection in time
    sa_exc.DisconnectionError,
    ConnectionError,  # refused, reset, aborted
    TimeoutError,
    socket.gaierror,  # the database host's name does not resolve
)
_OUTAGE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
}
# SQLSTATE classes of a server that cannot serve now: 08 connection exception, 53 insufficient
# resources (too many connections, disk full), 57 operator intervention (shutdown, restart),
# 3D missing database and 28 refused login (a deployment half done).
_OUTAGE_SQLSTATES = ("08", "53", "57", "3D", "28")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 32:
        cur = todo.pop()
        if cur in seen:
            continue
        seen.append(cur)
        if isinstance(cur, BaseExceptionGroup):
            todo.extend(cur.exceptions[:8])
        nxt = cur.__cause__ or cur.__context__
        if nxt is not None:
            todo.append(nxt)
    return seen


def is_database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database cannot be reached right now."""
    for e in _chain(exc):
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, _OUTAGE_TYPES):
            return True
        if isinstance(e, OSError) and (e.errno in _OUTAGE_ERRNOS or "Multiple exceptions" in str(e)):
            return True  # asyncpg tries every address of the host and reports them together
        state = getattr(e, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_OUTAGE_SQLSTATES):
            return True
    return False


def is_refused_value(exc: BaseException) -> bool:
    return any(isinstance(e, sa_exc.DataError) for e in _chain(exc))


__all__ = [
    "PROBLEM_JSON",
    "RETRY_AFTER_OUTAGE",
    "AppError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "NotFound",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "Unprocessable",
    "is_database_outage",
    "is_refused_value",
    "problem_type",
]
