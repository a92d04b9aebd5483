from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from apkd.dbtypes import UTCDateTime, utcnow


class Role(StrEnum):
    """What a login may do (stored and sent as its value)."""

    ADMIN = "admin"
    PROCTOR = "proctor"
    CANDIDATE = "candidate"
    AUDITOR = "auditor"
    # Reads the coverage view and exports of one regional government (its region_code).
    VIEWER = "viewer"


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
    # The certification-decision permission (ISO/IEC 17024: the decision to certify is taken by
    # someone who did not examine): admins hold it always, other staff when granted.
    can_decide: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Carried by every access token; bumped to end all of the user's tokens (deactivation,
    # password change or reset).
    token_version: int = Field(default=0)
    # Where the user last logged in: the right password from there skips the per-user slowdown.
    last_login_addr: str | None = Field(default=None, max_length=64)


class LoginThrottle(SQLModel, table=True):
    """Login attempts per key (``u:<username>``, ``x:<bucket>`` for unknown usernames,
    ``a:<client address>``), shared by every worker; see apkd.accounts.throttle.
    Times are milliseconds since the epoch, so the counting UPSERT is the same SQL on
    SQLite and PostgreSQL."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = Field(default=0)
    last_ms: int = Field(sa_type=BigInteger, index=True)
    next_ms: int = Field(sa_type=BigInteger)
    grant_id: str = Field(max_length=32)


class LoginRecord(SQLModel, table=True):
    """One login (``sid``): its current refresh token (hashed) and whether it has ended."""

    __tablename__ = "auth_login"

    sid: str = Field(primary_key=True, max_length=43)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    refresh_hash: str = Field(max_length=64)
    refreshed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, max_length=32)
