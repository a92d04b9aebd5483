from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from apkd.dbtypes import UTCDateTime, utcnow


class Result(SQLModel, table=True):
    """The graded outcome of one closed attempt, with what it was graded against."""

    __tablename__ = "result"

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="attempt.id", unique=True)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    score: float
    passed: bool
    outcome: str = Field(max_length=16)
    units: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Per item: item version id, the key and points used, earned, voided.
    items: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reason: str | None = None
    revision: int = 1
    graded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class KeyCorrection(SQLModel, table=True):
    """An admin's correction of an item version's key, or its voiding, after a challenge."""

    __tablename__ = "key_correction"

    id: int | None = Field(default=None, primary_key=True)
    item_version_id: int = Field(foreign_key="item_version.id", index=True)
    action: str = Field(max_length=8)  # rekey | void
    answer: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    reason: str
    actor_id: int = Field(foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ResultChange(SQLModel, table=True):
    __tablename__ = "result_change"

    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="result.id", index=True)
    correction_id: int | None = Field(default=None, foreign_key="key_correction.id")
    old_score: float
    new_score: float
    old_outcome: str = Field(max_length=16)
    new_outcome: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
