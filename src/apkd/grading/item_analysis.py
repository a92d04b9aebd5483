"""Item analysis over the submitted and expired attempts of a session or of a whole scheme:
the data gathered here, the statistics computed by the pure :mod:`apkd.grading.analysis`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select as orm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.banks.models import Scheme
from apkd.errors import NotFound
from apkd.grading.analysis import (
    FLAG_LABELS,
    FormStats,
    ItemRecord,
    ItemStats,
    form_statistics,
    item_statistics,
)
from apkd.grading.grader import FormError, ScoringCache, build_scoring
from apkd.grading.loading import (
    EXAM_SESSION,
    ITEM,
    ITEM_VERSION,
    chunks,
    closed_attempts,
    exam_session_or_404,
    item_keys,
    latest_corrections,
    responses_of_sessions,
)
from apkd.grading.scoring import is_correct

# Statuses whose answers item analysis looks at: a terminated attempt says little about items.
ANALYSED_STATUSES = ("submitted", "expired")


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
        es = await exam_session_or_404(session, session_id)
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
    attempts = await closed_attempts(conn, session_ids, ANALYSED_STATUSES) if session_ids else []
    keys = await item_keys(conn, (i for a in attempts for i in a.item_version_ids()))
    corrections = await latest_corrections(conn, keys)
    responses = await responses_of_sessions(conn, session_ids, ANALYSED_STATUSES) if attempts else {}

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
    for chunk in chunks(sorted(set(ids))):
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
