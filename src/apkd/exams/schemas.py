"""Request and response shapes of the exams domain (msgspec Structs, never table models).

Times in responses are ISO 8601 strings with an offset (UTC for attempt clocks; the site's
zone for sessions and minutes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType

from apkd.bounds import (
    PROCTORS_MAX,
    Description,
    Int32,
    Int64,
    Keyword,
    Reason,
    SchemeCode,
    Timezone,
    Title,
    Username,
)

# --- sessions ------------------------------------------------------------------------------


class SessionCreate(Struct):
    scheme_code: SchemeCode
    title: Title
    venue: Title
    starts_at: datetime
    ends_at: datetime
    proctors: Annotated[list[Username], Meta(max_length=PROCTORS_MAX)] = []
    timezone: Timezone = "Asia/Makassar"
    capacity: Int32 | None = None


class SessionUpdate(Struct):
    """A partial edit (PATCH): only the fields sent change. Once the session has started only the
    title, venue, a later end, capacity and proctors may change."""

    scheme_code: SchemeCode | None = None
    title: Title | None = None
    venue: Title | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    proctors: Annotated[list[Username], Meta(max_length=PROCTORS_MAX)] | None = None
    timezone: Timezone | None = None
    capacity: Int32 | UnsetType | None = UNSET  # null: no limit


class SessionPublic(Struct):
    id: int
    scheme_code: str
    scheme_title: str
    title: str
    venue: str
    timezone: str
    starts_at: str
    ends_at: str
    starts_at_text: str
    ends_at_text: str
    capacity: int | None
    proctors: list[str]
    registered: int
    scheme_version: str = ""
    started: bool = False  # the start time has passed or an attempt exists: few edits remain
    results_published: bool = False


class RegistrationCreate(Struct):
    username: Username


class RegistrationPublic(Struct):
    id: int
    session_id: int
    username: str
    status: str


class AdmitRequest(Struct):
    identity_checked: bool = True
    note: Reason | None = None
    seat: Keyword | None = None  # seat or computer number, shown on the roster and the minutes


class RosterEntry(Struct):
    registration_id: int
    username: str
    full_name: str
    nip: str | None
    status: str
    attempt_id: int | None
    remaining_seconds: int | None
    deadline: str | None
    last_saved_at: str | None
    current_position: int | None
    seat: str | None = None
    # At the door: opened the session's start page, not admitted yet.
    waiting: bool = False
    # Released by a proctor, no login holds it yet ("menunggu pindah perangkat").
    awaiting_device: bool = False
    # Seconds since the last save (or the start) of a running attempt; None otherwise.
    idle_seconds: int | None = None


class IncidentCreate(Struct):
    category: Keyword
    description: Description
    attempt_id: Int32 | None = None


class IncidentPublic(Struct):
    id: int
    session_id: int
    attempt_id: int | None
    username: str | None
    category: str
    description: str
    item_position: int | None
    reported_by: str
    created_at: str
    created_at_text: str


class ProctorActionPublic(Struct):
    id: int
    action: str
    attempt_id: int | None
    registration_id: int | None
    username: str | None
    reason: str | None
    minutes: int | None
    item_position: int | None
    actor: str
    created_at: str
    created_at_text: str


class MinutesCounts(Struct):
    registered: int
    admitted: int
    started: int
    in_progress: int
    paused: int
    submitted: int
    expired: int
    terminated: int
    absent: int


class ConflictCreate(Struct):
    kind: str  # same_instansi | family | superior | other
    description: str
    reassign_to: str | None = None  # another proctor of the session; none: recorded in the minutes


class ConflictPublic(Struct):
    id: int
    registration_id: int
    username: str  # the candidate
    proctor: str  # who declared it
    kind: str
    kind_text: str
    description: str
    resolution: str  # reassigned | minuted
    resolution_text: str
    reassigned_to: str | None
    created_at: str
    created_at_text: str


class Minutes(Struct):
    session: SessionPublic
    counts: MinutesCounts
    incidents: list[IncidentPublic]
    proctor_actions: list[ProctorActionPublic]
    generated_at: str
    generated_at_text: str
    conflicts: list[ConflictPublic] = []
    decided_by: str | None = None  # who took the certification decision (publish)
    decided_at: str | None = None
    site_notes: list[str] = []  # a session run on an exam site server: its package and clock


# --- attempts --------------------------------------------------------------------------------


class OptionPublic(Struct):
    id: str
    text: str


class AttemptItem(Struct):
    position: int
    type: str
    stem: str
    options: list[OptionPublic]
    response: Any
    unit: str
    flagged: bool


class AttemptView(Struct):
    id: int
    session_id: int
    status: str
    scheme_code: str
    started_at: str
    deadline: str
    server_time: str
    remaining_seconds: int
    submitted_at: str | None
    current_position: int | None
    items: list[AttemptItem]


class AttemptStatus(Struct):
    """What a proctor action answers: the attempt's clock, without the items."""

    id: int
    session_id: int
    status: str
    started_at: str
    deadline: str
    server_time: str
    remaining_seconds: int
    extension_seconds: int
    paused_seconds: int
    bound: bool


class SaveRequest(Struct):
    seq: Int64
    response: Any = None
    current_position: Int32 | None = None
    flagged: bool | None = None


class SaveResult(Struct):
    position: int
    seq: int
    saved_at: str
    response: Any = None  # as stored, normalised (a typed "75.000" comes back as 75000)


class SubmitResult(Struct):
    id: int
    status: str
    submitted_at: str


class ReasonRequest(Struct):
    reason: Reason


class ExtendRequest(Struct):
    minutes: Int32
    reason: Reason


__all__ = [
    "AdmitRequest",
    "AttemptItem",
    "AttemptStatus",
    "AttemptView",
    "ExtendRequest",
    "IncidentCreate",
    "IncidentPublic",
    "Minutes",
    "MinutesCounts",
    "OptionPublic",
    "ProctorActionPublic",
    "ReasonRequest",
    "RegistrationCreate",
    "RegistrationPublic",
    "RosterEntry",
    "SaveRequest",
    "SaveResult",
    "SessionCreate",
    "SessionPublic",
    "SubmitResult",
]


class CandidateImportRequest(Struct):
    """A candidates CSV (see apkd.exams.candidate_import); ``apply`` false = preview only."""

    csv: Annotated[str, Meta(max_length=1_000_000)]
    apply: bool = False


class CandidateImportRow(Struct):
    line: int
    nip: str
    full_name: str
    instansi: str
    jabatan: str
    username: str
    action: str  # create | register | already_registered
    initial_password: str | None = None  # only once, when the account was just made


class CandidateImportError(Struct):
    line: int
    message: str


class CandidateImportReport(Struct):
    session_id: int
    applied: bool
    rows: list[CandidateImportRow]
    errors: list[CandidateImportError]
    created: int
    registered: int
    skipped: int


class LoginSlipsRequest(Struct):
    """Which candidates of the session get a slip (and so a new password): the listed ones,
    or all; those who have already logged in only with ``include_logged_in``."""

    usernames: Annotated[list[Username], Meta(max_length=5000)] | None = None
    include_logged_in: bool = False
