from __future__ import annotations

from msgspec import Struct


class UnitPublic(Struct):
    code: str
    title: str
    items_per_form: int
    min_score: float | None


class SchemePublic(Struct):
    code: str
    version: str
    title: str
    position: str
    duration_minutes: int
    validity_months: int
    pass_score: float
    units: list[UnitPublic]
    appeal_days: int = 14  # days to appeal a published result
    resit_wait_days: int = 0  # days between sittings (0: none)
    sittings_per_year: int = 0  # sittings per 365 days (0: no limit)
