from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from apkd.dbtypes import UTCDateTime, utcnow


class CredentialStatus(StrEnum):
    """The stored status of a credential (expiry is not stored: see EffectiveStatus)."""

    ACTIVE = "active"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


class EffectiveStatus(StrEnum):
    """What a verifier is told: the stored status, with expiry following validUntil."""

    VALID = "valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    EXPIRED = "expired"


class StatusPurpose(StrEnum):
    """The two Bitstring Status Lists every credential has an entry in."""

    REVOCATION = "revocation"
    SUSPENSION = "suspension"


class CredentialAction(StrEnum):
    """A credential's history (credential_event.action), as logged."""

    ISSUED = "issued"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"
    REISSUED = "reissued"  # signed again in the current shape (credentials/reissue.py)


class CredentialSerial(SQLModel, table=True):
    """Next serial per (scheme, year); allocated under a row lock, inside the issuing transaction."""

    __tablename__ = "credential_serial"

    scheme_code: str = Field(primary_key=True, max_length=16)
    year: int = Field(primary_key=True)
    next_serial: int = 1


class StatusList(SQLModel, table=True):
    __tablename__ = "status_list"

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=16)  # StatusPurpose
    size: int
    bits: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    allocated: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    allocated_count: int = 0
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CredentialHolder(SQLModel, table=True):
    """The holder's stable subject id (``credentialSubject.id`` and the JWT ``sub``), one per
    user, made at their first credential. A random UUID: nothing derived from the NIP."""

    __tablename__ = "credential_holder"

    user_id: int = Field(primary_key=True, foreign_key="app_user.id")
    subject_id: str = Field(max_length=64, unique=True)  # "urn:uuid:..."
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Credential(SQLModel, table=True):
    __tablename__ = "credential"
    __table_args__ = (UniqueConstraint("scheme_code", "year", "serial"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True, index=True)
    uuid: str = Field(max_length=64, unique=True)
    scheme_code: str = Field(max_length=16)
    scheme_version: str = Field(max_length=32)
    year: int
    region_code: str = Field(max_length=4)
    serial: int
    user_id: int = Field(foreign_key="app_user.id", index=True)
    attempt_id: int | None = Field(default=None, foreign_key="attempt.id", unique=True)
    result_id: int | None = Field(default=None, foreign_key="result.id")
    renews_id: int | None = Field(default=None, foreign_key="credential.id")
    status: str = Field(default=CredentialStatus.ACTIVE, max_length=16)  # CredentialStatus
    holder_name: str = Field(max_length=200)
    nip_masked: str = Field(max_length=18)
    instansi: str | None = Field(default=None, max_length=200)
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_until: datetime = Field(sa_type=UTCDateTime)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kid: str = Field(max_length=64, index=True)
    vc_jwt: str
    vc_sha256: str = Field(max_length=64)
    qr_text: str
    revocation_list_id: int = Field(foreign_key="status_list.id")
    revocation_index: int
    suspension_list_id: int = Field(foreign_key="status_list.id")
    suspension_index: int
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revocation_reason: str | None = None
    suspended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    suspension_reason: str | None = None


class CredentialEvent(SQLModel, table=True):
    """Status history of a credential: issued, revoked, suspended, reinstated."""

    __tablename__ = "credential_event"

    id: int | None = Field(default=None, primary_key=True)
    credential_id: int = Field(foreign_key="credential.id", index=True)
    action: str = Field(max_length=16)  # CredentialAction
    reason: str | None = None
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
