"""Who may call a route. Every route handler either declares guards from here or is marked
``opt={"public": True}``; a test walks the whole app to keep it that way.

A guard checks the token's signature and expiry (remembered per token string), then that its
login still stands (apkd.accounts.sessions.ensure_current: user active, token version current,
not logged out; looked up at most every few seconds per login and worker)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from apkd.accounts.models import Role
from apkd.accounts.security import Principal, TokenError, decode_token_with_expiry
from apkd.accounts.sessions import ensure_current

_STATE_KEY = "apkd_principal"


# Verifying a JWT costs more than a save's own work. A token (the exact string) that verified
# once gives the same principal until it expires, so each worker remembers verified tokens,
# keyed with the secret they were checked against.
_VERIFIED: dict[tuple[str, str], tuple[Principal, float]] = {}
_MAX_VERIFIED = 50_000


def principal_from(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    state = connection.scope.setdefault("state", {})
    cached = state.get(_STATE_KEY)
    if cached is not None:
        return cached
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException("Perlu token akses (Authorization: Bearer ...)")
    settings = connection.app.state.settings
    key = (settings.secret_key, token)
    hit = _VERIFIED.get(key)
    if hit is not None and hit[1] > time.time():
        principal = hit[0]
    else:
        try:
            principal, exp = decode_token_with_expiry(settings, token)
        except TokenError as exc:
            raise NotAuthorizedException("Token akses tidak sah atau kedaluwarsa") from exc
        if len(_VERIFIED) >= _MAX_VERIFIED:
            _VERIFIED.clear()
        _VERIFIED[key] = (principal, exp)
    state[_STATE_KEY] = principal
    return principal


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def requires(*roles: str) -> Guard:
    """A guard admitting a logged-in principal with one of ``roles`` (none = any role)."""
    allowed = frozenset(roles)

    # async: Litestar runs a sync guard in a worker thread, which costs more than the check.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = principal_from(connection)
        await ensure_current(connection.app.state.engine, connection.app.state.settings, principal)
        if allowed and principal.role not in allowed:
            raise PermissionDeniedException("Peran Anda tidak berhak mengakses sumber ini")

    guard.__name__ = f"requires_{'_'.join(sorted(allowed)) or 'login'}"
    guard.apkd_roles = allowed  # type: ignore[attr-defined]
    return guard


admin_only = requires(Role.ADMIN)
staff = requires(Role.ADMIN, Role.PROCTOR)
any_login = requires()


async def provide_principal(request: Any) -> Principal:
    """Dependency: the caller, as already checked by the route's guard."""
    return principal_from(request)
