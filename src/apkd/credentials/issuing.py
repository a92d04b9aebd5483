"""Issuing credentials in batches: one credential per passing attempt, idempotently.

One call handles a whole published session (thousands of results) in a handful of
statements, inside the caller's transaction (it flushes; the caller commits). Its steps,
each a function below or a module of its own:

1. **load** (:func:`_load`): results + attempts (the frozen scheme of the form) + users, in
   bulk; then, per exam session, an advisory lock (PostgreSQL; SQLite holds its write lock
   anyway), so two publishes of the same session never both issue while other sessions go
   on; results that already have a credential are skipped (``credential.attempt_id`` is
   unique);
2. **allocate numbers** (:func:`_allocate`, :mod:`apkd.credentials.allocation`): serials, one
   ``UPDATE credential_serial SET next_serial = next_serial + n ... RETURNING`` per (scheme,
   year), whose row lock is held until commit, so concurrent issuers get disjoint blocks
   with no gaps; status list indexes, drawn at random in memory from the locked lists'
   allocation bitmaps, written back once per list;
3. **sign** (:func:`_sign_and_write`): Ed25519 with the active key; the claims come from a
   per-scheme template and the QR text from a batch builder
   (:mod:`apkd.credentials.templates`, byte-identical to vc.py and qrtoken.py), prepared in
   blocks of 250 (:class:`_Preparer`); for a batch of ``APKD_SIGNING_CHILD_MIN`` or more, a
   child process (:mod:`apkd.credentials.signworker`) signs each block while the next is
   prepared and the last stored (decision 054); smaller batches are signed inline;
4. **write** (:mod:`apkd.credentials.storage`): on PostgreSQL block by block while the next
   block is signed, each block one statement that also writes its "issued" history rows;
   on SQLite one executemany, then the history rows from the serial blocks; then one
   transparency-log append for the batch (a fixed number of statements, see
   apkd.translog.service.append) and one audit event, in that lock order.

Cost: two Ed25519 signatures per credential (vc+jwt and QR token) are about a third of
the time when signed inline; the rest is Python around them, the inserts (on PostgreSQL
mostly overlapped with the signing), the log append and the commit. With the child, its
signing overlaps the preparing and storing, when a core is free (bench/bench_credentials.py
prints both, decision 054).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, bindparam, text
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import User
from apkd.accounts.nip import masked_nip_or_dash
from apkd.chunked import in_values, parts
from apkd.config import Settings
from apkd.credentials import issuer_keys, qrtoken
from apkd.credentials.allocation import StatusIndexAllocator, allocate_serials
from apkd.credentials.models import (
    Credential,
    CredentialAction,
    CredentialHolder,
    CredentialStatus,
    StatusPurpose,
)
from apkd.credentials.number import NumberSeries
from apkd.credentials.signworker import Job, Signed, SigningChild
from apkd.credentials.storage import COLUMNS, CredentialRow, RowWriter, SerialBlock, write_history
from apkd.credentials.templates import CredentialTemplate, QRTextBuilder, scheme_info
from apkd.credentials.vc import SchemeInfo, format_score
from apkd.db import is_postgres, serialize, utcnow
from apkd.dbtypes import UTCDateTime, table_of
from apkd.exams.models import Attempt
from apkd.grading.models import Result
from apkd.signing.jws import protected_header, sign_compact
from apkd.signing.keystore import Signer
from apkd.timefmt import iso_utc
from apkd.translog.service import append

__all__ = [
    "ISSUER_TZ",
    "VC_TYP",
    "IssuedBatch",
    "allocate_serials",
    "holder_subjects",
    "issue_for_results",
    "status_list_url",
    "verify_url",
]

VC_TYP = "vc+jwt"
ISSUER_TZ = ZoneInfo("Asia/Makassar")
UNKNOWN_REGION = "0000"
log = logging.getLogger(__name__)
_WRITE_BLOCK = 250  # credentials per block sent while the next is signed (see storage.RowWriter)


@dataclass(frozen=True)
class IssuedBatch:
    numbers: list[str]
    skipped: int  # passing results that already had a credential


def status_list_url(settings: Settings, list_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/api/v1/status-lists/{list_id}"


def verify_url(settings: Settings, number: str) -> str:
    return f"{settings.base_url.rstrip('/')}/v/{number}"


# --- 1. load ----------------------------------------------------------------------------


@dataclass
class _Loaded:
    """The passing results to issue for (rows of the load query, by result id), each one's
    frozen scheme, the exam sessions they belong to, and how many already had a credential."""

    todo: list[Any]
    scheme_of: dict[int, dict[str, Any]]
    session_ids: set[int]
    skipped: int


async def _lock_sessions(session: AsyncSession, session_ids: set[int]) -> None:
    for sid in sorted(session_ids):
        await serialize(session, f"credential:issue:session:{sid}")


async def _load(session: AsyncSession, ids: Sequence[int]) -> _Loaded:
    pg = is_postgres(session)
    rows: list[Any] = []
    for part in parts(ids, pg):
        stmt = (
            sa_select(
                col(Result.id),
                col(Result.attempt_id),
                col(Result.user_id),
                col(Result.score),
                col(Result.session_id),
                col(Attempt.form)["scheme"].as_string().label("scheme_json"),
                col(User.full_name),
                col(User.nip),
                col(User.instansi),
                col(User.jabatan),
                col(User.region_code),
            )
            .join(Attempt, col(Attempt.id) == col(Result.attempt_id))
            .join(User, col(User.id) == col(Result.user_id))
            .where(in_values(col(Result.id), part, pg), col(Result.passed).is_(True))
        )
        rows.extend((await session.exec(stmt)).all())  # type: ignore[call-overload]
    rows.sort(key=lambda r: r.id)
    # Lock the exam sessions, then see what is already issued: a concurrent publish of the
    # same session waits here and then finds this one's credentials.
    session_ids = {r.session_id for r in rows}
    await _lock_sessions(session, session_ids)
    # The frozen scheme of each attempt, decoded once per distinct text.
    decoded: dict[str, dict[str, Any]] = {}
    scheme_of: dict[int, dict[str, Any]] = {}
    for r in rows:
        raw = r.scheme_json
        if raw not in decoded:
            decoded[raw] = json.loads(raw)
        scheme_of[r.id] = decoded[raw]
    issued_attempts: set[int] = set()
    for part in parts([r.attempt_id for r in rows], pg):
        stmt = select(Credential.attempt_id).where(in_values(col(Credential.attempt_id), part, pg))
        issued_attempts.update(a for a in (await session.exec(stmt)).all() if a is not None)
    todo = [r for r in rows if r.attempt_id not in issued_attempts]
    return _Loaded(todo, scheme_of, session_ids, len(rows) - len(todo))


async def _previous_credentials(session: AsyncSession, loaded: _Loaded) -> dict[tuple[int, str], int]:
    """Renewal: (user id, scheme code) -> the holder's latest earlier credential of the scheme."""
    pg = is_postgres(session)
    schemes = {str(loaded.scheme_of[r.id]["code"]) for r in loaded.todo}
    users = sorted({r.user_id for r in loaded.todo})
    previous: dict[tuple[int, str], int] = {}
    for part in parts(users, pg):
        prev_rows = (
            await session.exec(
                select(Credential.id, Credential.user_id, Credential.scheme_code)
                .where(in_values(col(Credential.user_id), part, pg), col(Credential.scheme_code).in_(schemes))
                .order_by(col(Credential.issued_at), col(Credential.id))
            )
        ).all()
        for cid, uid, code in prev_rows:
            if cid is not None:
                previous[(uid, code)] = cid  # the latest wins
    return previous


_PG_NEW_HOLDERS = text(
    "INSERT INTO credential_holder (user_id, subject_id, created_at)"
    " SELECT u, s, :t FROM unnest(:u, :s) AS new(u, s)"
    " ON CONFLICT DO NOTHING RETURNING user_id, subject_id"
).bindparams(
    bindparam("u", type_=ARRAY(Integer)),
    bindparam("s", type_=ARRAY(String)),
    bindparam("t", type_=UTCDateTime()),
)


async def holder_subjects(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, str]:
    """user id -> the holder's stable subject id ("urn:uuid:..."), made for those who have
    none yet (a random UUID; a concurrent issuer making one for the same user first wins)."""
    pg = is_postgres(session)
    wanted = sorted(set(user_ids))

    async def known() -> dict[int, str]:
        found: dict[int, str] = {}
        for part in parts(wanted, pg):
            stmt = select(CredentialHolder.user_id, CredentialHolder.subject_id).where(
                in_values(col(CredentialHolder.user_id), part, pg)
            )
            found.update((await session.exec(stmt)).all())
        return found

    found = await known()
    missing = [u for u in wanted if u not in found]
    if missing:
        now = utcnow()
        subjects = [uuid.uuid4().urn for _ in missing]
        if pg:
            # One statement for the whole batch (arrays, not a multi-row VALUES compiled per
            # call: that compilation was a third of issuing); it returns what it inserted.
            inserted = await session.execute(_PG_NEW_HOLDERS, {"u": missing, "s": subjects, "t": now})
            found.update((uid, sid) for uid, sid in inserted.all())
        else:
            stmt = sqlite_insert(table_of(CredentialHolder)).on_conflict_do_nothing()
            rows = [
                {"user_id": u, "subject_id": sid, "created_at": now}
                for u, sid in zip(missing, subjects, strict=True)
            ]
            await session.execute(stmt, rows)  # executemany: compiled once
        if any(u not in found for u in missing):  # SQLite, or a concurrent issuer made some first
            found = await known()
    return found


# --- 2. allocate numbers ----------------------------------------------------------------


@dataclass
class _Numbers:
    serial_of: dict[int, int]  # result id -> serial
    blocks: list[SerialBlock]  # one per scheme, in allocation order
    revocation: list[tuple[int, int]]  # (list id, index), in the order of todo
    suspension: list[tuple[int, int]]


async def _allocate(session: AsyncSession, loaded: _Loaded, year: int, now: datetime) -> _Numbers:
    # Serials, one UPDATE per (scheme, year), in a fixed order.
    by_scheme: dict[str, list[Any]] = defaultdict(list)
    for r in loaded.todo:
        by_scheme[str(loaded.scheme_of[r.id]["code"])].append(r)
    serial_of: dict[int, int] = {}
    blocks: list[SerialBlock] = []
    for code in sorted(by_scheme):
        group = by_scheme[code]
        first = await allocate_serials(session, code, year, len(group))
        blocks.append(SerialBlock(code, year, first, len(group)))
        for offset, r in enumerate(group):
            serial_of[r.id] = first + offset
    # Status list indexes, drawn in memory from the locked lists.
    revocation = StatusIndexAllocator(session, StatusPurpose.REVOCATION)
    suspension = StatusIndexAllocator(session, StatusPurpose.SUSPENSION)
    await revocation.load()
    await suspension.load()
    rev_slots = await revocation.take(len(loaded.todo))
    sus_slots = await suspension.take(len(loaded.todo))
    revocation.write_back(now)
    suspension.write_back(now)
    return _Numbers(serial_of, blocks, rev_slots, sus_slots)


# --- 3. sign (and 4. write, overlapped) ---------------------------------------------------


@dataclass
class _Block:
    """Up to _WRITE_BLOCK credentials: their rows, of which those at ``unsigned`` still lack
    the vc+jwt, its hash and the QR text, and the signing jobs for those, in the same order."""

    rows: list[CredentialRow]
    unsigned: list[int]
    jobs: list[Job]

    def complete(self, signed: list[Signed]) -> list[CredentialRow]:
        rows = self.rows
        for i, (vc_jwt, vc_sha256, qr_text) in zip(self.unsigned, signed, strict=True):
            rows[i] = rows[i]._replace(vc_jwt=vc_jwt, vc_sha256=vc_sha256, qr_text=qr_text)
        return rows


class _Preparer:
    """Everything of each credential but its two signatures: the number, the claims (from
    one template per scheme shape), the QR text's parts and the row (decision 054)."""

    def __init__(
        self,
        settings: Settings,
        signer: Signer,
        loaded: _Loaded,
        numbers: _Numbers,
        previous: dict[tuple[int, str], int],
        subjects: dict[int, str],
        *,
        year: int,
        now: datetime,
    ) -> None:
        self.settings, self.signer, self.loaded, self.numbers = settings, signer, loaded, numbers
        self.previous, self.subjects, self.year, self.now = previous, subjects, year, now
        self.scheme_infos: dict[str, SchemeInfo] = {}
        self.templates: dict[tuple[str, int, bool], CredentialTemplate] = {}
        self.list_urls: dict[int, str] = {}
        self.scores: dict[float, str] = {}
        self.series: dict[tuple[str, str], NumberSeries] = {}  # prefix checked, check state made once
        self.qr_builder = QRTextBuilder(settings.base_url, signer)
        self.header_kid = issuer_keys.kid_url(settings, signer.kid)
        self.headers = (protected_header(self.header_kid, VC_TYP), protected_header(signer.kid, qrtoken.QR_TYP))

    def _template(self, form_scheme: dict[str, Any], code: str, has_role: bool) -> CredentialTemplate:
        months = int(form_scheme.get("validity_months") or 36)
        shape = (code, months, has_role)
        template = self.templates.get(shape)
        if template is None:
            info = self.scheme_infos.get(code)
            if info is None:
                info = self.scheme_infos[code] = scheme_info(form_scheme)
            template = self.templates[shape] = CredentialTemplate(
                self.settings, info, valid_from=self.now, validity_months=months, has_role=has_role
            )
        return template

    def block(self, start: int, stop: int) -> _Block:
        loaded, numbers, signer, now, year = self.loaded, self.numbers, self.signer, self.now, self.year
        rows: list[CredentialRow] = []
        unsigned: list[int] = []
        jobs: list[Job] = []
        for i in range(start, stop):
            r = loaded.todo[i]
            form_scheme = loaded.scheme_of[r.id]
            code = str(form_scheme["code"])
            role = ", ".join(p for p in ((r.jabatan or "").strip(), (r.instansi or "").strip()) if p)
            template = self._template(form_scheme, code, bool(role))
            region = r.region_code or UNKNOWN_REGION
            serial = numbers.serial_of[r.id]
            number_series = self.series.get((code, region))
            if number_series is None:
                number_series = self.series[(code, region)] = NumberSeries(code, region, year)
            number = number_series.format(serial)
            cred_uuid = str(uuid.uuid4())
            rev_list, rev_index = numbers.revocation[i]
            sus_list, sus_index = numbers.suspension[i]
            rev_url = self.list_urls.get(rev_list)
            if rev_url is None:
                rev_url = self.list_urls[rev_list] = status_list_url(self.settings, rev_list)
            score = float(r.score)
            score_text = self.scores.get(score)
            if score_text is None:
                score_text = self.scores[score] = format_score(max(0.0, min(100.0, score)))
            payload = template.payload(
                {
                    "ID": "urn:uuid:" + cred_uuid,
                    "SUB": self.subjects[r.user_id],
                    "NAME": r.full_name,
                    "ROLE": role,
                    "SCORE": score_text,
                    "REVURL": rev_url,
                    "REVIDX": str(rev_index),
                }
            )
            valid_until = template.valid_until
            qr = {
                "number": number,
                "holder_name": r.full_name,
                "instansi": r.instansi,
                "valid_from": now,
                "valid_until": valid_until,
                "revocation": (rev_list, rev_index),
                "suspension": (sus_list, sus_index),
            }
            qr_parts = self.qr_builder.parts(**qr)
            if qr_parts is None:  # the rare name that must be cut: signed here, by the reference path
                vc_jwt = sign_compact(payload, signer.private_key, self.header_kid, VC_TYP)
                vc_hash = hashlib.sha256(vc_jwt.encode("ascii")).digest()
                signed = (vc_jwt, vc_hash.hex(), self.qr_builder.build(**qr, vc_jwt=vc_jwt, vc_hash=vc_hash))
            else:
                signed = ("", "", "")
                unsigned.append(len(rows))
                jobs.append((payload, *qr_parts))
            rows.append(
                CredentialRow(
                    number=number,
                    uuid=cred_uuid,
                    scheme_code=code,
                    scheme_version=str(form_scheme.get("version", "")),
                    year=year,
                    region_code=region,
                    serial=serial,
                    user_id=r.user_id,
                    attempt_id=r.attempt_id,
                    result_id=r.id,
                    renews_id=self.previous.get((r.user_id, code)),
                    status=CredentialStatus.ACTIVE.value,
                    holder_name=r.full_name,
                    nip_masked=masked_nip_or_dash(r.nip),
                    instansi=r.instansi,
                    valid_from=now,
                    valid_until=valid_until,
                    issued_at=now,
                    kid=signer.kid,
                    vc_jwt=signed[0],
                    vc_sha256=signed[1],
                    qr_text=signed[2],
                    revocation_list_id=rev_list,
                    revocation_index=rev_index,
                    suspension_list_id=sus_list,
                    suspension_index=sus_index,
                )
            )
        return _Block(rows, unsigned, jobs)


async def _sign_and_write(
    session: AsyncSession,
    prepare: _Preparer,
    child: SigningChild,
    *,
    actor_id: int | None,
) -> tuple[RowWriter, list[CredentialRow], list[dict[str, Any]]]:
    """Sign every credential and store the rows (block by block where the writer can);
    returns the writer, the rows and the log events.

    Blocks are prepared here while the child (when running) signs the ones before, at most
    ``child.depth`` ahead; each signed block is stored (PostgreSQL: sent while the next is
    prepared and signed) and gets its log events."""
    records: list[CredentialRow] = []
    events: list[dict[str, Any]] = []
    time_text = iso_utc(prepare.now)
    kid = prepare.signer.kid
    child.use_key(prepare.signer.private_key, *prepare.headers)
    writer = RowWriter(session, table_of(Credential), COLUMNS, history=(actor_id, prepare.now))
    await writer.open()
    waiting: deque[_Block] = deque()

    async def finish_oldest() -> None:
        block = waiting.popleft()
        rows = block.complete(await child.result())
        records.extend(rows)
        events.extend(
            {
                "type": CredentialAction.ISSUED.value,
                "number": row.number,
                "vc_sha256": row.vc_sha256,
                "kid": kid,
                "time": time_text,
            }
            for row in rows
        )
        if writer.pipelined:
            await writer.write(records)  # stored while the next block is signed

    try:
        total = len(prepare.loaded.todo)
        for start in range(0, total, _WRITE_BLOCK):
            block = prepare.block(start, min(total, start + _WRITE_BLOCK))
            if child.full:
                await finish_oldest()
            child.submit(block.jobs)
            waiting.append(block)
        while waiting:
            await finish_oldest()
        await writer.write(records)
        await writer.drain()
    except BaseException:
        await writer.abandon()
        raise
    if child.failed:
        log.warning("signing child not used for part of the batch: %s", child.failed)
    return writer, records, events


# --- the batch ----------------------------------------------------------------------------


async def issue_for_results(
    session: AsyncSession,
    result_ids: Sequence[int],
    *,
    settings: Settings,
    actor: str | None,
    now: datetime | None = None,
) -> IssuedBatch:
    """Issue one credential for each passing result that has none (flush, no commit)."""
    ids = sorted({int(i) for i in result_ids})
    if not ids:
        return IssuedBatch([], 0)
    now = (now or utcnow()).astimezone(UTC).replace(microsecond=0)
    child = SigningChild()
    try:
        if settings.signing_child_min and len(ids) >= settings.signing_child_min:
            await child.spawn()  # it starts while the batch loads
        return await _issue(session, ids, child, settings=settings, actor=actor, now=now)
    finally:
        await child.close()


async def _issue(
    session: AsyncSession,
    ids: list[int],
    child: SigningChild,
    *,
    settings: Settings,
    actor: str | None,
    now: datetime,
) -> IssuedBatch:
    loaded = await _load(session, ids)
    if not loaded.todo:
        return IssuedBatch([], loaded.skipped)
    signer = await issuer_keys.active_signer(session, settings)
    year = now.astimezone(ISSUER_TZ).year
    previous = await _previous_credentials(session, loaded)
    subjects = await holder_subjects(session, [r.user_id for r in loaded.todo])
    numbers = await _allocate(session, loaded, year, now)
    actor_id = await _actor_id(session, actor)
    prepare = _Preparer(settings, signer, loaded, numbers, previous, subjects, year=year, now=now)
    writer, records, events = await _sign_and_write(session, prepare, child, actor_id=actor_id)
    if not writer.pipelined:  # the pipelined writer stored the history with each block
        await write_history(session, numbers.blocks, actor_id=actor_id, now=now)

    await append(session, events)
    issued = [rec.number for rec in records]
    await audit.record(
        session,
        "credentials.issued",
        "exam_session",
        ",".join(str(s) for s in sorted(loaded.session_ids))[:64],
        actor=actor,
        details={
            "count": len(records),
            "first": issued[0],
            "last": issued[-1],
            "kid": signer.kid,
            "skipped": loaded.skipped,
        },
    )
    await session.flush()
    return IssuedBatch(issued, loaded.skipped)


async def _actor_id(session: AsyncSession, actor: str | None) -> int | None:
    if not actor:
        return None
    return (await session.exec(select(User.id).where(User.username == actor))).first()
