from __future__ import annotations

from msgspec import Struct

from apkd.bounds import FullName, NipInput, OrgName, Password, RegionCode, Role, Username


class LoginRequest(Struct):
    username: Username
    password: Password


class TokenResponse(Struct):
    access_token: str
    expires_in: int
    role: str
    token_type: str = "Bearer"
    # One use: POST /api/v1/auth/refresh {refresh_token} spends it and returns the next one.
    refresh_token: str | None = None
    refresh_expires_in: int | None = None


class RefreshRequest(Struct):
    refresh_token: str | None = None


class PasswordChange(Struct):
    old_password: str
    new_password: str


class PasswordReset(Struct):
    new_password: str


class UserCreate(Struct):
    username: Username
    password: Password
    role: Role
    full_name: FullName
    nip: NipInput | None = None
    instansi: OrgName | None = None
    jabatan: OrgName | None = None
    region_code: RegionCode | None = None
    # The certification-decision permission for a proctor (admins always hold it).
    can_decide: bool = False


class UserPublic(Struct):
    id: int
    username: str
    role: str
    full_name: str
    nip: str | None
    instansi: str | None
    jabatan: str | None
    region_code: str | None
    is_active: bool = True
    can_decide: bool = False
