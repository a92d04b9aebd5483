"""Publishing a session's results: grade every closed attempt without a result, open the
results to the candidates, and have a credential issued to each who passed.

Results are written with one multi-row INSERT (a binary COPY on PostgreSQL). Publishing
serializes on ``publish:{session id}`` (a transaction advisory lock on PostgreSQL; SQLite
holds its single write lock from the first statement), and ``result.attempt_id`` is unique,
so two publishes at once grade each attempt once.

Publishing is the certification decision (ISO/IEC 17024): it is taken by a user holding the
decision permission who did not take part in examining the session (not its proctor, nor an
admin who acted as one); the session records who decided first and when, and every publish is
audited under its decider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.security import Principal
from apkd.accounts.service import holds_decision_permission
from apkd.db import serialize, utcnow
from apkd.errors import Forbidden
from apkd.exams.access import involvement
from apkd.exams.saving import GRACE, close_overdue
from apkd.exams.states import CLOSED_STATUSES, OPEN_STATUSES, AttemptState
from apkd.grading import effects
from apkd.grading.grader import Graded, ScoringCache, encode_json
from apkd.grading.loading import (
    ATTEMPT,
    RESULT,
    ClosedAttempt,
    chunks,
    closed_attempts,
    exam_session_or_404,
    grade_closed,
    item_keys,
    latest_corrections,
    responses_of_sessions,
)

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
    for chunk in chunks(rows, 500):
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
    decided_by: int | None
    decided_at: datetime | None


async def _graded(
    conn: AsyncConnection, exam_session_id: int, attempts: list[ClosedAttempt]
) -> list[tuple[ClosedAttempt, Graded]]:
    """Each closed, ungraded attempt with its grade, computed in memory with the keys in force
    (key corrections applied): what publishing stores and what its preview counts."""
    if not attempts:
        return []
    keys = await item_keys(conn, (i for a in attempts for i in a.item_version_ids()))
    corrections = await latest_corrections(conn, keys)
    responses = await responses_of_sessions(conn, [exam_session_id], CLOSED_STATUSES, ungraded_only=True)
    cache = ScoringCache(keys, corrections)
    return [(a, grade_closed(a, responses.get(a.id, {}), cache)) for a in attempts]


async def check_decider(session: AsyncSession, exam_session_id: int, decider: Principal) -> None:
    """Refuse (403) a decider without the decision permission or involved in the session."""
    if not await holds_decision_permission(session, decider.user_id):
        raise Forbidden("Anda tidak memiliki wewenang keputusan sertifikasi.", code="no_decision_permission")
    how = await involvement(session, exam_session_id, decider.user_id)
    if how is not None:
        raise Forbidden(
            f"Keputusan sertifikasi harus diambil oleh orang yang tidak menguji peserta: Anda {how}.",
            code="decider_involved",
        )


async def publish(
    session: AsyncSession,
    exam_session_id: int,
    *,
    decider: Principal,
    now: datetime | None = None,
) -> PublishOutcome:
    """Take the certification decision for the session: grade every closed attempt that has
    no result yet, open the results to the candidates, and have a credential issued to each
    who passed. Idempotent. ``decider`` must hold the decision permission and not have been
    involved in the session (403 otherwise)."""
    now = now or utcnow()
    actor = decider.username
    es = await exam_session_or_404(session, exam_session_id)
    await check_decider(session, exam_session_id, decider)
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
    attempts = await closed_attempts(conn, [exam_session_id], ungraded_only=True)
    still_open = (
        await conn.execute(
            select(func.count())
            .select_from(ATTEMPT)
            .where(ATTEMPT.c.session_id == exam_session_id, ATTEMPT.c.status.in_(OPEN_STATUSES))
        )
    ).scalar_one()

    newly_passed = 0
    if attempts:
        rows = []
        for a, g in await _graded(conn, exam_session_id, attempts):
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
        es.decided_by, es.decided_at = decider.user_id, now
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
                "decided_by": actor,
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
        decided_by=es.decided_by,
        decided_at=es.decided_at,
    )


@dataclass(frozen=True)
class PublishPreview:
    to_grade: int  # closed attempts without a result: graded by the publish
    would_pass: int  # of those, how many pass with the keys in force
    overdue: int  # attempts past their deadline: the publish closes them and grades them too
    still_open: int  # attempts still running (not graded by this publish)
    already_graded: int
    already_passed: int
    credentials_to_issue: int  # the passing results that have no credential yet, new or old
    published_at: datetime | None
    may_publish: bool
    refusal: str | None  # why this caller may not publish (decider rules), in Indonesian


async def preview(
    session: AsyncSession, exam_session_id: int, *, caller: Principal, now: datetime | None = None
) -> PublishPreview:
    """What :func:`publish` would do now, without writing anything: the attempts it grades and
    how many of them pass (graded in memory with the keys in force), the overdue attempts it
    closes first, and the credentials it has issued. Says whether ``caller`` may publish."""
    now = now or utcnow()
    es = await exam_session_or_404(session, exam_session_id)
    conn = await session.connection()
    attempts = await closed_attempts(conn, [exam_session_id], ungraded_only=True)
    would_pass = sum(1 for _, g in await _graded(conn, exam_session_id, attempts) if g.passed)
    open_rows = (
        await conn.execute(
            select(ATTEMPT.c.status, ATTEMPT.c.deadline).where(
                ATTEMPT.c.session_id == exam_session_id, ATTEMPT.c.status.in_(OPEN_STATUSES)
            )
        )
    ).all()
    overdue = sum(1 for st, dl in open_rows if st == AttemptState.IN_PROGRESS and _aware(dl) < now - GRACE)
    passed_ids = list(
        (
            await conn.execute(
                select(RESULT.c.id).where(RESULT.c.session_id == exam_session_id, RESULT.c.passed.is_(True))
            )
        )
        .scalars()
        .all()
    )
    graded = (
        await conn.execute(
            select(func.count()).select_from(RESULT).where(RESULT.c.session_id == exam_session_id)
        )
    ).scalar_one()
    counter = getattr(effects.current(), "count_unissued", None)
    unissued = await counter(session, passed_ids) if counter is not None else len(passed_ids)
    refusal: str | None = None
    try:
        await check_decider(session, exam_session_id, caller)
    except Forbidden as exc:
        refusal = exc.detail
    return PublishPreview(
        to_grade=len(attempts),
        would_pass=would_pass,
        overdue=overdue,
        still_open=len(open_rows) - overdue,
        already_graded=int(graded),
        already_passed=len(passed_ids),
        credentials_to_issue=unissued + would_pass,
        published_at=es.results_published_at,
        may_publish=refusal is None,
        refusal=refusal,
    )


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
