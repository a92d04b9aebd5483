"""The hot path: saving one response, and closing overdue attempts.

A save is one database round trip on PostgreSQL: a single autocommit statement (sent through a
small asyncpg pool of its own, see :func:`apkd.db.direct_pool`) whose CTEs
(1) touch the attempt row only if it is this candidate's, in progress, bound to this login and
within deadline + grace, (2) upsert the response only if ``seq`` is above the stored one, and
(3) append the accepted write to ``response_history``. The statement commits before the 200 is
sent. When nothing was written, a second query (error path only) tells which error applies.
On SQLite the same three steps run in one short ``BEGIN IMMEDIATE`` transaction.

Responses are checked against the item's type and option ids taken from the attempt's frozen
form, cached in process memory per attempt: a form never changes once the attempt started, so
the cache is safe across workers. The cached copy carries the attempt's seed, which the save
statement checks, so a copy that belongs to another attempt (an id reused after a database
was emptied, as tests do) is never trusted: it is dropped and read again.

Expiry: an attempt whose deadline + grace has passed is closed as ``expired`` by one
conditional UPDATE (``WHERE status = 'in_progress' AND deadline < now - grace``). Several
workers (or databases sharing nothing but PostgreSQL) may run it at once: each row is closed
by exactly one of them, and the answers stay.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.security import Principal
from apkd.banks.models import ItemVersion
from apkd.db import UTCDateTime, direct_pool, sqlite_write_lock, utcnow
from apkd.dbtypes import table_of
from apkd.errors import Conflict, Forbidden, NotFound, Unprocessable
from apkd.exams.models import Attempt, AttemptRelease, Response
from apkd.exams.responses import ResponseError, validate_response
from apkd.exams.states import OPEN_STATUSES, AttemptState
from apkd.exams.timing import GRACE_SECONDS

GRACE = timedelta(seconds=GRACE_SECONDS)
MAX_SEQ = 2**63 - 1
MAX_ID = 2**31 - 1  # ids are INTEGER columns

ATTEMPT: Table = table_of(Attempt)
RESPONSE: Table = table_of(Response)
RELEASE: Table = table_of(AttemptRelease)


# --- caches (immutable data only) -------------------------------------------------------------


@dataclass(frozen=True)
class FormInfo:
    """What a save needs from an attempt's frozen form."""

    user_id: int
    session_id: int
    seed: int  # checked by the save statement: a stale cache entry can never be used
    items: dict[int, tuple[str, tuple[str, ...]]]  # position -> (type, option ids)


@dataclass(frozen=True)
class ItemContent:
    """The candidate-facing content of one item version (never the key)."""

    type: str
    stem: str
    options: dict[str, str]


_MAX_CACHED = 100_000
_forms: dict[int, FormInfo] = {}


def _remember(cache: dict[int, Any], key: int, value: Any) -> None:
    if len(cache) >= _MAX_CACHED:
        cache.clear()
    cache[key] = value


def form_info_from(user_id: int, session_id: int, seed: int, form: dict[str, Any]) -> FormInfo:
    items = {
        int(it["position"]): (str(it["type"]), tuple(str(o) for o in it.get("option_order", [])))
        for it in form.get("items", [])
    }
    return FormInfo(user_id=user_id, session_id=session_id, seed=seed, items=items)


def cache_form(attempt_id: int, info: FormInfo) -> None:
    _remember(_forms, attempt_id, info)


# What a save needs of a form, extracted by PostgreSQL: a fraction of the form's JSON to decode.
_PG_FORM_INFO = """
SELECT user_id, session_id, seed,
       (SELECT json_agg(json_build_array(i -> 'position', i -> 'type', i -> 'option_order'))
          FROM json_array_elements(form -> 'items') AS i) AS items
  FROM attempt WHERE id = $1
"""


async def _form_info(engine: AsyncEngine, attempt_id: int, *, fresh: bool = False) -> FormInfo | None:
    info = None if fresh else _forms.get(attempt_id)
    if info is not None:
        return info
    if not 0 < attempt_id <= MAX_ID:
        return None  # not an id the column can hold: no such attempt
    if engine.dialect.name == "postgresql":
        # A miss on the save path (the other worker started the attempt, or this one restarted):
        # one statement on the direct pool, beside the save's own.
        pool = await direct_pool(engine)
        found = await pool.fetchrow(_PG_FORM_INFO, attempt_id)
        if found is None:
            return None
        items = {
            int(pos): (str(type_), tuple(str(o) for o in order or ()))
            for pos, type_, order in json.loads(found["items"] or "[]")
        }
        info = FormInfo(
            user_id=found["user_id"], session_id=found["session_id"], seed=found["seed"], items=items
        )
        cache_form(attempt_id, info)
        return info
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(ATTEMPT.c.user_id, ATTEMPT.c.session_id, ATTEMPT.c.seed, ATTEMPT.c.form).where(
                    ATTEMPT.c.id == attempt_id
                )
            )
        ).first()
        await conn.rollback()
    if row is None:
        return None
    info = form_info_from(row.user_id, row.session_id, row.seed, row.form)
    cache_form(attempt_id, info)
    return info


async def item_contents(session: AsyncSession, ids: list[int]) -> dict[int, ItemContent]:
    """Item versions' candidate-facing content (type, stem, options; never the key)."""
    conn = await session.connection()
    iv: Table = table_of(ItemVersion)
    rows = (
        await conn.execute(select(iv.c.id, iv.c.type, iv.c.stem, iv.c.options).where(iv.c.id.in_(ids)))
    ).all()
    return {r.id: item_content(r.type, r.stem, r.options) for r in rows}


def item_content(type_: str, stem: str, options: list[list[str]]) -> ItemContent:
    return ItemContent(type=type_, stem=stem, options={str(k): str(v) for k, v in options})


# --- expiry ------------------------------------------------------------------------------------


async def close_overdue(
    session: AsyncSession,
    now: datetime | None = None,
    *,
    session_id: int | None = None,
    attempt_id: int | None = None,
    commit: bool = True,
) -> int:
    """Close every attempt in progress whose deadline + grace is before ``now`` as ``expired``.

    One conditional UPDATE: safe when several workers sweep at once (each attempt is closed
    once). ``closed_at`` is the deadline itself. Answers are kept. Restrict to one exam
    session or one attempt with ``session_id`` / ``attempt_id``. Returns how many it closed.

    Commits at once when it closed any (unless ``commit=False``): an early commit allowed by
    docs/decisions. An expiry is a fact of the clock, not part of the request that noticed it:
    it must stand even when that request then fails (a late submit answers 409 and rolls
    back), and the audit chain's lock it takes must not be held through a publish's grading.
    """
    now = now or utcnow()
    stmt = (
        update(ATTEMPT)
        .where(ATTEMPT.c.status == AttemptState.IN_PROGRESS, ATTEMPT.c.deadline < now - GRACE)
        .values(status=AttemptState.EXPIRED, closed_at=ATTEMPT.c.deadline, close_reason="deadline")
        .returning(ATTEMPT.c.id, ATTEMPT.c.session_id)
    )
    if session_id is not None:
        stmt = stmt.where(ATTEMPT.c.session_id == session_id)
    if attempt_id is not None:
        stmt = stmt.where(ATTEMPT.c.id == attempt_id)
    conn = await session.connection()
    rows = (await conn.execute(stmt)).all()
    by_session: dict[int, list[int]] = {}
    for r in rows:
        by_session.setdefault(r.session_id, []).append(r.id)
    for sid, ids in sorted(by_session.items()):
        await audit.record(
            session,
            "attempt.expired",
            "exam_session",
            sid,
            actor=None,
            details={"attempt_ids": sorted(ids), "reason": "deadline"},
        )
    if commit and rows:
        await session.commit()
    return len(rows)


# --- saving ------------------------------------------------------------------------------------

_PG_SAVE = text(
    """
WITH a AS (
  UPDATE attempt
     SET last_saved_at = CAST(:now AS timestamptz),
         current_position = COALESCE(CAST(:cp AS integer), current_position)
   WHERE id = CAST(:aid AS integer) AND user_id = CAST(:uid AS integer)
     AND seed = CAST(:seed AS bigint)
     AND status = 'in_progress' AND bound_sid = CAST(:sid AS varchar)
     AND deadline >= CAST(:limit AS timestamptz)
  RETURNING id
), up AS (
  INSERT INTO response (attempt_id, position, response, seq, flagged, saved_at)
  SELECT a.id, CAST(:pos AS integer), CAST(:resp AS json), CAST(:seq AS bigint),
         COALESCE(CAST(:flagged AS boolean), false), CAST(:now AS timestamptz)
    FROM a
  ON CONFLICT (attempt_id, position) DO UPDATE
     SET response = excluded.response, seq = excluded.seq, saved_at = excluded.saved_at,
         flagged = COALESCE(CAST(:flagged AS boolean), response.flagged)
   WHERE response.seq < excluded.seq
  RETURNING attempt_id
), h AS (
  INSERT INTO response_history (attempt_id, position, response, seq, sid, saved_at)
  SELECT up.attempt_id, CAST(:pos AS integer), CAST(:resp AS json), CAST(:seq AS bigint),
         CAST(:sid AS varchar), CAST(:now AS timestamptz)
    FROM up
  RETURNING 1
)
SELECT (SELECT count(*) FROM a) AS attempt_ok, (SELECT count(*) FROM h) AS written
"""
).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("limit", type_=UTCDateTime()))

_SQLITE_TOUCH = text(
    """
UPDATE attempt SET last_saved_at = :now, current_position = COALESCE(:cp, current_position)
 WHERE id = :aid AND user_id = :uid AND seed = :seed AND status = 'in_progress' AND bound_sid = :sid
   AND deadline >= :limit
RETURNING id
"""
).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("limit", type_=UTCDateTime()))

_SQLITE_UPSERT = text(
    """
INSERT INTO response (attempt_id, position, response, seq, flagged, saved_at)
VALUES (:aid, :pos, :resp, :seq, COALESCE(:flagged, 0), :now)
ON CONFLICT (attempt_id, position) DO UPDATE
   SET response = excluded.response, seq = excluded.seq, saved_at = excluded.saved_at,
       flagged = COALESCE(:flagged, response.flagged)
 WHERE response.seq < excluded.seq
RETURNING attempt_id
"""
).bindparams(bindparam("now", type_=UTCDateTime()))

_SQLITE_HISTORY = text(
    """
INSERT INTO response_history (attempt_id, position, response, seq, sid, saved_at)
VALUES (:aid, :pos, :resp, :seq, :sid, :now)
"""
).bindparams(bindparam("now", type_=UTCDateTime()))


@dataclass(frozen=True)
class Saved:
    position: int
    seq: int
    saved_at: datetime
    # The response as stored (normalised: "75.000" typed is 75000), for the page to show back.
    response: Any = None


def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` placeholders -> asyncpg's ``$n`` (each name numbered once)."""
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    return re.sub(r"(?<![:\w]):([a-z_]+)", number, sql), tuple(names)


_PG_SAVE_SQL, _PG_SAVE_ARGS = numbered(_PG_SAVE.text)


async def _write_postgres(engine: AsyncEngine, params: dict[str, Any]) -> bool:
    # One statement outside any transaction: it commits on its own (autocommit) before the
    # row comes back, in one round trip.
    pool = await direct_pool(engine)
    row = await pool.fetchrow(_PG_SAVE_SQL, *(params[name] for name in _PG_SAVE_ARGS))
    return bool(row["written"])


async def _write_sqlite(engine: AsyncEngine, params: dict[str, Any]) -> bool:
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            if (await conn.execute(_SQLITE_TOUCH, params)).first() is None:
                await trans.rollback()
                return False
            if (await conn.execute(_SQLITE_UPSERT, params)).first() is None:
                await trans.rollback()
                return False
            await conn.execute(_SQLITE_HISTORY, params)
            await trans.commit()
            return True
        except BaseException:
            if trans.is_active:
                await trans.rollback()
            raise


async def save_response(
    engine: AsyncEngine,
    attempt_id: int,
    position: int,
    principal: Principal,
    *,
    response: object,
    seq: int,
    current_position: int | None = None,
    flagged: bool | None = None,
    now: datetime | None = None,
) -> Saved:
    """Save one response durably (committed before returning) or raise the error that applies."""
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        raise Unprocessable("Nomor urut simpan (seq) harus bilangan bulat 0 atau lebih.", code="invalid_seq")
    is_pg = engine.dialect.name == "postgresql"
    fresh = False
    for _ in range(4):
        info = await _form_info(engine, attempt_id, fresh=fresh)
        try:
            if info is None:
                raise NotFound("Ujian tidak ditemukan.", code="attempt_not_found")
            if info.user_id != principal.user_id:
                raise Forbidden("Ujian ini bukan milik Anda.", code="not_your_attempt")
            item = info.items.get(position)
            if item is None:
                raise NotFound(f"Soal nomor {position} tidak ada pada ujian ini.", code="item_not_found")
            if current_position is not None and current_position not in info.items:
                raise Unprocessable(
                    f"Nomor soal yang sedang dibuka ({current_position}) tidak ada pada ujian ini.",
                    code="invalid_position",
                )
            try:
                value = validate_response(item[0], item[1], response)
            except ResponseError as exc:
                raise Unprocessable(exc.message, code="invalid_response") from exc
        except (NotFound, Forbidden, Unprocessable):
            if fresh:
                raise
            fresh = True  # refuse only on what the database says, not on a cached copy
            continue
        assert info is not None
        at = now or utcnow()
        params = {
            "aid": attempt_id,
            "uid": principal.user_id,
            "sid": principal.sid,
            "seed": info.seed,
            "pos": position,
            "resp": json.dumps(value),
            "seq": seq,
            "cp": current_position,
            "flagged": flagged,
            "now": at,
            "limit": at - GRACE,
        }
        if is_pg:
            written = await _write_postgres(engine, params)
        else:
            async with sqlite_write_lock(engine):
                written = await _write_sqlite(engine, params)
        if written:
            return Saved(position=position, seq=seq, saved_at=at, response=value)
        # Raises the error that applies; returns when a retry may succeed (the attempt was
        # released and is now bound to this login, a proctor resumed it meanwhile, or the
        # cached form did not match the attempt's seed and was dropped).
        await _explain_refusal(engine, attempt_id, position, principal, seq, at, info.seed)
    raise Conflict("Jawaban tidak dapat disimpan. Muat ulang halaman ujian.", code="save_failed")


async def _explain_refusal(
    engine: AsyncEngine,
    attempt_id: int,
    position: int,
    principal: Principal,
    seq: int,
    now: datetime,
    seed: int,
) -> None:
    """Raise the error that explains why nothing was written, or return when a retry may
    succeed (a released attempt was just bound to this login)."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        conn = await session.connection()
        row = (
            await conn.execute(
                select(
                    ATTEMPT.c.status,
                    ATTEMPT.c.user_id,
                    ATTEMPT.c.bound_sid,
                    ATTEMPT.c.deadline,
                    ATTEMPT.c.session_id,
                    ATTEMPT.c.seed,
                    RESPONSE.c.seq,
                )
                .select_from(
                    ATTEMPT.outerjoin(
                        RESPONSE, (RESPONSE.c.attempt_id == ATTEMPT.c.id) & (RESPONSE.c.position == position)
                    )
                )
                .where(ATTEMPT.c.id == attempt_id)
            )
        ).first()
        if row is None:
            _forms.pop(attempt_id, None)
            raise NotFound("Ujian tidak ditemukan.", code="attempt_not_found")
        if row.seed != seed:
            # The cached form belongs to another attempt that had this id (a database that was
            # emptied and refilled, as tests do): drop it and let the caller start over.
            _forms.pop(attempt_id, None)
            return
        if row.user_id != principal.user_id:
            raise Forbidden("Ujian ini bukan milik Anda.", code="not_your_attempt")
        if row.status == AttemptState.IN_PROGRESS and row.deadline < now - GRACE:
            await close_overdue(session, now, attempt_id=attempt_id)
            raise_closed(AttemptState.EXPIRED)
        if row.status not in OPEN_STATUSES:
            raise_closed(row.status)
        if row.bound_sid != principal.sid:
            if row.bound_sid == "" and await bind_login(session, attempt_id, row.session_id, principal):
                await session.commit()  # the save path's own session: its own unit of work
                return
            await raise_not_bound(session, attempt_id, principal)
        if row.status == AttemptState.PAUSED:
            raise Conflict(
                "Ujian sedang dihentikan sementara oleh pengawas. Tunggu sampai dilanjutkan.",
                code="attempt_paused",
            )
        if row.seq is not None and row.seq >= seq:
            raise Conflict(
                f"Jawaban ini lebih lama dari yang sudah tersimpan (seq {seq} <= {row.seq}).",
                code="stale_seq",
                extra={"stored_seq": row.seq},
            )
        await session.rollback()


def raise_closed(status: str) -> NoReturn:
    why = _CLOSED_WHY.get(status, "Ujian sudah ditutup.")
    raise Conflict(
        f"{why} Jawaban tidak dapat diubah lagi.", code="attempt_closed", extra={"attempt_status": status}
    )


_CLOSED_WHY: dict[str, str] = {
    AttemptState.SUBMITTED: "Ujian sudah dikumpulkan.",
    AttemptState.EXPIRED: "Waktu ujian sudah habis.",
    AttemptState.TERMINATED: "Ujian telah dihentikan oleh pengawas.",
}


async def _released(session: AsyncSession, attempt_id: int, sid: str) -> bool:
    conn = await session.connection()
    stmt = select(RELEASE.c.sid).where(RELEASE.c.attempt_id == attempt_id, RELEASE.c.sid == sid)
    return (await conn.execute(stmt)).first() is not None


MOVED_TEXT = "Ujian dipindahkan ke komputer lain — tutup halaman ini."


async def raise_not_bound(session: AsyncSession, attempt_id: int, principal: Principal) -> NoReturn:
    """The attempt is held by another login (409 ``other_device``), or this login is one the
    attempt was released from: refused for good (409 ``attempt_moved``)."""
    if await _released(session, attempt_id, principal.sid):
        raise Conflict(MOVED_TEXT, code="attempt_moved")
    raise_other_device()


def raise_other_device() -> NoReturn:
    raise Conflict(
        "Ujian ini sedang dikerjakan dari perangkat/login lain. Minta pengawas melepaskannya "
        "bila Anda berpindah komputer.",
        code="other_device",
    )


async def bind_login(
    session: AsyncSession, attempt_id: int, exam_session_id: int, principal: Principal
) -> bool:
    """Bind a released attempt (``bound_sid = ''``) to this login; audited. True if it bound.

    A login the attempt was released from never binds it again (409 ``attempt_moved``): only a
    new login, on the computer the candidate moved to, takes it."""
    if await _released(session, attempt_id, principal.sid):
        raise Conflict(MOVED_TEXT, code="attempt_moved")
    conn = await session.connection()
    res = await conn.execute(
        update(ATTEMPT)
        .where(ATTEMPT.c.id == attempt_id, ATTEMPT.c.bound_sid == "", ATTEMPT.c.status.in_(OPEN_STATUSES))
        .values(bound_sid=principal.sid)
    )
    if res.rowcount != 1:
        return False
    await audit.record(
        session,
        "attempt.bound",
        "attempt",
        attempt_id,
        actor=principal.username,
        details={"session_id": exam_session_id},
    )
    return True
