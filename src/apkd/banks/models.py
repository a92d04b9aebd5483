from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from apkd.dbtypes import UTCDateTime, utcnow


class Scheme(SQLModel, table=True):
    __tablename__ = "scheme"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True, index=True)
    version: str = Field(max_length=32)
    title: str = Field(max_length=200)
    position: str = Field(max_length=200)
    duration_minutes: int
    validity_months: int
    pass_score: float
    content_hash: str = Field(max_length=64)
    # Rules of the certification process (bank file, optional): days a candidate has to appeal a
    # published result; days to wait after a sitting before the next; sittings per 365 days
    # (0: no limit).
    appeal_days: int = Field(default=14)
    resit_wait_days: int = Field(default=0)
    sittings_per_year: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Rules of the draw beyond the units (bank file: ``level_shares`` and top-level ``enemies``):
    # {"level_shares": {level: share}, "enemies": [[external_id, ...], ...]}; {} when none.
    draw_rules: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    # The current version retired (decision 046): no new session may use it until a bank file
    # with another version is imported; sessions, results and credentials already made stay.
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retired_reason: str | None = Field(default=None, max_length=4000)


class SchemeUnit(SQLModel, table=True):
    __tablename__ = "scheme_unit"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(foreign_key="scheme.id", index=True)
    code: str = Field(max_length=32)
    title: str = Field(max_length=200)
    items_per_form: int
    min_score: float | None = None
    ordinal: int = 0

    def snapshot(self) -> dict[str, Any]:
        """The unit as frozen into an attempt's form (``form["scheme"]["units"]``)."""
        return {
            "code": self.code,
            "title": self.title,
            "items_per_form": self.items_per_form,
            "min_score": self.min_score,
        }


class Item(SQLModel, table=True):
    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("scheme_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(foreign_key="scheme.id", index=True)
    external_id: str = Field(max_length=64)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ItemVersion(SQLModel, table=True):
    """One immutable version of an item. Never updated once written: an edit is a new row."""

    __tablename__ = "item_version"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    version: int
    content_hash: str = Field(max_length=64)
    unit_code: str = Field(max_length=32)
    type: str = Field(max_length=16)
    stem: str
    options: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answer: Any = Field(sa_column=Column(JSON, nullable=False))
    tolerance: float = 0.0
    points: int = 1
    reference: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    level: str | None = Field(default=None, max_length=16)  # pengetahuan | penerapan | penalaran
    # The review record of this version's content. Not content: a review updates these in place.
    review_status: str = Field(default="draft", max_length=16, sa_column_kwargs={"server_default": "draft"})
    reviewer: str | None = Field(default=None, max_length=100)
    reviewed_at: date | None = None
