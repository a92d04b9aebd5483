"""Attempts: start (form drawn and frozen), view, status and submit.

Time comes from ``now`` (default :func:`apkd.db.utcnow`), so tests can move the clock.
Grace: a save or submit up to ``GRACE_SECONDS`` (10 s) after the deadline is still accepted:
a request in flight when time runs out is not lost. Attempts are closed as ``expired`` once
deadline + grace has passed, by the sweeper (every worker runs one; the conditional UPDATE
makes that safe) or by the next access. Saving a response is :mod:`apkd.exams.saving`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Engine, Float, Integer, String, column, insert, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import Role
from apkd.accounts.security import Principal
from apkd.banks.models import SchemeUnit
from apkd.banks.service import DrawRules, current_pool, draw_rules
from apkd.db import UTCDateTime, direct_pool, is_postgres, utcnow
from apkd.errors import Conflict, Forbidden, NotFound
from apkd.exams import gates, saving
from apkd.exams.access import candidate_access, expire_if_overdue, get_attempt_for, reload_attempt
from apkd.exams.assembly import (
    ASSEMBLY_VERSION,
    AssemblyError,
    PoolItem,
    UnitBlueprint,
    assemble_form,
    new_seed,
)
from apkd.exams.clocks import deadline_now, iso, local_text, remaining
from apkd.exams.models import Attempt, Response
from apkd.exams.saving import ATTEMPT, GRACE, raise_closed, raise_not_bound
from apkd.exams.schemas import AttemptItem, AttemptStatus, AttemptView, OptionPublic, SubmitResult
from apkd.exams.states import CLOSED_STATUSES, AttemptState, RegistrationState

# --- attempts: start and view ------------------------------------------------------------------------


# One round trip for everything a start needs to decide: the session, its scheme, the caller's
# registration and attempt, and a fingerprint of the scheme's active item versions (a bank
# import adds versions or retires items, which changes it).
_START_SQL = """
SELECT e.starts_at, e.ends_at, e.timezone, e.scheme_id,
       r.id AS reg_id, r.status AS reg_status, a.id AS attempt_id,
       s.code, s.version, s.title, s.position, s.pass_score, s.duration_minutes,
       s.validity_months, s.content_hash,
       (SELECT count(*) || ':' || coalesce(max(iv.id), 0) || ':'
               || coalesce(sum(i.id * 1000003 + iv.id), 0) || ':'
               || coalesce(CAST(max(iv.created_at) AS TEXT), '')
          FROM item i JOIN item_version iv ON iv.item_id = i.id
         WHERE i.scheme_id = e.scheme_id AND i.retired_at IS NULL) AS fingerprint
  FROM exam_session e
  JOIN scheme s ON s.id = e.scheme_id
  LEFT JOIN registration r ON r.session_id = e.id AND r.user_id = :uid
  LEFT JOIN attempt a ON a.registration_id = r.id
 WHERE e.id = :sid
"""
_START_LOOKUP = text(_START_SQL).columns(
    column("starts_at", UTCDateTime()),
    column("ends_at", UTCDateTime()),
    column("timezone", String()),
    column("scheme_id", Integer()),
    column("reg_id", Integer()),
    column("reg_status", String()),
    column("attempt_id", Integer()),
    column("code", String()),
    column("version", String()),
    column("title", String()),
    column("position", String()),
    column("pass_score", Float()),
    column("duration_minutes", Integer()),
    column("validity_months", Integer()),
    column("content_hash", String()),
    column("fingerprint", String()),
)


# The same lookup for the direct asyncpg pool (PostgreSQL), and the attempt's insert: the
# unique registration_id settles a race (nothing inserted: the general path finds the winner).
_PG_START_LOOKUP = _START_SQL.replace(":uid", "$2").replace(":sid", "$1")  # same fingerprint
_ATTEMPT_COLUMNS = (
    "registration_id",
    "session_id",
    "user_id",
    "status",
    "seed",
    "form",
    "started_at",
    "duration_seconds",
    "extension_seconds",
    "paused_seconds",
    "deadline",
    "bound_sid",
)
_PG_INSERT_ATTEMPT = """
INSERT INTO attempt (registration_id, session_id, user_id, status, seed, form, started_at,
                     duration_seconds, extension_seconds, paused_seconds, deadline, bound_sid)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (registration_id) DO NOTHING RETURNING id
"""


@dataclass(frozen=True)
class _Blueprint:
    """What forms of one scheme are drawn from, cached per scheme while its fingerprint holds."""

    key: tuple[str, str]  # (scheme content hash, item versions fingerprint)
    units: list[dict[str, Any]]
    pool: list[PoolItem]
    types: dict[int, str]
    # What the candidate sees of each pool item (item versions never change): the view of a
    # form just drawn from this pool needs no database read.
    contents: dict[int, saving.ItemContent]
    rules: DrawRules = field(default_factory=DrawRules)

    @property
    def unit_blueprints(self) -> list[UnitBlueprint]:
        return [UnitBlueprint(u["code"], u["items_per_form"]) for u in self.units]


_blueprints: dict[int, _Blueprint] = {}
# One load per scheme at a time: a burst of starts on a fresh worker all miss the cache, and
# each would otherwise read and build the same pool (decision 048).
_loading: dict[int, asyncio.Lock] = {}


async def _blueprint(db: AsyncSession, scheme_id: int, key: tuple[str, str]) -> _Blueprint:
    cached = _blueprints.get(scheme_id)
    if cached is not None and cached.key == key:
        return cached
    lock = _loading.setdefault(scheme_id, asyncio.Lock())
    async with lock:
        cached = _blueprints.get(scheme_id)
        if cached is not None and cached.key == key:
            return cached
        return await _load_blueprint(db, scheme_id, key)


async def _load_blueprint(db: AsyncSession, scheme_id: int, key: tuple[str, str]) -> _Blueprint:
    units = (
        await db.exec(
            select(SchemeUnit).where(SchemeUnit.scheme_id == scheme_id).order_by(col(SchemeUnit.ordinal))
        )
    ).all()
    rows = await current_pool(db, scheme_id)
    bp = _Blueprint(
        key=key,
        units=[u.snapshot() for u in units],
        pool=[
            PoolItem(
                ref=iv.id or 0,
                unit=iv.unit_code,
                type=iv.type,
                option_ids=tuple(str(o[0]) for o in iv.options) if iv.type != "numeric" else (),
                level=iv.level,
            )
            for iv in rows
        ],
        types={iv.id or 0: iv.type for iv in rows},
        contents={iv.id or 0: saving.item_content(iv.type, iv.stem, iv.options) for iv in rows},
        rules=await draw_rules(db, scheme_id, rows),
    )
    _blueprints[scheme_id] = bp
    return bp


# Built once: executing it with a parameter dict reuses the compiled statement (building
# ``insert().values(**values)`` per start coerced every value, the form included, each time).
_INSERT_ATTEMPT = insert(ATTEMPT).returning(ATTEMPT.c.id)


async def start_attempt(
    engine: AsyncEngine,
    factory: Callable[[], AsyncSession],
    exam_session_id: int,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> AttemptView:
    """The start route's work: :func:`start_attempt_view`, with a session of its own opened only
    when the direct path (PostgreSQL, the common case) cannot answer by itself (decision 048)."""
    now = now or utcnow()
    if gates.current() is None and engine.dialect.name == "postgresql":

        async def load(scheme_id: int, key: tuple[str, str]) -> _Blueprint:
            async with factory() as db:
                return await _blueprint(db, scheme_id, key)

        fast = await _start_direct(engine, load, exam_session_id, principal, now)
        if fast is not None:
            return fast
    async with factory() as db:
        return await start_attempt_view(db, exam_session_id, principal, now=now, direct=False)


async def start_attempt_view(
    db: AsyncSession,
    exam_session_id: int,
    principal: Principal,
    *,
    now: datetime | None = None,
    direct: bool = True,
) -> AttemptView:
    """Start (or return) the candidate's attempt in this session, as :func:`attempt_view` shows it.

    The form is drawn with :func:`apkd.exams.assembly.assemble_form` from a fresh seed over
    :func:`apkd.banks.service.current_pool`, and frozen into the attempt (item version ids and
    option order). One attempt per registration: the unique ``registration_id`` settles a race
    between two starts, and the loser returns the winner's attempt.

    A form this call just drew is shown from the pool it was drawn from (item versions are
    immutable) and with no responses (none can precede the attempt's own insert): no further
    database read. An attempt that already existed is read as :func:`attempt_view` reads it.
    """
    now = now or utcnow()
    if direct and gates.current() is None and is_postgres(db):

        async def load(scheme_id: int, key: tuple[str, str]) -> _Blueprint:
            bp = await _blueprint(db, scheme_id, key)
            await db.rollback()  # it only read: give its connection back
            return bp

        engine = cast(Engine, db.get_bind())
        fast = await _start_direct(engine, load, exam_session_id, principal, now)
        if fast is not None:
            return fast
    attempt, bp = await _start(db, exam_session_id, principal, now)
    if bp is None:
        view = await attempt_view(db, attempt, now=now)
    else:
        view = _view(attempt, bp.contents, {}, now)
    # Early commit (docs/decisions): the controller holds a pool_gate around the start, and the
    # transaction must end inside it, or a burst of starts holds more pooled connections than
    # the gate lets in (overflow connections, each a new PostgreSQL process). It also makes the
    # attempt durable before its form is cached.
    await db.commit()
    if bp is not None:
        saving.cache_form(
            attempt.id or 0,
            saving.form_info_from(attempt.user_id, attempt.session_id, attempt.seed, attempt.form),
        )
    return view


async def _start_direct(
    engine: AsyncEngine | Engine,
    load: Callable[[int, tuple[str, str]], Awaitable[_Blueprint]],
    exam_session_id: int,
    principal: Principal,
    now: datetime,
) -> AttemptView | None:
    """PostgreSQL, no start gate: the common case of a start (an admitted candidate, inside the
    window, no attempt yet) in two autocommit statements on the direct pool, the lookup and the
    insert; no BEGIN/COMMIT round trips, no ORM (decision 048). The insert is committed before
    the form is shown, as on the general path. Anything else (no such session, not admitted,
    outside the window, an attempt already there, a lost race): None, and the general path
    decides, with its messages.
    """
    pool = await direct_pool(engine)
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_PG_START_LOOKUP, exam_session_id, principal.user_id)
        if (
            row is None
            or row["reg_id"] is None
            or row["attempt_id"] is not None
            or row["reg_status"] != RegistrationState.ADMITTED
            or not row["starts_at"] <= now <= row["ends_at"]
        ):
            return None
        key = (row["content_hash"], row["fingerprint"])
        bp = _blueprints.get(row["scheme_id"])
        if bp is None or bp.key != key:
            bp = await load(row["scheme_id"], key)  # a new bank import, or a fresh worker
        values = _new_attempt(row, bp, exam_session_id, principal, now)
        args = [values[c] for c in _ATTEMPT_COLUMNS]
        args[_ATTEMPT_COLUMNS.index("form")] = json.dumps(values["form"], separators=(",", ":"))
        attempt_id = await conn.fetchval(_PG_INSERT_ATTEMPT, *args)
    if attempt_id is None:
        return None
    saving.cache_form(
        attempt_id, saving.form_info_from(principal.user_id, exam_session_id, values["seed"], values["form"])
    )
    # What _view reads of the attempt just inserted, without building an ORM instance.
    fresh = SimpleNamespace(id=attempt_id, paused_at=None, submitted_at=None, current_position=None, **values)
    return _view(cast(Attempt, fresh), bp.contents, {}, now)


def _new_attempt(
    row: Any, bp: _Blueprint, exam_session_id: int, principal: Principal, now: datetime
) -> dict[str, Any]:
    """A fresh form drawn from ``bp`` and the attempt's columns around it (``row``: the start
    lookup's, a mapping by column name)."""
    seed = new_seed()
    try:
        drawn = assemble_form(
            seed,
            bp.unit_blueprints,
            bp.pool,
            enemies=bp.rules.enemies,
            level_shares=bp.rules.level_shares,
        )
    except AssemblyError as exc:
        raise Conflict(
            f"Paket soal tidak dapat disusun: {exc.message} Hubungi admin.", code="bank_insufficient"
        ) from exc
    form = {
        "assembly_version": ASSEMBLY_VERSION,
        "scheme": {
            "id": row["scheme_id"],
            "code": row["code"],
            "version": row["version"],
            "title": row["title"],
            "position": row["position"],
            "pass_score": row["pass_score"],
            "duration_minutes": row["duration_minutes"],
            "validity_months": row["validity_months"],
            "units": bp.units,
        },
        "items": [
            {
                "position": f.position,
                "item_version_id": f.ref,
                "unit": f.unit,
                "type": bp.types[f.ref],
                "option_order": list(f.option_order),
            }
            for f in drawn
        ],
    }
    duration = int(row["duration_minutes"]) * 60
    return {
        "registration_id": row["reg_id"],
        "session_id": exam_session_id,
        "user_id": principal.user_id,
        "status": AttemptState.IN_PROGRESS,
        "seed": seed,
        "form": form,
        "started_at": now,
        "duration_seconds": duration,
        "extension_seconds": 0,
        "paused_seconds": 0,
        "deadline": now + timedelta(seconds=duration),
        "bound_sid": principal.sid,
    }


async def _start(
    db: AsyncSession, exam_session_id: int, principal: Principal, now: datetime
) -> tuple[Attempt, _Blueprint | None]:
    """The attempt, and the blueprint its form was drawn from if this call created it."""
    conn = await db.connection()
    row = (await conn.execute(_START_LOOKUP, {"sid": exam_session_id, "uid": principal.user_id})).first()
    if row is None:
        raise NotFound("Sesi ujian tidak ditemukan.", code="session_not_found")
    if row.reg_id is None:
        raise Forbidden("Anda tidak terdaftar pada sesi ujian ini.", code="not_registered")
    if row.attempt_id is not None:
        return await _existing_attempt(db, row.attempt_id, principal, now), None
    if row.reg_status != RegistrationState.ADMITTED:
        raise Forbidden(
            "Anda belum diizinkan masuk oleh pengawas. Tunjukkan identitas Anda kepada pengawas.",
            code="not_admitted",
        )
    if not row.starts_at <= now <= row.ends_at:
        raise Forbidden(
            f"Ujian hanya dapat dimulai antara {local_text(row.starts_at, row.timezone)} "
            f"dan {local_text(row.ends_at, row.timezone)}.",
            code="outside_session_window",
        )
    gate = gates.current()
    if gate is not None and (refusal := await gate(db, exam_session_id)) is not None:
        raise Forbidden(refusal, code="session_locked")
    bp = await _blueprint(db, row.scheme_id, (row.content_hash, row.fingerprint))
    values = _new_attempt(row._mapping, bp, exam_session_id, principal, now)
    try:
        attempt_id = (await conn.execute(_INSERT_ATTEMPT, values)).scalar_one()
    except IntegrityError:
        # Another request of this candidate started it first (unique registration_id). Race
        # recovery (docs/decisions): the failed insert aborted the transaction (PostgreSQL), and
        # nothing was written before it, so roll back and read the winner's attempt.
        await db.rollback()
        found = (await db.exec(select(Attempt.id).where(Attempt.registration_id == row.reg_id))).first()
        if found is None:
            raise
        return await _existing_attempt(db, found, principal, now), None
    return Attempt(id=attempt_id, **values), bp


async def _existing_attempt(
    db: AsyncSession, attempt_id: int, principal: Principal, now: datetime
) -> Attempt:
    found = await reload_attempt(db, attempt_id)
    assert found is not None
    return await candidate_access(db, found, principal, now)


async def attempt_view(db: AsyncSession, a: Attempt, *, now: datetime | None = None) -> AttemptView:
    """The attempt as the candidate sees it: no answer, tolerance or points, ever."""
    now = now or utcnow()
    form_items = a.form.get("items", [])
    contents = await saving.item_contents(db, [int(it["item_version_id"]) for it in form_items])
    responses = {
        r.position: r for r in (await db.exec(select(Response).where(Response.attempt_id == a.id))).all()
    }
    return _view(a, contents, responses, now)


def _view(
    a: Attempt, contents: dict[int, saving.ItemContent], responses: dict[int, Response], now: datetime
) -> AttemptView:
    form_items = a.form.get("items", [])
    items: list[AttemptItem] = []
    for it in form_items:
        content = contents[int(it["item_version_id"])]
        r = responses.get(int(it["position"]))
        items.append(
            AttemptItem(
                position=int(it["position"]),
                type=content.type,
                stem=content.stem,
                options=[OptionPublic(id=o, text=content.options[o]) for o in it.get("option_order", [])],
                response=r.response if r is not None else None,
                unit=str(it["unit"]),
                flagged=bool(r.flagged) if r is not None else False,
            )
        )
    return AttemptView(
        id=a.id or 0,
        session_id=a.session_id,
        status=a.status,
        scheme_code=str(a.form.get("scheme", {}).get("code", "")),
        started_at=iso(a.started_at),
        deadline=iso(deadline_now(a, now)),
        server_time=iso(now),
        remaining_seconds=remaining(a, now),
        submitted_at=iso(a.submitted_at) if a.submitted_at else None,
        current_position=a.current_position,
        items=items,
    )


def attempt_status(a: Attempt, now: datetime | None = None) -> AttemptStatus:
    now = now or utcnow()
    return AttemptStatus(
        id=a.id or 0,
        session_id=a.session_id,
        status=a.status,
        started_at=iso(a.started_at),
        deadline=iso(deadline_now(a, now)),
        server_time=iso(now),
        remaining_seconds=remaining(a, now),
        extension_seconds=a.extension_seconds,
        paused_seconds=a.paused_seconds,
        bound=a.bound_sid != "",
    )


# --- submit -----------------------------------------------------------------------------------------


async def submit_attempt(
    db: AsyncSession, attempt_id: int, principal: Principal, *, now: datetime | None = None
) -> SubmitResult:
    """Submit: idempotent; of two racing submits exactly one changes the attempt."""
    now = now or utcnow()
    a = await get_attempt_for(db, attempt_id, principal, now=now)
    if principal.role != Role.CANDIDATE:
        raise Forbidden("Hanya peserta yang dapat mengumpulkan ujiannya.", code="forbidden")
    conn = await db.connection()
    res = await conn.execute(
        update(ATTEMPT)
        .where(
            ATTEMPT.c.id == attempt_id,
            ATTEMPT.c.status == AttemptState.IN_PROGRESS,
            ATTEMPT.c.bound_sid == principal.sid,
            ATTEMPT.c.deadline >= now - GRACE,
        )
        .values(status=AttemptState.SUBMITTED, submitted_at=now, closed_at=now, close_reason="submitted")
    )
    if res.rowcount == 1:
        await audit.record(
            db,
            "attempt.submitted",
            "attempt",
            attempt_id,
            actor=principal.username,
            details={"session_id": a.session_id},
        )
        return SubmitResult(id=attempt_id, status=AttemptState.SUBMITTED, submitted_at=iso(now))
    found = await reload_attempt(db, attempt_id)
    assert found is not None
    a = await expire_if_overdue(db, found, now)
    if a.status == AttemptState.SUBMITTED and a.submitted_at is not None:
        return SubmitResult(id=attempt_id, status=AttemptState.SUBMITTED, submitted_at=iso(a.submitted_at))
    if a.status == AttemptState.PAUSED:
        raise Conflict(
            "Ujian sedang dihentikan sementara oleh pengawas; kumpulkan setelah dilanjutkan.",
            code="attempt_paused",
        )
    if a.status in CLOSED_STATUSES:
        raise_closed(a.status)
    await raise_not_bound(db, attempt_id, principal)
