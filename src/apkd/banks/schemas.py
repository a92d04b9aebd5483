from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from apkd.bounds import Reason


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
    retired: bool = False  # this version is retired: no new session may use it
    retired_at: str | None = None
    items: dict[str, int] = {}  # active items in the bank per unit code


class SchemeRetire(Struct):
    version: Annotated[str, Meta(max_length=32)]
    reason: Reason


class BankUpload(Struct):
    """A bank file's YAML text as uploaded from the console."""

    filename: Annotated[str, Meta(min_length=1, max_length=200)]
    text: Annotated[str, Meta(max_length=5_000_000)]


class BankLineError(Struct):
    line: int
    message: str


class BankUnitCount(Struct):
    code: str
    items: int
    items_per_form: int


class BankCheck(Struct):
    """What `apkd bank check` says of an uploaded file; ``imported`` once it was imported."""

    ok: bool
    filename: str
    errors: list[BankLineError]
    scheme_code: str | None = None
    version: str | None = None
    items: int = 0
    drafts: int = 0
    units: list[BankUnitCount] = []
    imported: str | None = None  # the import's summary line
