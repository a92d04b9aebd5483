"""Tables of the site flow. ``site_package`` lives at the centre (one row per exported package),
``site_load`` on the site server (one row per package loaded there)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, LargeBinary
from sqlmodel import Field, SQLModel

from apkd.dbtypes import UTCDateTime, utcnow


class SitePackage(SQLModel, table=True):
    """A package the centre issued, and the results it took back for it."""

    __tablename__ = "site_package"

    id: str = Field(primary_key=True, max_length=32)  # the package id (random hex)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    digest: str = Field(max_length=64)  # SHA-256 of the signed body
    site_kid: str = Field(max_length=64)
    site_public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str | None = Field(default=None, max_length=64)
    results_digest: str | None = Field(default=None, max_length=64)
    results_file: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    ingested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ingested_via: str | None = Field(default=None, max_length=16)  # "cli" or "push"
    # The site's state reports (docs/decisions/042-site-state-reports.md): the key that signs
    # reports before the unlock, and the latest report accepted (times on the site clock).
    report_kid: str | None = Field(default=None, max_length=64)
    report_public_jwk: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    site_state: str | None = Field(default=None, max_length=16)  # loaded | unlocked | sealed
    site_loaded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    site_unlocked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    site_sealed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    report_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_report_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # centre clock
    clock_offset_seconds: int | None = None  # site clock minus centre clock at the last report
    site_counts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class SiteLoad(SQLModel, table=True):
    """A package loaded on this site server, and how far its session went here."""

    __tablename__ = "site_load"

    package_id: str = Field(primary_key=True, max_length=32)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    digest: str = Field(max_length=64)
    issuer_kid: str = Field(max_length=64)
    package_file: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)  # the package's creation time (centre clock)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    loaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    load_offset_seconds: int = 0  # site clock at load minus the package's creation time
    failed_unlocks: int = 0
    unlocked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unlock_offset_seconds: int | None = None
    site_kid: str = Field(max_length=64)
    site_key_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    sealed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    results_digest: str | None = Field(default=None, max_length=64)
    pushed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    push_error: str | None = None
    # State reports to the centre: the last sequence number signed, and what the centre took.
    report_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    reported_state: str | None = Field(default=None, max_length=16)
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    report_error: str | None = None
    centre_offset_seconds: int | None = None  # site clock minus centre clock, measured by a report
