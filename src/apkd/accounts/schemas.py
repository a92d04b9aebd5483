from __future__ import annotations

from msgspec import Struct


class LoginRequest(Struct):
    username: str
    password: str


class TokenResponse(Struct):
    access_token: str
    expires_in: int
    role: str
    token_type: str = "Bearer"


class UserCreate(Struct):
    username: str
    password: str
    role: str
    full_name: str
    nip: str | None = None
    instansi: str | None = None
    jabatan: str | None = None
    region_code: str | None = None


class UserPublic(Struct):
    id: int
    username: str
    role: str
    full_name: str
    nip: str | None
    instansi: str | None
    jabatan: str | None
    region_code: str | None
