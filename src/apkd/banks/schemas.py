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
