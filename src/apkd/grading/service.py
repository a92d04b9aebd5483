"""Grading rules, given a session: publishing results, reading one, key corrections with
regrading, item analysis and the results export.

Bulk by design: a session's responses are read in one query, item versions and key
corrections in one query each, results written with one multi-row INSERT (or one executemany
UPDATE when regrading). Nothing runs a query per attempt.

Concurrency: publishing serializes on ``publish:{session id}`` (a transaction advisory lock
on PostgreSQL; SQLite holds its single write lock from the first statement), and
``result.attempt_id`` is unique, so two publishes at once grade each attempt once. A key
correction takes ``corrections:{scheme id}`` and then the publish lock of every session of
the scheme (in id order), so a publish never grades with a key that a concurrent
correction is replacing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Table, Text, bindparam, cast, exists, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from sqlmodel import select as orm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import User
from apkd.accounts.security import Principal
from apkd.banks.models import Item, ItemVersion, Scheme
from apkd.db import serialize, utcnow
from apkd.dbtypes import table_of
from apkd.errors import Conflict, Forbidden, NotFound, Unprocessable
from apkd.exams.models import CLOSED_STATUSES, Attempt, ExamSession, Response
from apkd.exams.saving import close_overdue
from apkd.grading import effects
from apkd.grading.analysis import (
    FLAG_LABELS,
    FormStats,
    ItemRecord,
    ItemStats,
    form_statistics,
    item_statistics,
)
from apkd.grading.grader import (
    CorrectionKey,
    FormError,
    FrozenForm,
    Graded,
    InvalidKey,
    ItemKey,
    ScoringCache,
    build_scoring,
    decode_form,
    decode_responses,
    encode_json,
    grade_attempt,
    validate_key,
)
from apkd.grading.models import KeyCorrection, Result, ResultChange
from apkd.grading.scoring import OUTCOME_KOMPETEN, is_correct

ATTEMPT: Table = table_of(Attempt)
RESPONSE: Table = table_of(Response)
RESULT: Table = table_of(Result)
RESULT_CHANGE: Table = table_of(ResultChange)
ITEM_VERSION: Table = table_of(ItemVersion)
ITEM: Table = table_of(Item)
CORRECTION: Table = table_of(KeyCorrection)
EXAM_SESSION: Table = table_of(ExamSession)
USER: Table = table_of(User)

OPEN_STATUSES = ("in_progress", "paused")
# Statuses whose answers item analysis looks at: a terminated attempt says little about items.
ANALYSED_STATUSES = ("submitted", "expired")
CORRECTION_ACTIONS = ("rekey", "void")
MAX_REASON = 2000
CHUNK = 5000  # ids per IN list (PostgreSQL allows 32767 parameters per statement)

T = TypeVar("T")


def _chunks(values: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


# --- bulk readers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosedAttempt:
    id: int
    user_id: int
    session_id: int
    status: str
    close_reason: str | None
    form: FrozenForm | None  # None when the stored form cannot be read (reported when graded)
    form_error: str | None = None

    def item_version_ids(self) -> list[int]:
        return self.form.item_version_ids() if self.form is not None else []


def _attempt_from(row: Row[Any]) -> ClosedAttempt:
    try:
        form, error = decode_form(row.form_json), None
    except FormError as exc:
        form, error = None, str(exc)
    return ClosedAttempt(
        id=row.id,
        user_id=row.user_id,
        session_id=row.session_id,
        status=row.status,
        close_reason=row.close_reason,
        form=form,
        form_error=error,
    )


_ATTEMPT_COLUMNS = (
    ATTEMPT.c.id,
    ATTEMPT.c.user_id,
    ATTEMPT.c.session_id,
    ATTEMPT.c.status,
    ATTEMPT.c.close_reason,
    # As text, decoded by msgspec into GC-free structs (see grader.py): much faster in bulk.
    cast(ATTEMPT.c.form, Text).label("form_json"),
)


_UNGRADED = ~exists().where(RESULT.c.attempt_id == ATTEMPT.c.id)


async def _closed_attempts(
    conn: AsyncConnection,
    session_ids: Sequence[int],
    statuses: Sequence[str] = CLOSED_STATUSES,
    *,
    ungraded_only: bool = False,
) -> list[ClosedAttempt]:
    stmt = (
        select(*_ATTEMPT_COLUMNS)
        .where(ATTEMPT.c.session_id.in_(list(session_ids)), ATTEMPT.c.status.in_(list(statuses)))
        .order_by(ATTEMPT.c.id)
    )
    if ungraded_only:
        stmt = stmt.where(_UNGRADED)
    rows = (await conn.execute(stmt)).all()
    return [_attempt_from(r) for r in rows]


async def _attempts_by_id(conn: AsyncConnection, ids: Sequence[int]) -> list[ClosedAttempt]:
    out: list[ClosedAttempt] = []
    for chunk in _chunks(sorted(ids)):
        rows = (await conn.execute(select(*_ATTEMPT_COLUMNS).where(ATTEMPT.c.id.in_(list(chunk))))).all()
        out.extend(_attempt_from(r) for r in rows)
    return out


def _responses_by_attempt(conn: AsyncConnection) -> Any:
    """``attempt_id, {position (text): response}`` per attempt, aggregated in the database: one
    JSON document per attempt decodes much faster than one per response."""
    if conn.dialect.name == "postgresql":
        agg = func.json_object_agg(RESPONSE.c.position, RESPONSE.c.response)
    else:
        agg = func.json_group_object(RESPONSE.c.position, func.json(RESPONSE.c.response))
    return select(RESPONSE.c.attempt_id, cast(agg, Text).label("answers")).group_by(RESPONSE.c.attempt_id)


async def _responses_of_sessions(
    conn: AsyncConnection,
    session_ids: Sequence[int],
    statuses: Sequence[str],
    *,
    ungraded_only: bool = False,
) -> dict[int, dict[str, object]]:
    """Every response of the sessions' attempts in these statuses, in one query."""
    stmt = (
        _responses_by_attempt(conn)
        .join(ATTEMPT, ATTEMPT.c.id == RESPONSE.c.attempt_id)
        .where(ATTEMPT.c.session_id.in_(list(session_ids)), ATTEMPT.c.status.in_(list(statuses)))
    )
    if ungraded_only:
        stmt = stmt.where(_UNGRADED)
    rows = await conn.execute(stmt)
    return {attempt_id: decode_responses(answers) for attempt_id, answers in rows}


async def _responses_of_attempts(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, dict[str, object]]:
    out: dict[int, dict[str, object]] = {}
    for chunk in _chunks(sorted(ids)):
        rows = await conn.execute(_responses_by_attempt(conn).where(RESPONSE.c.attempt_id.in_(list(chunk))))
        out.update({attempt_id: decode_responses(answers) for attempt_id, answers in rows})
    return out


async def _keys(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, ItemKey]:
    out: dict[int, ItemKey] = {}
    for chunk in _chunks(sorted(set(ids))):
        rows = await conn.execute(
            select(
                ITEM_VERSION.c.id,
                ITEM_VERSION.c.type,
                ITEM_VERSION.c.answer,
                ITEM_VERSION.c.tolerance,
                ITEM_VERSION.c.points,
                ITEM_VERSION.c.options,
            ).where(ITEM_VERSION.c.id.in_(list(chunk)))
        )
        for r in rows:
            out[r.id] = ItemKey(
                id=r.id,
                type=r.type,
                answer=r.answer,
                tolerance=r.tolerance,
                points=r.points,
                option_ids=tuple(str(o[0]) for o in r.options or ()),
            )
    return out


async def _corrections(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, CorrectionKey]:
    """The latest key correction of each of these item versions."""
    out: dict[int, CorrectionKey] = {}
    for chunk in _chunks(sorted(set(ids))):
        rows = await conn.execute(
            select(CORRECTION.c.id, CORRECTION.c.item_version_id, CORRECTION.c.action, CORRECTION.c.answer)
            .where(CORRECTION.c.item_version_id.in_(list(chunk)))
            .order_by(CORRECTION.c.id)
        )
        for r in rows:
            out[r.item_version_id] = CorrectionKey(id=r.id, action=r.action, answer=r.answer)
    return out


async def _exam_session(session: AsyncSession, exam_session_id: int) -> ExamSession:
    es = await session.get(ExamSession, exam_session_id)
    if es is None:
        raise NotFound("Sesi ujian tidak ditemukan.", code="session_not_found")
    return es


def _grade(a: ClosedAttempt, responses: dict[str, object], cache: ScoringCache) -> Graded:
    try:
        if a.form is None:
            raise FormError(a.form_error or "attempt form is missing")
        return grade_attempt(
            a.form,
            responses,
            cache.keys,
            cache.corrections,
            status=a.status,
            close_reason=a.close_reason,
            cache=cache,
        )
    except FormError as exc:
        raise Conflict(
            f"Percobaan ujian #{a.id} tidak dapat dinilai: tidak ada soal yang masih dinilai "
            "atau soal pada paketnya tidak ditemukan.",
            code="attempt_not_gradable",
            extra={"attempt_id": a.id, "error": str(exc)},
        ) from exc


# --- publishing ----------------------------------------------------------------------------------

_RESULT_COLUMNS = (
    "attempt_id",
    "session_id",
    "user_id",
    "score",
    "passed",
    "outcome",
    "units",
    "items",
    "reason",
    "revision",
    "graded_at",
)


async def _insert_results(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Insert result rows in bulk, in the caller's transaction. PostgreSQL: one binary COPY on
    the same connection (JSON encoded by msgspec); SQLite: multi-row INSERTs."""
    if conn.dialect.name == "postgresql":
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        records = [
            tuple(encode_json(r[c]) if c in ("units", "items") else r[c] for c in _RESULT_COLUMNS)
            for r in rows
        ]
        await raw.copy_records_to_table("result", records=records, columns=list(_RESULT_COLUMNS))
        return
    for chunk in _chunks(rows, 500):
        await conn.execute(insert(RESULT), [{**r, "items": msgspec.to_builtins(r["items"])} for r in chunk])


@dataclass(frozen=True)
class PublishOutcome:
    graded: int
    passed: int
    credentials_issued: int
    total_graded: int
    total_passed: int
    still_open: int
    published_at: datetime


async def publish(
    session: AsyncSession, exam_session_id: int, *, actor: str | None, now: datetime | None = None
) -> PublishOutcome:
    """Grade every closed attempt of the session that has no result yet, open the results to
    the candidates, and have a credential issued to each who passed. Idempotent."""
    now = now or utcnow()
    es = await _exam_session(session, exam_session_id)
    # Close overdue attempts first: close_overdue commits what it closed at once (it appends to
    # the audit chain, whose lock should not be held while grading).
    await close_overdue(session, now, session_id=exam_session_id)
    await serialize(session, f"publish:{exam_session_id}")
    await session.refresh(es)  # another publish may have finished while we waited
    conn = await session.connection()

    graded_before = (
        await conn.execute(
            select(func.count()).select_from(RESULT).where(RESULT.c.session_id == exam_session_id)
        )
    ).scalar_one()
    attempts = await _closed_attempts(conn, [exam_session_id], ungraded_only=True)
    still_open = (
        await conn.execute(
            select(func.count())
            .select_from(ATTEMPT)
            .where(ATTEMPT.c.session_id == exam_session_id, ATTEMPT.c.status.in_(OPEN_STATUSES))
        )
    ).scalar_one()

    newly_passed = 0
    if attempts:
        keys = await _keys(conn, (i for a in attempts for i in a.item_version_ids()))
        corrections = await _corrections(conn, keys)
        responses = await _responses_of_sessions(conn, [exam_session_id], CLOSED_STATUSES, ungraded_only=True)
        cache = ScoringCache(keys, corrections)
        rows = []
        for a in attempts:
            g = _grade(a, responses.get(a.id, {}), cache)
            newly_passed += g.passed
            rows.append(
                {
                    "attempt_id": a.id,
                    "session_id": exam_session_id,
                    "user_id": a.user_id,
                    "score": g.score.score,
                    "passed": g.passed,
                    "outcome": g.outcome,
                    "units": g.units,
                    "items": g.items,
                    "reason": g.reason,
                    "revision": 1,
                    "graded_at": now,
                }
            )
        await _insert_results(conn, rows)

    passing = list(
        (
            await conn.execute(
                select(RESULT.c.id)
                .where(RESULT.c.session_id == exam_session_id, RESULT.c.passed.is_(True))
                .order_by(RESULT.c.id)
            )
        )
        .scalars()
        .all()
    )
    total_graded = int(graded_before) + len(attempts)
    issued = await effects.current().issue(session, passing, actor=actor)
    first = es.results_published_at is None
    if first:
        es.results_published_at = now
        session.add(es)
    if first or attempts or issued:
        await audit.record(
            session,
            "results.published",
            "exam_session",
            exam_session_id,
            actor=actor,
            details={
                "graded": len(attempts),
                "passed": newly_passed,
                "credentials_issued": issued,
                "total_graded": total_graded,
                "still_open": still_open,
            },
        )
    published_at = es.results_published_at or now
    return PublishOutcome(
        graded=len(attempts),
        passed=newly_passed,
        credentials_issued=issued,
        total_graded=total_graded,
        total_passed=len(passing),
        still_open=int(still_open),
        published_at=published_at,
    )


# --- reading a result ----------------------------------------------------------------------------


async def result_for(session: AsyncSession, attempt_id: int, principal: Principal) -> Result:
    """The result of an attempt: for an admin, or for its candidate once results are published."""
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound("Percobaan ujian tidak ditemukan.", code="attempt_not_found")
    if principal.role != "admin":
        if principal.role != "candidate" or attempt.user_id != principal.user_id:
            raise Forbidden("Anda hanya dapat melihat hasil ujian Anda sendiri.", code="not_your_attempt")
        es = await session.get(ExamSession, attempt.session_id)
        if es is None or es.results_published_at is None:
            raise Forbidden(
                "Hasil ujian belum diumumkan. Silakan periksa kembali setelah pengumuman.",
                code="results_not_published",
            )
    result = (await session.exec(orm_select(Result).where(Result.attempt_id == attempt_id))).first()
    if result is None:
        raise NotFound(
            "Hasil ujian ini belum tersedia: ujian belum selesai dinilai.", code="result_not_found"
        )
    return result


# --- key corrections ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    attempt_id: int
    user_id: int
    result_id: int
    old_outcome: str
    new_outcome: str
    old_score: float
    new_score: float


@dataclass
class CorrectionOutcome:
    correction_id: int
    item_version_id: int
    action: str
    regraded: int
    changes: list[Change] = field(default_factory=list)
    newly_passed: list[Change] = field(default_factory=list)
    no_longer_passed: list[Change] = field(default_factory=list)
    credentials_issued: int = 0
    credentials_revoked: int = 0
    users: dict[int, tuple[str, str]] = field(default_factory=dict)  # user id -> (username, name)


def _clean_reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise Unprocessable("Alasan koreksi wajib diisi.", code="reason_required")
    if len(text) > MAX_REASON:
        raise Unprocessable(f"Alasan koreksi paling panjang {MAX_REASON} karakter.", code="reason_too_long")
    return text


async def correct_key(
    session: AsyncSession,
    item_version_id: int,
    *,
    action: str,
    reason: str,
    answer: object = None,
    answer_given: bool = False,
    actor: Principal,
) -> CorrectionOutcome:
    """Correct the key of an item version (``rekey``) or void it (``void``), then regrade every
    result that used it; outcome changes are recorded, audited and acted on (credentials)."""
    if action not in CORRECTION_ACTIONS:
        raise Unprocessable("Tindakan koreksi harus 'rekey' atau 'void'.", code="invalid_action")
    reason = _clean_reason(reason)
    iv = await session.get(ItemVersion, item_version_id)
    if iv is None:
        raise NotFound("Versi soal tidak ditemukan.", code="item_version_not_found")
    new_answer: object = None
    if action == "rekey":
        if not answer_given:
            raise Unprocessable(
                "Kunci jawaban baru ('answer') wajib diisi untuk rekey.", code="answer_required"
            )
        try:
            new_answer = validate_key(iv.type, [str(o[0]) for o in iv.options], answer)
        except InvalidKey as exc:
            raise Unprocessable(exc.message, code="invalid_key") from exc
    item = await session.get(Item, iv.item_id)
    assert item is not None
    conn = await session.connection()
    await serialize(session, f"corrections:{item.scheme_id}")
    session_ids = sorted(
        (await conn.execute(select(EXAM_SESSION.c.id).where(EXAM_SESSION.c.scheme_id == item.scheme_id)))
        .scalars()
        .all()
    )
    for sid in session_ids:
        await serialize(session, f"publish:{sid}")

    previous = (await _corrections(conn, [item_version_id])).get(item_version_id)
    answer_now, voided_now = (
        (iv.answer, False)
        if previous is None
        else ((iv.answer, True) if previous.action == "void" else (previous.answer, False))
    )
    if action == "void" and voided_now:
        raise Conflict("Soal ini sudah dibatalkan.", code="already_voided")
    if action == "rekey" and not voided_now and _same_key(iv.type, answer_now, new_answer):
        raise Conflict("Kunci baru sama dengan kunci yang berlaku.", code="key_unchanged")

    kc = KeyCorrection(
        item_version_id=item_version_id,
        action=action,
        answer=new_answer if action == "rekey" else None,
        reason=reason,
        actor_id=actor.user_id,
        created_at=utcnow(),
    )
    session.add(kc)
    await session.flush()
    assert kc.id is not None

    outcome = CorrectionOutcome(
        correction_id=kc.id, item_version_id=item_version_id, action=action, regraded=0
    )
    if session_ids:
        await _regrade(session, conn, item_version_id, session_ids, kc.id, outcome)
    newly = [c.result_id for c in outcome.newly_passed]
    lost = [c.result_id for c in outcome.no_longer_passed]
    if lost:
        outcome.credentials_revoked = await effects.current().revoke_regraded(
            session, lost, actor=actor.username
        )
    if newly:
        outcome.credentials_issued = await effects.current().issue(session, newly, actor=actor.username)
    await audit.record(
        session,
        "item.key_corrected",
        "item_version",
        item_version_id,
        actor=actor.username,
        details={
            "correction_id": kc.id,
            "action": action,
            "reason": reason,
            "regraded": outcome.regraded,
            "changed_attempt_ids": [c.attempt_id for c in outcome.changes],
            "newly_passed_attempt_ids": [c.attempt_id for c in outcome.newly_passed],
            "no_longer_passed_attempt_ids": [c.attempt_id for c in outcome.no_longer_passed],
            "credentials_issued": outcome.credentials_issued,
            "credentials_revoked": outcome.credentials_revoked,
        },
    )
    return outcome


def _same_key(item_type: str, a: object, b: object) -> bool:
    if item_type == "multiple" and isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return sorted(map(str, a)) == sorted(map(str, b))
    if item_type == "numeric" and isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return a == b


class _GradedItemRef(msgspec.Struct, gc=False):
    item_version_id: int


# Which item versions a stored result used: decoded fast, without building a dict per item.
_ITEM_REFS = msgspec.json.Decoder(list[_GradedItemRef])

_REGRADED_COLUMNS = ("score", "passed", "outcome", "units", "items", "reason", "revision", "graded_at")


async def _regrade(
    session: AsyncSession,
    conn: AsyncConnection,
    item_version_id: int,
    session_ids: list[int],
    correction_id: int,
    outcome: CorrectionOutcome,
) -> None:
    results = (
        await conn.execute(
            select(
                RESULT.c.id,
                RESULT.c.attempt_id,
                RESULT.c.user_id,
                RESULT.c.score,
                RESULT.c.outcome,
                cast(RESULT.c["items"], Text).label("graded_items"),
                RESULT.c.revision,
            ).where(RESULT.c.session_id.in_(session_ids))
        )
    ).all()
    affected = [
        r
        for r in results
        if any(i.item_version_id == item_version_id for i in _ITEM_REFS.decode(r.graded_items))
    ]
    outcome.regraded = len(affected)
    if not affected:
        return
    attempts = {a.id: a for a in await _attempts_by_id(conn, [r.attempt_id for r in affected])}
    keys = await _keys(conn, (i for a in attempts.values() for i in a.item_version_ids()))
    corrections = await _corrections(conn, keys)
    responses = await _responses_of_attempts(conn, list(attempts))
    now = utcnow()
    updates: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    cache = ScoringCache(keys, corrections)
    for r in affected:
        a = attempts[r.attempt_id]
        g = _grade(a, responses.get(a.id, {}), cache)
        updates.append(
            {
                "b_id": r.id,
                "b_score": g.score.score,
                "b_passed": g.passed,
                "b_outcome": g.outcome,
                "b_units": g.units,
                "b_items": msgspec.to_builtins(g.items),
                "b_reason": g.reason,
                "b_revision": r.revision + 1,
                "b_graded_at": now,
            }
        )
        if g.score.score != r.score or g.outcome != r.outcome:
            change = Change(
                attempt_id=a.id,
                user_id=a.user_id,
                result_id=r.id,
                old_outcome=r.outcome,
                new_outcome=g.outcome,
                old_score=r.score,
                new_score=g.score.score,
            )
            outcome.changes.append(change)
            if r.outcome != g.outcome:
                (outcome.newly_passed if g.outcome == OUTCOME_KOMPETEN else outcome.no_longer_passed).append(
                    change
                )
            changes.append(
                {
                    "result_id": r.id,
                    "correction_id": correction_id,
                    "old_score": r.score,
                    "new_score": g.score.score,
                    "old_outcome": r.outcome,
                    "new_outcome": g.outcome,
                    "created_at": now,
                }
            )
    stmt = (
        update(RESULT)
        .where(RESULT.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in _REGRADED_COLUMNS})
    )
    for batch in _chunks(updates, 1000):
        await conn.execute(stmt, list(batch))
    if changes:
        await conn.execute(insert(RESULT_CHANGE), changes)
    user_ids = sorted({c.user_id for c in outcome.changes})
    for id_chunk in _chunks(user_ids):
        for uid, username, name in await conn.execute(
            select(USER.c.id, USER.c.username, USER.c.full_name).where(USER.c.id.in_(list(id_chunk)))
        ):
            outcome.users[uid] = (username, name)


async def list_corrections(
    session: AsyncSession, item_version_id: int
) -> list[tuple[KeyCorrection, str | None]]:
    if await session.get(ItemVersion, item_version_id) is None:
        raise NotFound("Versi soal tidak ditemukan.", code="item_version_not_found")
    rows = (
        await session.exec(
            orm_select(KeyCorrection, User.username)
            .join(User, col(User.id) == col(KeyCorrection.actor_id))
            .where(KeyCorrection.item_version_id == item_version_id)
            .order_by(col(KeyCorrection.id))
        )
    ).all()
    return [(kc, username) for kc, username in rows]


# --- item analysis ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemMeta:
    item_version_id: int
    external_id: str
    version: int
    unit: str
    type: str


@dataclass(frozen=True)
class AnalysisReport:
    scope: str
    session_id: int | None
    scheme_code: str
    attempts: int
    items: list[tuple[ItemMeta, ItemStats, bool]]  # (meta, stats, voided)
    forms: list[tuple[str, FormStats]]
    pooled: FormStats | None


async def item_analysis(
    session: AsyncSession, *, session_id: int | None = None, scheme_code: str | None = None
) -> AnalysisReport:
    """Item statistics (p, corrected point-biserial, option counts, flags) and form statistics
    (KR-20, mean, SD, SEM) over the submitted and expired attempts of one session or of every
    session of a scheme. Items are scored against the key in force (a voided item against its
    key, so that its statistics still show what went wrong)."""
    conn = await session.connection()
    if session_id is not None:
        es = await _exam_session(session, session_id)
        scheme = await session.get(Scheme, es.scheme_id)
        assert scheme is not None
        session_ids = [session_id]
        scope = "session"
    else:
        scheme = (await session.exec(orm_select(Scheme).where(Scheme.code == (scheme_code or "")))).first()
        if scheme is None:
            raise NotFound(f"Skema '{scheme_code}' tidak ditemukan.", code="scheme_not_found")
        session_ids = list(
            (await conn.execute(select(EXAM_SESSION.c.id).where(EXAM_SESSION.c.scheme_id == scheme.id)))
            .scalars()
            .all()
        )
        scope = "scheme"
    attempts = await _closed_attempts(conn, session_ids, ANALYSED_STATUSES) if session_ids else []
    keys = await _keys(conn, (i for a in attempts for i in a.item_version_ids()))
    corrections = await _corrections(conn, keys)
    responses = await _responses_of_sessions(conn, session_ids, ANALYSED_STATUSES) if attempts else {}

    records: list[ItemRecord] = []
    rows_by_form: dict[tuple[int, ...], list[dict[int, int]]] = {}
    by_position: dict[int, list[list[int]]] = {}
    cache = ScoringCache(keys, corrections)
    for a in attempts:
        if a.form is None:
            continue
        try:
            _units, _pass, templates = build_scoring(a.form, keys, corrections, cache)
        except FormError:
            continue
        answers = responses.get(a.id, {})
        correct_by_ivid: dict[int, int] = {}
        row_by_position: list[tuple[int, int]] = []
        for t in templates:
            si = t.scoring
            if si.points <= 0:
                continue
            chosen = answers.get(si.key)
            right = is_correct(si, chosen)
            records.append(
                ItemRecord(
                    candidate=str(a.id),
                    item=str(t.item_version_id),
                    earned=si.points if right else 0,
                    points=si.points,
                    choice=chosen,
                )
            )
            correct_by_ivid[t.item_version_id] = int(right)
            row_by_position.append((t.position, int(right)))
        if not correct_by_ivid:
            continue
        rows_by_form.setdefault(tuple(sorted(correct_by_ivid)), []).append(correct_by_ivid)
        row = [v for _, v in sorted(row_by_position)]
        by_position.setdefault(len(row), []).append(row)

    option_ids = {str(k): list(v.option_ids) for k, v in keys.items() if v.type != "numeric"}
    seen = {r.item for r in records}
    stats = item_statistics(records, {k: v for k, v in option_ids.items() if k in seen})
    meta = await _item_meta(conn, [int(s.key) for s in stats])
    items_out = [
        (
            meta[int(s.key)],
            s,
            corrections.get(int(s.key)) is not None and corrections[int(s.key)].action == "void",
        )
        for s in stats
    ]
    items_out.sort(key=lambda t: (t[0].unit, t[0].external_id, t[0].version))

    forms: list[tuple[str, FormStats]] = []
    for ivids, rows in sorted(rows_by_form.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(rows) < 2:
            continue
        matrix = [[row[i] for i in ivids] for row in rows]
        form_id = hashlib.sha256(",".join(map(str, ivids)).encode()).hexdigest()[:10]
        forms.append((form_id, form_statistics(matrix)))
    pooled: FormStats | None = None
    if len(rows_by_form) > 1 and by_position:
        largest = max(by_position.values(), key=len)
        if len(largest) >= 2:
            pooled = form_statistics(largest)
    return AnalysisReport(
        scope=scope,
        session_id=session_id,
        scheme_code=scheme.code,
        attempts=len(attempts),
        items=items_out,
        forms=forms,
        pooled=pooled,
    )


async def _item_meta(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ItemMeta]:
    out: dict[int, ItemMeta] = {}
    for chunk in _chunks(sorted(set(ids))):
        rows = await conn.execute(
            select(
                ITEM_VERSION.c.id,
                ITEM.c.external_id,
                ITEM_VERSION.c.version,
                ITEM_VERSION.c.unit_code,
                ITEM_VERSION.c.type,
            )
            .join(ITEM, ITEM.c.id == ITEM_VERSION.c.item_id)
            .where(ITEM_VERSION.c.id.in_(list(chunk)))
        )
        for r in rows:
            out[r.id] = ItemMeta(
                item_version_id=r.id,
                external_id=r.external_id,
                version=r.version,
                unit=r.unit_code,
                type=r.type,
            )
    return out


def flag_texts(flags: Iterable[str]) -> list[str]:
    return [FLAG_LABELS.get(f, f) for f in flags]


# --- export --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultRow:
    nip: str | None
    full_name: str
    instansi: str | None
    username: str
    score: float
    outcome: str
    units: dict[str, float]


async def session_results(session: AsyncSession, exam_session_id: int) -> tuple[list[str], list[ResultRow]]:
    """The session's results with each candidate's identity, sorted by name; and the unit
    codes in the scheme's order."""
    await _exam_session(session, exam_session_id)
    conn = await session.connection()
    rows = (
        await conn.execute(
            select(
                USER.c.nip,
                USER.c.full_name,
                USER.c.instansi,
                USER.c.username,
                RESULT.c.score,
                RESULT.c.outcome,
                RESULT.c.units,
            )
            .join(USER, USER.c.id == RESULT.c.user_id)
            .where(RESULT.c.session_id == exam_session_id)
            .order_by(USER.c.full_name, USER.c.username)
        )
    ).all()
    codes: list[str] = []
    out: list[ResultRow] = []
    for r in rows:
        units: dict[str, float] = {}
        for u in r.units:
            code = str(u["code"])
            if code not in codes:
                codes.append(code)
            units[code] = float(u["score"])
        out.append(
            ResultRow(
                nip=r.nip,
                full_name=r.full_name,
                instansi=r.instansi,
                username=r.username,
                score=float(r.score),
                outcome=r.outcome,
                units=units,
            )
        )
    return codes, out
