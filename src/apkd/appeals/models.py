from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from apkd.appeals.states import CaseState
from apkd.dbtypes import UTCDateTime, utcnow


class Appeal(SQLModel, table=True):
    """A candidate's appeal (banding) against a published result, as a whole or named items."""

    __tablename__ = "appeal"

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="attempt.id", unique=True)
    result_id: int = Field(foreign_key="result.id")
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    scope: str = Field(max_length=8)  # result | items
    reason: str
    state: str = Field(default=CaseState.DIAJUKAN, max_length=16, index=True)
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    appeal_deadline: datetime = Field(sa_type=UTCDateTime)  # the last moment it could be lodged
    review_due_at: datetime = Field(sa_type=UTCDateTime)  # when the body must have decided
    reviewer_id: int | None = Field(default=None, foreign_key="app_user.id")
    assigned_by: int | None = Field(default=None, foreign_key="app_user.id")
    assigned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    remedy: str | None = Field(default=None, max_length=16)
    decision_reason: str | None = None
    # What the decision did: correction ids, regraded outcome, credentials issued or revoked.
    effects: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AppealItem(SQLModel, table=True):
    """An item named by an appeal (feeds the item review: appeals per item version)."""

    __tablename__ = "appeal_item"

    appeal_id: int = Field(foreign_key="appeal.id", primary_key=True)
    position: int = Field(primary_key=True)
    item_version_id: int = Field(foreign_key="item_version.id", index=True)


class Complaint(SQLModel, table=True):
    """A complaint (pengaduan) from anyone, about a credential or the certification body."""

    __tablename__ = "complaint"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True)  # what the complainant is given to follow it
    subject: str = Field(max_length=16)  # credential | body
    credential_number: str | None = Field(default=None, max_length=64, index=True)
    name: str = Field(max_length=200)
    contact: str = Field(max_length=200)
    description: str
    client_hash: str = Field(max_length=64, index=True)  # keyed hash of the client address (rate limit)
    state: str = Field(default=CaseState.DIAJUKAN, max_length=16, index=True)
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    review_due_at: datetime = Field(sa_type=UTCDateTime)
    handler_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: int | None = Field(default=None, foreign_key="app_user.id")
    decision_reason: str | None = None
    credential_action: str | None = Field(default=None, max_length=16)  # none | suspend | revoke
    credential_status: str | None = Field(default=None, max_length=16)  # the status it led to
