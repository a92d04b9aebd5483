"""Key corrections: rekey or void an item version, then regrade every result that used it.

Regrading reads in bulk and writes with one executemany UPDATE. A correction takes
``corrections:{scheme id}`` and then the publish lock of every session of the scheme (in id
order), so a publish never grades with a key that a concurrent correction is replacing.
Outcome changes are recorded (``result_change``), audited and acted on (credentials issued or
revoked through :mod:`apkd.grading.effects`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import Text, bindparam, cast, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from sqlmodel import select as orm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import User
from apkd.accounts.security import Principal
from apkd.banks.models import Item, ItemVersion
from apkd.db import serialize, utcnow
from apkd.errors import Conflict, NotFound, Unprocessable
from apkd.grading import effects
from apkd.grading.grader import CorrectionKey, InvalidKey, ScoringCache, validate_key
from apkd.grading.loading import (
    EXAM_SESSION,
    RESULT,
    RESULT_CHANGE,
    USER,
    attempts_by_id,
    chunks,
    grade_closed,
    item_keys,
    latest_corrections,
    responses_of_attempts,
)
from apkd.grading.models import KeyCorrection
from apkd.grading.scoring import Outcome
from apkd.textrules import clean_reason

CORRECTION_ACTIONS = ("rekey", "void")


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


async def correct_key(
    session: AsyncSession,
    item_version_id: int,
    *,
    action: str,
    reason: str,
    answer: object = None,
    answer_given: bool = False,
    actor: Principal,
    preview: bool = False,
) -> CorrectionOutcome:
    """Correct the key of an item version (``rekey``) or void it (``void``), then regrade every
    result that used it; outcome changes are recorded, audited and acted on (credentials).
    ``preview``: the same checks and the same regrading in memory, writing nothing: the
    outcome says which results would change (``correction_id`` 0, no credential counts)."""
    if action not in CORRECTION_ACTIONS:
        raise Unprocessable("Tindakan koreksi harus 'rekey' atau 'void'.", code="invalid_action")
    reason = clean_reason(reason, label="Alasan koreksi")
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

    previous = (await latest_corrections(conn, [item_version_id])).get(item_version_id)
    answer_now, voided_now = (
        (iv.answer, False)
        if previous is None
        else ((iv.answer, True) if previous.action == "void" else (previous.answer, False))
    )
    if action == "void" and voided_now:
        raise Conflict("Soal ini sudah dibatalkan.", code="already_voided")
    if action == "rekey" and not voided_now and _same_key(iv.type, answer_now, new_answer):
        raise Conflict("Kunci baru sama dengan kunci yang berlaku.", code="key_unchanged")

    if preview:
        outcome = CorrectionOutcome(
            correction_id=0, item_version_id=item_version_id, action=action, regraded=0
        )
        if session_ids:
            override = CorrectionKey(id=0, action=action, answer=new_answer if action == "rekey" else None)
            await _regrade(conn, item_version_id, session_ids, None, outcome, override=override)
        return outcome

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
        await _regrade(conn, item_version_id, session_ids, kc.id, outcome)
    await _follow_up(session, outcome, actor.username)
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


async def _follow_up(session: AsyncSession, outcome: CorrectionOutcome, actor: str) -> None:
    """Credentials follow the changed outcomes: issued to the newly passed, revoked from the others."""
    newly = [c.result_id for c in outcome.newly_passed]
    lost = [c.result_id for c in outcome.no_longer_passed]
    if lost:
        outcome.credentials_revoked = await effects.current().revoke_regraded(session, lost, actor=actor)
    if newly:
        outcome.credentials_issued = await effects.current().issue(session, newly, actor=actor)


async def regrade_results(
    session: AsyncSession, result_ids: list[int], *, actor: Principal, reason: str
) -> CorrectionOutcome:
    """Grade these results again with the keys in force (e.g. an upheld appeal); changes are
    recorded (``result_change`` without a correction), audited and acted on (credentials)."""
    reason = clean_reason(reason, label="Alasan penilaian ulang")
    conn = await session.connection()
    session_ids = sorted(
        set((await conn.execute(select(RESULT.c.session_id).where(RESULT.c.id.in_(result_ids)))).scalars())
    )
    for sid in session_ids:  # no publish or correction of these sessions meanwhile
        await serialize(session, f"publish:{sid}")
    rows = (await conn.execute(_RESULT_ROWS.where(RESULT.c.id.in_(result_ids)))).all()
    if not rows or len(rows) != len(set(result_ids)):
        raise NotFound("Hasil ujian tidak ditemukan.", code="result_not_found")
    outcome = CorrectionOutcome(correction_id=0, item_version_id=0, action="regrade", regraded=0)
    await _regrade_rows(conn, list(rows), None, outcome)
    await _follow_up(session, outcome, actor.username)
    await audit.record(
        session,
        "result.regraded",
        "result",
        result_ids[0] if len(result_ids) == 1 else 0,
        actor=actor.username,
        details={
            "result_ids": sorted(result_ids),
            "reason": reason,
            "changed_attempt_ids": [c.attempt_id for c in outcome.changes],
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

_RESULT_ROWS = select(
    RESULT.c.id,
    RESULT.c.attempt_id,
    RESULT.c.user_id,
    RESULT.c.score,
    RESULT.c.outcome,
    cast(RESULT.c["items"], Text).label("graded_items"),
    RESULT.c.revision,
)

_REGRADED_COLUMNS = ("score", "passed", "outcome", "units", "items", "reason", "revision", "graded_at")


async def _regrade(
    conn: AsyncConnection,
    item_version_id: int,
    session_ids: list[int],
    correction_id: int | None,
    outcome: CorrectionOutcome,
    *,
    override: CorrectionKey | None = None,
) -> None:
    results = (await conn.execute(_RESULT_ROWS.where(RESULT.c.session_id.in_(session_ids)))).all()
    affected = [
        r
        for r in results
        if any(i.item_version_id == item_version_id for i in _ITEM_REFS.decode(r.graded_items))
    ]
    overrides = {item_version_id: override} if override is not None else None
    await _regrade_rows(conn, affected, correction_id, outcome, overrides=overrides)


async def _regrade_rows(
    conn: AsyncConnection,
    affected: list[Any],
    correction_id: int | None,
    outcome: CorrectionOutcome,
    *,
    overrides: dict[int, CorrectionKey] | None = None,
) -> None:
    """Grade these result rows again with the keys in force; store, record and sort the changes.
    ``overrides`` (a preview): grade with these corrections in place of the stored ones, and
    store nothing."""
    outcome.regraded = len(affected)
    if not affected:
        return
    attempts = {a.id: a for a in await attempts_by_id(conn, [r.attempt_id for r in affected])}
    keys = await item_keys(conn, (i for a in attempts.values() for i in a.item_version_ids()))
    corrections = await latest_corrections(conn, keys)
    if overrides is not None:
        corrections = {**corrections, **overrides}
    responses = await responses_of_attempts(conn, list(attempts))
    now = utcnow()
    updates: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    cache = ScoringCache(keys, corrections)
    for r in affected:
        a = attempts[r.attempt_id]
        g = grade_closed(a, responses.get(a.id, {}), cache)
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
                (outcome.newly_passed if g.outcome == Outcome.KOMPETEN else outcome.no_longer_passed).append(
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
    if overrides is None:
        stmt = (
            update(RESULT)
            .where(RESULT.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in _REGRADED_COLUMNS})
        )
        for batch in chunks(updates, 1000):
            await conn.execute(stmt, list(batch))
        if changes:
            await conn.execute(insert(RESULT_CHANGE), changes)
    user_ids = sorted({c.user_id for c in outcome.changes})
    for id_chunk in chunks(user_ids):
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
