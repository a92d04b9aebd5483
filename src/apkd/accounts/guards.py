"""Who may call a route. Every route handler either declares guards from here or is marked
``opt={"public": True}``; a test walks the whole app to keep it that way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from apkd.accounts.security import Principal, TokenError, decode_token

_STATE_KEY = "apkd_principal"


def principal_from(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    cached = connection.scope.get("state", {}).get(_STATE_KEY)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("Perlu token akses (Authorization: Bearer ...)")
    try:
        principal = decode_token(connection.app.state.settings, token.strip())
    except TokenError as exc:
        raise NotAuthorizedException("Token akses tidak sah atau kedaluwarsa") from exc
    connection.scope.setdefault("state", {})[_STATE_KEY] = principal
    return principal


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


def requires(*roles: str) -> Guard:
    """A guard admitting a logged-in principal with one of ``roles`` (none = any role)."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = principal_from(connection)
        if allowed and principal.role not in allowed:
            raise PermissionDeniedException("Peran Anda tidak berhak mengakses sumber ini")

    guard.__name__ = f"requires_{'_'.join(sorted(allowed)) or 'login'}"
    guard.apkd_roles = allowed  # type: ignore[attr-defined]
    return guard


admin_only = requires("admin")
staff = requires("admin", "proctor")
any_login = requires()


async def provide_principal(request: Any) -> Principal:
    """Dependency: the caller, as already checked by the route's guard."""
    return principal_from(request)
