"""Request and response shapes of the site flow (msgspec Structs, never table models)."""

from __future__ import annotations

from msgspec import Struct


class UnlockRequest(Struct):
    code: str


class UnlockOut(Struct):
    session_id: int
    unlocked_at: str
    clock_offset_seconds: int
    failed_unlocks: int


class IngestOut(Struct):
    package_id: str
    session_id: int
    attempts: int
    already_ingested: bool


class SiteStateOut(Struct):
    package_id: str
    session_id: int
    state: str  # centre: exported | ingested; site: loaded | unlocked | sealed | pushed
    created_at: str
    detail: str | None = None
