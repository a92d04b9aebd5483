from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from apkd.dbtypes import UTCDateTime, utcnow


class Role(StrEnum):
    """What a login may do (stored and sent as its value)."""

    ADMIN = "admin"
    PROCTOR = "proctor"
    CANDIDATE = "candidate"
    AUDITOR = "auditor"


ROLES: tuple[Role, ...] = tuple(Role)


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16, index=True)
    full_name: str = Field(max_length=200)
    nip: str | None = Field(default=None, max_length=18, unique=True)
    instansi: str | None = Field(default=None, max_length=200)
    jabatan: str | None = Field(default=None, max_length=200)
    region_code: str | None = Field(default=None, max_length=4)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per username in the current window, shared by every worker."""

    __tablename__ = "login_throttle"

    username: str = Field(primary_key=True, max_length=64)
    window_start: datetime = Field(sa_type=UTCDateTime)
    failures: int = Field(default=0)
