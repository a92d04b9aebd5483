from __future__ import annotations

from litestar import Controller, Request, post
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts import service
from apkd.accounts.guards import admin_only, any_login, principal_from
from apkd.accounts.models import User
from apkd.accounts.schemas import LoginRequest, TokenResponse, UserCreate, UserPublic
from apkd.accounts.security import Principal, issue_token
from apkd.config import Settings
from apkd.errors import Unauthorized


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
    )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/login", opt={"public": True}, status_code=200)
    async def login(self, data: LoginRequest, db: AsyncSession, settings: Settings) -> TokenResponse:
        """Exchange a username and password for an access token."""
        user = await service.authenticate(db, data.username, data.password)
        assert user.id is not None
        token, ttl = issue_token(settings, user_id=user.id, username=user.username, role=user.role)
        return TokenResponse(access_token=token, expires_in=ttl, role=user.role)

    @post("/refresh", guards=[any_login], status_code=200)
    async def refresh(self, request: Request, settings: Settings) -> TokenResponse:
        """A fresh token for the same login (same ``sid``), within the login's maximum age."""
        p: Principal = principal_from(request)
        from apkd.db import utcnow

        if utcnow().timestamp() - p.auth_time > settings.login_max_hours * 3600:
            raise Unauthorized("Sesi login sudah terlalu lama. Silakan masuk lagi.", code="login_too_old")
        token, ttl = issue_token(
            settings, user_id=p.user_id, username=p.username, role=p.role, sid=p.sid, auth_time=p.auth_time
        )
        return TokenResponse(access_token=token, expires_in=ttl, role=p.role)


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["accounts"]

    @post("/", guards=[admin_only], status_code=201)
    async def create_user(self, data: UserCreate, db: AsyncSession, principal: Principal) -> UserPublic:
        """Create a user (admin)."""
        user = await service.create_user(db, data, actor=principal.username)
        return user_public(user)
