"""Request and response shapes of the grading domain (msgspec Structs, never table models)."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, Struct, UnsetType

from apkd.bounds import Keyword, Reason


class PublishSummary(Struct):
    graded: int  # attempts graded by this call
    passed: int  # of those, how many passed
    credentials_issued: int
    total_graded: int  # results of the session after this call
    total_passed: int
    still_open: int  # attempts still in progress or paused (graded by a later publish)
    published_at: str
    decided_by: str | None = None  # who took the certification decision (first publish)
    decided_at: str | None = None


class PublishPreviewPublic(Struct):
    """What publishing the session would do now (nothing is written)."""

    to_grade: int
    would_pass: int
    overdue: int
    still_open: int
    already_graded: int
    already_passed: int
    credentials_to_issue: int
    published_at: str | None
    may_publish: bool
    refusal: str | None


class SessionResultUnit(Struct):
    code: str
    score: float
    passed: bool


class SessionResultRow(Struct):
    attempt_id: int
    username: str
    nip: str | None
    full_name: str
    instansi: str | None
    score: float
    passed: bool
    outcome: str
    units: list[SessionResultUnit]


class ScoreBin(Struct):
    low: int  # low <= score < high (the last bin holds 100)
    high: int
    count: int


class SessionResults(Struct):
    session_id: int
    scheme_code: str
    pass_score: float
    units: list[str]
    published: bool
    rows: list[SessionResultRow]
    distribution: list[ScoreBin]
    mean: float | None
    passed: int


class UnitResult(Struct):
    code: str
    score: float
    passed: bool


class ResultPublic(Struct):
    attempt_id: int
    score: float
    passed: bool
    outcome: str
    units: list[UnitResult]
    reason: str | None
    revision: int
    graded_at: str


class CorrectionRequest(Struct):
    action: Keyword  # rekey | void
    reason: Reason
    answer: Any | UnsetType = UNSET
    preview: bool = False  # true: say which outcomes would flip, write nothing


class OutcomeChange(Struct):
    attempt_id: int
    username: str
    full_name: str
    old_outcome: str
    new_outcome: str
    old_score: float
    new_score: float


class CandidateRef(Struct):
    attempt_id: int
    username: str
    full_name: str


class CorrectionSummary(Struct):
    correction_id: int  # 0 for a preview
    item_version_id: int
    action: str
    regraded: int
    changes: list[OutcomeChange]
    newly_passed: list[CandidateRef]
    no_longer_passed: list[CandidateRef]
    credentials_issued: int
    credentials_revoked: int
    preview: bool = False


class CorrectionPublic(Struct):
    id: int
    item_version_id: int
    action: str
    reason: str
    actor: str | None
    created_at: str


class ItemAnalysisRow(Struct):
    item_version_id: int
    external_id: str
    version: int
    unit: str
    type: str
    n: int
    p: float | None
    point_biserial: float | None
    omitted: int
    option_counts: dict[str, int]
    flags: list[str]
    flag_texts: list[str]
    voided: bool


class FormAnalysis(Struct):
    form: str  # a short id of the item set, or "posisi" for the pooled by-position figures
    n: int
    k: int
    mean: float
    sd: float
    kr20: float | None
    sem: float | None


class ItemAnalysis(Struct):
    scope: str  # session | scheme
    session_id: int | None
    scheme_code: str
    attempts: int
    items: list[ItemAnalysisRow]
    forms: list[FormAnalysis]
    pooled: FormAnalysis | None
