from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from apkd.dbtypes import BigIntPK, UTCDateTime, utcnow
from apkd.exams.states import AttemptState, RegistrationState


class ExamSession(SQLModel, table=True):
    __tablename__ = "exam_session"

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(foreign_key="scheme.id", index=True)
    title: str = Field(max_length=200)
    venue: str = Field(max_length=200)
    timezone: str = Field(default="Asia/Makassar", max_length=64)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    capacity: int | None = None
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    results_published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The certification decision: who published the results (never a proctor of the session).
    decided_by: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SessionProctor(SQLModel, table=True):
    __tablename__ = "session_proctor"

    session_id: int = Field(foreign_key="exam_session.id", primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", primary_key=True, index=True)


class Registration(SQLModel, table=True):
    __tablename__ = "registration"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    status: str = Field(default=RegistrationState.REGISTERED, max_length=16)
    registered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    admitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    admitted_by: int | None = Field(default=None, foreign_key="app_user.id")
    # The candidate opened the session's start page (at the door) before being admitted.
    arrived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Seat or computer number, set by the proctor at admission.
    seat: str | None = Field(default=None, max_length=16)


class Attempt(SQLModel, table=True):
    __tablename__ = "attempt"
    __table_args__ = (Index("ix_attempt_status_deadline", "status", "deadline"),)

    id: int | None = Field(default=None, primary_key=True)
    registration_id: int = Field(foreign_key="registration.id", unique=True)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    status: str = Field(default=AttemptState.IN_PROGRESS, max_length=16)
    seed: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Frozen at start: scheme rules and the drawn items (item version ids, option order).
    form: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    started_at: datetime = Field(sa_type=UTCDateTime)
    duration_seconds: int
    extension_seconds: int = 0
    paused_seconds: int = 0
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deadline: datetime = Field(sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    close_reason: str | None = None
    bound_sid: str = Field(max_length=64)
    last_saved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    current_position: int | None = None


class AttemptRelease(SQLModel, table=True):
    """A login an attempt was released from (moved to another computer): refused for good."""

    __tablename__ = "attempt_release"

    attempt_id: int = Field(foreign_key="attempt.id", primary_key=True)
    sid: str = Field(max_length=64, primary_key=True)
    released_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Response(SQLModel, table=True):
    __tablename__ = "response"

    attempt_id: int = Field(foreign_key="attempt.id", primary_key=True)
    position: int = Field(primary_key=True)
    response: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    flagged: bool = False
    saved_at: datetime = Field(sa_type=UTCDateTime)


class ResponseHistory(SQLModel, table=True):
    """Every accepted save, append-only, for disputes."""

    __tablename__ = "response_history"

    id: int | None = Field(default=None, sa_column=Column(BigIntPK, primary_key=True, autoincrement=True))
    attempt_id: int = Field(foreign_key="attempt.id", index=True)
    position: int
    response: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    sid: str | None = Field(default=None, max_length=64)
    saved_at: datetime = Field(sa_type=UTCDateTime)


class Incident(SQLModel, table=True):
    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    attempt_id: int | None = Field(default=None, foreign_key="attempt.id")
    category: str = Field(max_length=16)
    description: str
    item_position: int | None = None
    reported_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProctorAction(SQLModel, table=True):
    __tablename__ = "proctor_action"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    attempt_id: int | None = Field(default=None, foreign_key="attempt.id")
    registration_id: int | None = Field(default=None, foreign_key="registration.id")
    action: str = Field(max_length=32)
    reason: str | None = None
    minutes: int | None = None
    item_position: int | None = None
    actor_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConflictDeclaration(SQLModel, table=True):
    """A proctor's declared conflict of interest with one registered candidate (same instansi,
    family, superior, other). Either the candidate is moved to another proctor of the session
    (``reassigned_to``; the declarer may then no longer act on that candidate) or the conflict
    is only recorded in the minutes."""

    __tablename__ = "conflict_declaration"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    registration_id: int = Field(foreign_key="registration.id", index=True)
    proctor_id: int = Field(foreign_key="app_user.id")
    kind: str = Field(max_length=16)
    description: str
    resolution: str = Field(max_length=16)  # reassigned | minuted
    reassigned_to: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ResitGrant(SQLModel, table=True):
    """A free re-sit (e.g. from an upheld appeal): the next registration of this candidate for
    this scheme is exempt from the scheme's waiting period and yearly limit, once."""

    __tablename__ = "resit_grant"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    scheme_id: int = Field(foreign_key="scheme.id")
    reason: str
    source: str = Field(max_length=64)  # e.g. "appeal:12"
    granted_by: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    used_registration_id: int | None = Field(default=None, foreign_key="registration.id")
