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


class StateTimes(Struct):
    """When each state happened (UTC ISO; loaded/unlocked/sealed on the site's clock)."""

    exported: str | None = None
    loaded: str | None = None
    unlocked: str | None = None
    sealed: str | None = None
    ingested: str | None = None


class SiteStateOut(Struct):
    package_id: str
    session_id: int
    # centre: the latest of exported | loaded | unlocked | sealed | ingested;
    # site: loaded | unlocked | sealed | pushed
    state: str
    created_at: str
    detail: str | None = None
    session_title: str | None = None
    venue: str | None = None
    timezone: str | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    times: StateTimes | None = None
    last_contact_at: str | None = None  # the last state report taken (centre clock)
    clock_offset_seconds: int | None = None  # site clock minus centre clock at that report
    counts: dict[str, int | None] | None = None
    # the session has started and the site never reported an unlock
    unlock_overdue: bool = False


class ReportOut(Struct):
    package_id: str
    session_id: int
    state: str
    centre_time: str
    clock_offset_seconds: int
