from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.datastructures import State
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts import logins, service, sessions
from apkd.accounts.guards import admin_only, any_login, principal_from
from apkd.accounts.models import Role, User
from apkd.accounts.schemas import (
    LoginRequest,
    PasswordChange,
    PasswordReset,
    RefreshRequest,
    TokenResponse,
    UserCreate,
    UserPublic,
)
from apkd.accounts.security import Principal
from apkd.clientaddr import client_address
from apkd.config import Settings


def user_public(u: User) -> UserPublic:
    assert u.id is not None
    return UserPublic(
        id=u.id,
        username=u.username,
        role=u.role,
        full_name=u.full_name,
        nip=u.nip,
        instansi=u.instansi,
        jabatan=u.jabatan,
        region_code=u.region_code,
        is_active=u.is_active,
        can_decide=u.role == Role.ADMIN or u.can_decide,
    )


def token_response(pair: sessions.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token,
        expires_in=pair.expires_in,
        role=pair.role,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_expires_in,
    )


def _address(request: Request[Any, Any, Any], settings: Settings) -> str:
    return client_address(request.scope, settings.trusted_proxies)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/login", opt={"public": True}, status_code=200)
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: LoginRequest,
        db: AsyncSession,
        state: State,
        settings: Settings,
    ) -> TokenResponse:
        """Exchange a username and password for an access token and a one-use refresh token.
        Failed attempts slow down further ones (per username and per client address): 429 with
        Retry-After."""
        pair = await logins.login(
            db,
            state.session_factory,
            settings,
            username=data.username,
            password=data.password,
            address=_address(request, settings),
        )
        return token_response(pair)

    @post("/refresh", opt={"public": True}, status_code=200)
    async def refresh(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        state: State,
        settings: Settings,
        data: RefreshRequest | None = None,
    ) -> TokenResponse:
        """A fresh access token for the same login (same ``sid``), within the login's maximum age.

        With ``{refresh_token}``: that token is spent and the next one returned (a spent token
        presented again ends the login). Without a body: the Bearer access token, still valid,
        is exchanged for a new one (no refresh token)."""
        if data is not None and data.refresh_token:
            pair = await sessions.rotate_refresh_token(
                db, state.session_factory, settings, data.refresh_token
            )
        else:
            principal = principal_from(request)
            await sessions.ensure_current(state.engine, settings, principal)
            pair = await sessions.refresh_access_token(db, settings, principal)
        return token_response(pair)

    @post("/logout", guards=[any_login], status_code=204)
    async def logout(self, db: AsyncSession, principal: Principal) -> None:
        """End this login: its access token and refresh token stop working."""
        await logins.logout(db, principal)

    @post("/password", guards=[any_login], status_code=200)
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        data: PasswordChange,
        db: AsyncSession,
        state: State,
        settings: Settings,
        principal: Principal,
    ) -> TokenResponse:
        """Change one's own password (the old one is required). Every other login of the user
        ends; this login goes on with the tokens returned."""
        pair = await logins.change_password(
            db,
            state.session_factory,
            settings,
            principal,
            old_password=data.old_password,
            new_password=data.new_password,
            address=_address(request, settings),
        )
        return token_response(pair)


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["accounts"]

    @post("/", guards=[admin_only], status_code=201)
    async def create_user(self, data: UserCreate, db: AsyncSession, principal: Principal) -> UserPublic:
        """Create a user (admin)."""
        user = await service.create_user(db, data, actor=principal.username)
        return user_public(user)

    @post("/{user_id:int}/deactivate", guards=[admin_only], status_code=200)
    async def deactivate(self, user_id: int, db: AsyncSession, principal: Principal) -> UserPublic:
        """Deactivate a user (admin): every token of that user stops working within seconds."""
        return user_public(await logins.set_active(db, user_id, False, actor=principal))

    @post("/{user_id:int}/activate", guards=[admin_only], status_code=200)
    async def activate(self, user_id: int, db: AsyncSession, principal: Principal) -> UserPublic:
        """Let a deactivated user log in again (admin)."""
        return user_public(await logins.set_active(db, user_id, True, actor=principal))

    @post("/{user_id:int}/password", guards=[admin_only], status_code=200)
    async def reset_password(
        self, user_id: int, data: PasswordReset, db: AsyncSession, principal: Principal
    ) -> UserPublic:
        """Set a new password for a user (admin): every token of that user stops working."""
        return user_public(await logins.reset_password(db, user_id, data.new_password, actor=principal))
