"""The bulk reads that publishing, key corrections and item analysis share.

Bulk by design: a session's responses are read in one query (aggregated per attempt in the
database), item versions and key corrections in one query each (per ``CHUNK`` ids); nothing
runs a query per attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Table, Text, cast, exists, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import User
from apkd.banks.models import Item, ItemVersion
from apkd.dbtypes import table_of
from apkd.errors import Conflict, NotFound
from apkd.exams.models import Attempt, ExamSession, Response
from apkd.exams.states import CLOSED_STATUSES
from apkd.grading.grader import (
    CorrectionKey,
    FormError,
    FrozenForm,
    Graded,
    ItemKey,
    ScoringCache,
    decode_form,
    decode_responses,
    grade_attempt,
)
from apkd.grading.models import KeyCorrection, Result, ResultChange

ATTEMPT: Table = table_of(Attempt)
RESPONSE: Table = table_of(Response)
RESULT: Table = table_of(Result)
RESULT_CHANGE: Table = table_of(ResultChange)
ITEM_VERSION: Table = table_of(ItemVersion)
ITEM: Table = table_of(Item)
CORRECTION: Table = table_of(KeyCorrection)
EXAM_SESSION: Table = table_of(ExamSession)
USER: Table = table_of(User)

CHUNK = 5000  # ids per IN list (PostgreSQL allows 32767 parameters per statement)

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


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


async def closed_attempts(
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


async def attempts_by_id(conn: AsyncConnection, ids: Sequence[int]) -> list[ClosedAttempt]:
    out: list[ClosedAttempt] = []
    for chunk in chunks(sorted(ids)):
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


async def responses_of_sessions(
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


async def responses_of_attempts(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, dict[str, object]]:
    out: dict[int, dict[str, object]] = {}
    for chunk in chunks(sorted(ids)):
        rows = await conn.execute(_responses_by_attempt(conn).where(RESPONSE.c.attempt_id.in_(list(chunk))))
        out.update({attempt_id: decode_responses(answers) for attempt_id, answers in rows})
    return out


async def item_keys(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, ItemKey]:
    out: dict[int, ItemKey] = {}
    for chunk in chunks(sorted(set(ids))):
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


async def latest_corrections(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, CorrectionKey]:
    """The latest key correction of each of these item versions."""
    out: dict[int, CorrectionKey] = {}
    for chunk in chunks(sorted(set(ids))):
        rows = await conn.execute(
            select(CORRECTION.c.id, CORRECTION.c.item_version_id, CORRECTION.c.action, CORRECTION.c.answer)
            .where(CORRECTION.c.item_version_id.in_(list(chunk)))
            .order_by(CORRECTION.c.id)
        )
        for r in rows:
            out[r.item_version_id] = CorrectionKey(id=r.id, action=r.action, answer=r.answer)
    return out


async def exam_session_or_404(session: AsyncSession, exam_session_id: int) -> ExamSession:
    es = await session.get(ExamSession, exam_session_id)
    if es is None:
        raise NotFound("Sesi ujian tidak ditemukan.", code="session_not_found")
    return es


def grade_closed(a: ClosedAttempt, responses: dict[str, object], cache: ScoringCache) -> Graded:
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
