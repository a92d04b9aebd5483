"""The signing-key table: one row per Ed25519 key, of either purpose (see KeyPurpose)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from apkd.dbtypes import UTCDateTime, utcnow


class KeyPurpose(StrEnum):
    """What a key signs: credentials and status lists, or the transparency log's checkpoints."""

    CREDENTIAL = "credential"
    LOG = "log"


class KeyStatus(StrEnum):
    """``active`` signs from now on (one per purpose); ``retired`` stays published so what it
    signed still verifies; ``compromised`` fails everything it signed, giving the reason."""

    ACTIVE = "active"
    RETIRED = "retired"
    COMPROMISED = "compromised"


class SigningKey(SQLModel, table=True):
    __tablename__ = "signing_key"

    id: int | None = Field(default=None, primary_key=True)
    kid: str = Field(max_length=64, unique=True)
    purpose: str = Field(max_length=16, index=True)  # KeyPurpose
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    private_key_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default=KeyStatus.ACTIVE, max_length=16)  # KeyStatus
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    compromised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    compromise_reason: str | None = None
