"""Issuing credentials in batches: one credential per passing attempt, idempotently.

One call handles a whole published session (thousands of results) in a handful of
statements, inside the caller's transaction (the caller commits):

1. results + attempts (the frozen scheme of the form) + users, loaded in bulk; then, per
   exam session, an advisory lock (PostgreSQL; SQLite holds its write lock anyway), so two
   publishes of the same session never both issue while other sessions go on; results
   that already have a credential are skipped (``credential.attempt_id`` is unique);
3. serials: one ``UPDATE credential_serial SET next_serial = next_serial + n ... RETURNING``
   per (scheme, year): the row lock is held until commit, so concurrent issuers get
   disjoint blocks with no gaps;
4. status list indexes: the lists with room are locked (``FOR UPDATE``) and indexes drawn at
   random in memory from their allocation bitmaps, written back once per list;
5. sign everything (Ed25519, the active key): the claims come from a per-scheme template
   made by vc.py (:class:`CredentialTemplate`), the QR text from :class:`QRTextBuilder`
   (qrtoken's rules); both are tested byte-identical to the reference builders;
6. store the rows (:class:`_RowWriter`): on PostgreSQL block by block while the next block
   is signed, each block one statement that also writes its "issued" history rows; on
   SQLite one executemany, then the history rows in one INSERT ... SELECT over the serial
   blocks; then one transparency-log append for the batch (a fixed number of statements,
   see apkd.translog.service.append) and one audit event, in that lock order.

Cost: two Ed25519 signatures per credential (vc+jwt and QR token) are about a third of
the time; the rest is Python around them, the inserts (on PostgreSQL mostly overlapped
with the signing), the log append and the commit (bench/bench_credentials.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ARRAY, Integer, String, any_, bindparam, insert, literal, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import User
from apkd.config import Settings
from apkd.credentials import keystore, qrtoken
from apkd.credentials.jws import sign_compact
from apkd.credentials.keys import b64url_encode
from apkd.credentials.models import Credential, CredentialEvent, CredentialSerial, StatusList
from apkd.credentials.number import format_number
from apkd.credentials.statuslist import STATUS_LIST_SIZE, StatusEntryRef, allocate_random_index
from apkd.credentials.vc import (
    HolderInfo,
    SchemeInfo,
    UnitInfo,
    add_months,
    build_credential,
    format_score,
    hash_identity,
    jwt_claims,
    new_salt,
)
from apkd.db import UTCDateTime, is_postgres, serialize, utcnow
from apkd.dbtypes import table_of
from apkd.exams.models import Attempt
from apkd.grading.models import Result

__all__ = [
    "ISSUER_TZ",
    "VC_TYP",
    "IssuedBatch",
    "allocate_serials",
    "issue_for_results",
    "mask_nip",
    "status_list_url",
    "verify_url",
]

VC_TYP = "vc+jwt"
ISSUER_TZ = ZoneInfo("Asia/Makassar")
UNKNOWN_REGION = "0000"
_CHUNK = 2000


@dataclass(frozen=True)
class IssuedBatch:
    numbers: list[str]
    skipped: int  # passing results that already had a credential


def chunks(seq: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def mask_nip(nip: str | None) -> str:
    """The NIP as public views (and the QR token) show it: "1985***********001"."""
    if not nip:
        return "-"
    try:
        return qrtoken.mask_nip(nip)
    except ValueError:
        return "*" * max(0, len(nip) - 3) + nip[-3:]


def status_list_url(settings: Settings, list_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/api/v1/status-lists/{list_id}"


def verify_url(settings: Settings, number: str) -> str:
    return f"{settings.base_url.rstrip('/')}/v/{number}"


def _iso_z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- serials ----------------------------------------------------------------------------


async def allocate_serials(session: AsyncSession, scheme_code: str, year: int, n: int) -> int:
    """Reserve ``n`` consecutive serials for (scheme, year); return the first one.

    One UPDATE ... RETURNING: on PostgreSQL it takes the row lock (held until commit), on
    SQLite the transaction already holds the write lock. Concurrent issuers get disjoint,
    gapless blocks; a rolled-back transaction gives its block back.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    values = {"scheme_code": scheme_code, "year": year, "next_serial": 1}
    table = table_of(CredentialSerial)
    if is_postgres(session):
        ins: Any = pg_insert(table).values(**values).on_conflict_do_nothing()
    else:
        ins = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    await session.exec(ins)
    stmt = (
        update(table)
        .where(table.c.scheme_code == scheme_code, table.c.year == year)
        .values(next_serial=table.c.next_serial + n)
        .returning(table.c.next_serial)
    )
    next_serial = int((await session.exec(stmt)).scalar_one())
    return next_serial - n


# --- status lists -----------------------------------------------------------------------


class _ListAllocator:
    """Draws random free indexes from the (locked) lists of one purpose, in memory."""

    def __init__(self, session: AsyncSession, purpose: str) -> None:
        # Unpredictable from outside (seeded from the OS), cheap per draw.
        self.rng = random.Random(secrets.randbits(128))
        self.session = session
        self.purpose = purpose
        self.lists: list[StatusList] = []
        self.maps: dict[int, bytearray] = {}
        self.added: dict[int, int] = defaultdict(int)

    async def load(self) -> None:
        stmt = (
            select(StatusList)
            .where(StatusList.purpose == self.purpose, col(StatusList.allocated_count) < col(StatusList.size))
            .order_by(col(StatusList.id))
            .with_for_update()
        )
        self.lists = list((await self.session.exec(stmt)).all())
        for row in self.lists:
            assert row.id is not None
            self.maps[row.id] = bytearray(row.allocated)

    async def _new_list(self) -> StatusList:
        size = STATUS_LIST_SIZE
        row = StatusList(
            purpose=self.purpose,
            size=size,
            bits=bytes(size // 8),
            allocated=bytes(size // 8),
            allocated_count=0,
            version=1,
            updated_at=utcnow(),
        )
        self.session.add(row)
        await self.session.flush()
        assert row.id is not None
        self.lists.append(row)
        self.maps[row.id] = bytearray(row.allocated)
        return row

    async def take(self, n: int) -> list[tuple[int, int]]:
        """n (list id, index) pairs, each index random among the free ones of its list."""
        out: list[tuple[int, int]] = []
        pos = 0
        while len(out) < n:
            if pos >= len(self.lists):
                await self._new_list()
            row = self.lists[pos]
            assert row.id is not None
            free = row.size - row.allocated_count - self.added[row.id]
            if free <= 0:
                pos += 1
                continue
            used = self.maps[row.id]
            k = min(free, n - len(out))
            for _ in range(k):
                index = allocate_random_index(used, self.rng, row.size)
                used[index >> 3] |= 0x80 >> (index & 7)
                out.append((row.id, index))
            self.added[row.id] += k
            pos += 1
        return out

    def write_back(self, now: datetime) -> None:
        for row in self.lists:
            assert row.id is not None
            added = self.added.get(row.id, 0)
            if added:
                row.allocated = bytes(self.maps[row.id])
                row.allocated_count += added
                row.updated_at = now
                self.session.add(row)


# --- issuing ----------------------------------------------------------------------------


def _scheme_info(form_scheme: dict[str, Any]) -> SchemeInfo:
    return SchemeInfo(
        code=str(form_scheme["code"]),
        version=str(form_scheme.get("version", "")),
        title=str(form_scheme["title"]),
        position=str(form_scheme.get("position") or form_scheme["title"]),
        pass_score=float(form_scheme["pass_score"]),
        units=tuple(
            UnitInfo(code=str(u["code"]), title=str(u["title"]), min_score=u.get("min_score"))
            for u in form_scheme.get("units", [])
        ),
    )


def _finish_document(doc: dict[str, Any], nip: str | None, jabatan: str | None, instansi: str | None) -> None:
    """Adjust the built credential for holders with missing profile fields."""
    subject = doc["credentialSubject"]
    if not nip:
        subject["identifier"] = [i for i in subject["identifier"] if i.get("identityType") != "ext:NIP"]
    parts = [p for p in ((jabatan or "").strip(), (instansi or "").strip()) if p]
    if parts:
        subject["role"] = ", ".join(parts)
    else:
        subject.pop("role", None)


_SENTINEL_UUID = uuid.UUID("ffffffff-ffff-4fff-bfff-fffffffff0c0")
_SENTINEL_SALT = "@@APKD-SALT@@"
_SENTINEL_NIP = "@@APKD-NIP@@"
_SLOTS = ("ID", "NAME", "NIPHASH", "SALT", "ROLE", "SCORE", "REVURL", "REVIDX", "SUSURL", "SUSIDX")
_SLOT_RE = re.compile("@@APKD-(" + "|".join(_SLOTS) + ")@@")
_FREE_TEXT = frozenset({"NAME", "ROLE", "REVURL", "SUSURL"})
_json_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def _slot(name: str) -> str:
    return f"@@APKD-{name}@@"


def _json_text(value: str) -> str:
    """`value` escaped as inside a JSON string (what the encoder writes between the quotes)."""
    return _json_encode(value)[1:-1]


class CredentialTemplate:
    """The serialized JWT claims of one (scheme, validity, holder shape, batch time), with
    slots for what differs per credential.

    Built by calling :func:`apkd.credentials.vc.build_credential` and ``jwt_claims`` once
    with marked values, so vc.py stays the only definition of the profile; filling the
    slots gives exactly the bytes ``jws.sign_compact`` would sign for the same credential
    (tests/credentials/test_issuing.py checks it). Issuing 10,000 credentials then costs
    string joins instead of 10,000 document builds and JSON encodings.
    """

    def __init__(
        self,
        settings: Settings,
        scheme: SchemeInfo,
        *,
        valid_from: datetime,
        validity_months: int,
        has_nip: bool,
        has_role: bool,
    ) -> None:
        doc = build_credential(
            credential_id=_SENTINEL_UUID,
            base_url=settings.base_url,
            issuer_id=settings.issuer_id,
            issuer_name=settings.issuer_name,
            scheme=scheme,
            holder=HolderInfo(full_name=_slot("NAME"), nip=_SENTINEL_NIP, jabatan="x", instansi="x"),
            nip_salt=_SENTINEL_SALT,
            score=0,
            valid_from=valid_from,
            validity_months=validity_months,
            revocation=StatusEntryRef(_slot("REVURL"), 0),
            suspension=StatusEntryRef(_slot("SUSURL"), 0),
        )
        subject = doc["credentialSubject"]
        for ident in subject["identifier"]:
            if ident.get("identityType") == "ext:NIP":
                ident["identityHash"], ident["salt"] = _slot("NIPHASH"), _slot("SALT")
        _finish_document(doc, "x" if has_nip else None, "x" if has_role else None, None)
        if has_role:
            subject["role"] = _slot("ROLE")
        subject["result"][0]["value"] = _slot("SCORE")
        for entry, url, idx in zip(
            doc["credentialStatus"], ("REVURL", "SUSURL"), ("REVIDX", "SUSIDX"), strict=True
        ):
            entry["id"] = f"{_slot(url)}#{_slot(idx)}"
            entry["statusListIndex"] = _slot(idx)
        claims = jwt_claims(doc, settings.issuer_id)
        text = _json_encode(claims).replace(_SENTINEL_UUID.urn, _slot("ID"))
        pieces = _SLOT_RE.split(text)
        self.literals: list[str] = pieces[0::2]
        self.slots: list[str] = pieces[1::2]
        self.valid_until = add_months(valid_from.astimezone(UTC).replace(microsecond=0), validity_months)

    def payload(self, values: dict[str, str]) -> bytes:
        """The JWT claims for these slot values, UTF-8 JSON. Free text (names, URLs) is
        escaped here; the other slots are plain ASCII by construction (uuid, hex, digits)."""
        escaped = {k: (_json_text(v) if k in _FREE_TEXT else v) for k, v in values.items()}
        out = [self.literals[0]]
        for slot, text in zip(self.slots, self.literals[1:], strict=True):
            out.append(escaped[slot])
            out.append(text)
        return "".join(out).encode("utf-8")


def _json_len(value: Any) -> int:
    return len(_json_encode(value).encode("utf-8"))


class QRTextBuilder:
    """``qrtoken.make_qr_text`` for a batch: the same claims, fitting rules and bytes, with
    the per-batch parts (header, base URL) computed once and the fitting done on member
    lengths instead of re-encoding the claims for every trial. The number is already
    canonical (format_number made it). tests/credentials/test_issuing.py checks that the
    output is identical to qrtoken.make_qr_text's."""

    def __init__(
        self, base_url: str, signer: keystore.Signer, max_length: int = qrtoken.MAX_QR_TEXT_LENGTH
    ) -> None:
        self.base = base_url.rstrip("/")
        self.signer = signer
        self.max_length = max_length
        header = json.dumps({"alg": "EdDSA", "kid": signer.kid, "typ": qrtoken.QR_TYP}, separators=(",", ":"))
        self.header_len = (4 * len(header.encode("utf-8")) + 2) // 3
        self._cuts: dict[tuple[str, int], str | None] = {}

    def build(
        self,
        *,
        number: str,
        holder_name: str,
        nip: str | None,
        instansi: str | None,
        valid_from: datetime,
        valid_until: datetime,
        revocation: tuple[int, int],
        suspension: tuple[int, int],
        vc_jwt: str,
        vc_hash: bytes | None = None,
    ) -> str:
        prefix = f"{self.base}/v/{number}?t="
        budget = self.max_length - len(prefix) - self.header_len - 2 - 86
        # The claims fit when their compact JSON takes at most `limit` bytes (its base64url
        # then fits `budget`). That JSON is "{" + members joined by "," + "}", and a member
        # '"k":value' with a one-letter key takes 4 + len(value) bytes: `size` counts each
        # member with its comma, plus the braces less one comma.
        limit = (3 * budget) // 4
        name = holder_name.strip()
        wire: dict[str, Any] = {"n": number, "h": name}
        size = 1 + (5 + len(number) + 2) + (5 + _json_len(name))  # the number is plain ASCII
        if nip:
            masked = qrtoken.mask_nip(nip)
            wire["m"] = masked[:4] + "*" + masked[-3:]
            size += 5 + 10
        f, u = int(valid_from.timestamp()), int(valid_until.timestamp())
        wire["f"], wire["u"] = f, u
        size += 10 + len(str(f)) + len(str(u))
        if size > limit:
            return self._reference(
                number, holder_name, nip, instansi, valid_from, valid_until, revocation, suspension, vc_jwt
            )
        status = [revocation[0], revocation[1], suspension[0], suspension[1]]
        status_size = 5 + 5 + sum(len(str(v)) for v in status)  # brackets and three commas
        if size + status_size <= limit:
            wire["s"] = status
            size += status_size
        text = (instansi or "").strip()
        if text:
            best = self._instansi_cut(text, limit - size - 1)
            if best is not None:
                wire["i"] = best
                size += 5 + _json_len(best)
        if size + 5 + 24 <= limit:
            wire["d"] = b64url_encode(vc_hash[:16]) if vc_hash is not None else qrtoken.vc_digest(vc_jwt)
        return prefix + sign_compact(wire, self.signer.private_key, self.signer.kid, qrtoken.QR_TYP)

    def _instansi_cut(self, text: str, room: int) -> str | None:
        """The longest cut of `text` (qrtoken's rule: at least MIN_INSTANSI characters) whose
        member '"i":"..."' takes at most `room` bytes; memoized, since a batch repeats them."""
        key = (text, room)
        if key in self._cuts:
            return self._cuts[key]
        lo, hi, best = min(qrtoken.MIN_INSTANSI, len(text)), len(text), None
        while lo <= hi:
            mid = (lo + hi) // 2
            cut = qrtoken._cut(text, mid)
            if 4 + _json_len(cut) <= room:
                best, lo = cut, mid + 1
            else:
                hi = mid - 1
        if len(self._cuts) < 100_000:
            self._cuts[key] = best
        return best

    def _reference(
        self,
        number: str,
        holder_name: str,
        nip: str | None,
        instansi: str | None,
        valid_from: datetime,
        valid_until: datetime,
        revocation: tuple[int, int],
        suspension: tuple[int, int],
        vc_jwt: str,
    ) -> str:
        """The rare case (a name so long it must be cut): qrtoken itself."""
        claims = qrtoken.build_qr_claims(
            number=number,
            holder_name=holder_name,
            nip=nip,
            instansi=instansi,
            valid_from=valid_from,
            valid_until=valid_until,
            revocation=qrtoken.QRStatusRef(*revocation),
            suspension=qrtoken.QRStatusRef(*suspension),
            vc_jwt=vc_jwt,
        )
        return qrtoken.make_qr_text(
            self.base, number, claims, self.signer.private_key, self.signer.kid, self.max_length
        )


def qr_nip(nip: str | None) -> str | None:
    """The NIP as the QR token takes it (18 digits), else None."""
    return nip if nip and len(nip) == 18 and nip.isdigit() else None


def _parts(values: Sequence[int], pg: bool) -> Iterable[Sequence[int]]:
    """PostgreSQL takes the whole list as one array parameter; SQLite gets chunks."""
    return [values] if pg else chunks(values)


def _in(column: Any, values: Sequence[int], pg: bool) -> Any:
    """``column IN values``: ``= ANY(:array)`` on PostgreSQL (one parameter, one plan)."""
    if pg:
        return column == any_(bindparam(None, list(values), type_=ARRAY(Integer)))
    return column.in_(values)


async def _lock_sessions(session: AsyncSession, session_ids: Iterable[int]) -> None:
    for sid in sorted(set(session_ids)):
        await serialize(session, f"credential:issue:session:{sid}")


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

    pg = is_postgres(session)
    rows: list[Any] = []
    for part in _parts(ids, pg):
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
            .where(_in(col(Result.id), part, pg), col(Result.passed).is_(True))
        )
        rows.extend((await session.exec(stmt)).all())  # type: ignore[call-overload]
    rows.sort(key=lambda r: r.id)
    # Lock the exam sessions, then see what is already issued: a concurrent publish of the
    # same session waits here and then finds this one's credentials.
    await _lock_sessions(session, {r.session_id for r in rows})
    session_ids = {r.session_id for r in rows}
    # The frozen scheme of each attempt, decoded once per distinct text.
    decoded: dict[str, dict[str, Any]] = {}
    scheme_of: dict[int, dict[str, Any]] = {}
    for r in rows:
        raw = r.scheme_json
        if raw not in decoded:
            decoded[raw] = json.loads(raw)
        scheme_of[r.id] = decoded[raw]
    issued_attempts: set[int] = set()
    for part in _parts([r.attempt_id for r in rows], pg):
        issued_attempts.update(
            a
            for a in (
                await session.exec(
                    select(Credential.attempt_id).where(_in(col(Credential.attempt_id), part, pg))
                )
            ).all()
            if a is not None
        )
    todo = [r for r in rows if r.attempt_id not in issued_attempts]
    skipped = len(rows) - len(todo)
    if not todo:
        return IssuedBatch([], skipped)

    signer = await keystore.active_signer(session, settings)
    year = now.astimezone(ISSUER_TZ).year

    # Renewal: the holder's latest earlier credential of the same scheme.
    schemes = {str(scheme_of[r.id]["code"]) for r in todo}
    users = sorted({r.user_id for r in todo})
    previous: dict[tuple[int, str], int] = {}
    for part in _parts(users, pg):
        prev_rows = (
            await session.exec(
                select(Credential.id, Credential.user_id, Credential.scheme_code)
                .where(_in(col(Credential.user_id), part, pg), col(Credential.scheme_code).in_(schemes))
                .order_by(col(Credential.issued_at), col(Credential.id))
            )
        ).all()
        for cid, uid, code in prev_rows:
            if cid is not None:
                previous[(uid, code)] = cid  # the latest wins

    # Serials, one UPDATE per (scheme, year), in a fixed order.
    by_scheme: dict[str, list[Any]] = defaultdict(list)
    for r in todo:
        by_scheme[str(scheme_of[r.id]["code"])].append(r)
    serial_of: dict[int, int] = {}
    for code in sorted(by_scheme):
        group = by_scheme[code]
        first = await allocate_serials(session, code, year, len(group))
        for offset, r in enumerate(group):
            serial_of[r.id] = first + offset

    # Status list indexes, drawn in memory from the locked lists.
    revocation = _ListAllocator(session, "revocation")
    suspension = _ListAllocator(session, "suspension")
    await revocation.load()
    await suspension.load()
    rev_slots = await revocation.take(len(todo))
    sus_slots = await suspension.take(len(todo))
    revocation.write_back(now)
    suspension.write_back(now)

    records: list[tuple[Any, ...]] = []
    events: list[dict[str, Any]] = []
    scheme_infos: dict[str, SchemeInfo] = {}
    templates: dict[tuple[str, int, bool, bool], CredentialTemplate] = {}
    list_urls: dict[int, str] = {}
    scores: dict[float, str] = {}
    time_text = _iso_z(now)
    qr_builder = QRTextBuilder(settings.base_url, signer)
    table = table_of(Credential)
    actor_id = await _actor_id(session, actor)
    writer = _RowWriter(session, table, _COLUMNS, history=(actor_id, now))
    await writer.open()
    try:
        for i, r in enumerate(todo):
            form_scheme = scheme_of[r.id]
            code = str(form_scheme["code"])
            months = int(form_scheme.get("validity_months") or 36)
            role = ", ".join(p for p in ((r.jabatan or "").strip(), (r.instansi or "").strip()) if p)
            shape = (code, months, bool(r.nip), bool(role))
            template = templates.get(shape)
            if template is None:
                info = scheme_infos.get(code)
                if info is None:
                    info = scheme_infos[code] = _scheme_info(form_scheme)
                template = templates[shape] = CredentialTemplate(
                    settings,
                    info,
                    valid_from=now,
                    validity_months=months,
                    has_nip=shape[2],
                    has_role=shape[3],
                )
            region = r.region_code or UNKNOWN_REGION
            number = format_number(code, region, year, serial_of[r.id])
            salt = new_salt()
            cred_uuid = uuid.uuid4()
            rev_list, rev_index = rev_slots[i]
            sus_list, sus_index = sus_slots[i]
            for list_id in (rev_list, sus_list):
                if list_id not in list_urls:
                    list_urls[list_id] = status_list_url(settings, list_id)
            score = float(r.score)
            score_text = scores.get(score)
            if score_text is None:
                score_text = scores[score] = format_score(max(0.0, min(100.0, score)))
            payload = template.payload(
                {
                    "ID": cred_uuid.urn,
                    "NAME": r.full_name,
                    "NIPHASH": hash_identity(r.nip, salt) if r.nip else "",
                    "SALT": salt,
                    "ROLE": role,
                    "SCORE": score_text,
                    "REVURL": list_urls[rev_list],
                    "REVIDX": str(rev_index),
                    "SUSURL": list_urls[sus_list],
                    "SUSIDX": str(sus_index),
                }
            )
            valid_until = template.valid_until
            vc_jwt = sign_compact(payload, signer.private_key, signer.kid, VC_TYP)
            vc_hash = hashlib.sha256(vc_jwt.encode("ascii")).digest()
            vc_sha256 = vc_hash.hex()
            qr_text = qr_builder.build(
                number=number,
                holder_name=r.full_name,
                nip=qr_nip(r.nip),
                instansi=r.instansi,
                valid_from=now,
                valid_until=valid_until,
                revocation=(rev_list, rev_index),
                suspension=(sus_list, sus_index),
                vc_jwt=vc_jwt,
                vc_hash=vc_hash,
            )
            records.append(
                (
                    number,
                    str(cred_uuid),
                    code,
                    str(form_scheme.get("version", "")),
                    year,
                    region,
                    serial_of[r.id],
                    r.user_id,
                    r.attempt_id,
                    r.id,
                    previous.get((r.user_id, code)),
                    "active",
                    r.full_name,
                    mask_nip(r.nip),
                    salt,
                    r.instansi,
                    now,
                    valid_until,
                    now,
                    signer.kid,
                    vc_jwt,
                    vc_sha256,
                    qr_text,
                    rev_list,
                    rev_index,
                    sus_list,
                    sus_index,
                )
            )
            events.append(
                {
                    "type": "issued",
                    "number": number,
                    "vc_sha256": vc_sha256,
                    "kid": signer.kid,
                    "time": time_text,
                }
            )
            if writer.pipelined and len(records) - writer.sent >= _WRITE_BLOCK:
                await writer.write(records)  # stored while the next block is signed
        await writer.write(records)
        await writer.drain()
    except BaseException:
        await writer.abandon()
        raise

    # The history's "issued" rows, made in the database from the serial blocks just used
    # (PostgreSQL: already made with each block, by the writer).
    ev = table_of(CredentialEvent)
    for code, group in by_scheme.items() if not writer.pipelined else ():
        first = serial_of[group[0].id]
        await session.exec(
            insert(ev).from_select(
                ["credential_id", "action", "reason", "actor_id", "created_at"],
                sa_select(
                    table.c.id,
                    literal("issued"),
                    literal(None, String),
                    literal(actor_id, Integer),
                    literal(now, UTCDateTime()),
                ).where(
                    table.c.scheme_code == code,
                    table.c.year == year,
                    table.c.serial >= first,
                    table.c.serial < first + len(group),
                ),
            )
        )

    from apkd.translog.service import append

    await append(session, events)
    numbers = [rec[0] for rec in records]
    await audit.record(
        session,
        "credentials.issued",
        "exam_session",
        ",".join(str(s) for s in sorted(session_ids))[:64],
        actor=actor,
        details={
            "count": len(records),
            "first": numbers[0],
            "last": numbers[-1],
            "kid": signer.kid,
            "skipped": skipped,
        },
    )
    await session.flush()
    return IssuedBatch(numbers, skipped)


# The credential columns written when issuing, in the order of the row tuples.
_COLUMNS = (
    "number",
    "uuid",
    "scheme_code",
    "scheme_version",
    "year",
    "region_code",
    "serial",
    "user_id",
    "attempt_id",
    "result_id",
    "renews_id",
    "status",
    "holder_name",
    "nip_masked",
    "nip_salt",
    "instansi",
    "valid_from",
    "valid_until",
    "issued_at",
    "kid",
    "vc_jwt",
    "vc_sha256",
    "qr_text",
    "revocation_list_id",
    "revocation_index",
    "suspension_list_id",
    "suspension_index",
)


async def _bulk_insert(
    session: AsyncSession, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert the rows in the session's transaction: COPY on PostgreSQL (asyncpg), one
    driver-level executemany on SQLite, batched INSERTs otherwise."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        conn = await session.connection()
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        if driver is not None and hasattr(driver, "copy_records_to_table"):
            await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))
            return
    if dialect.name == "sqlite":
        sql, converted = _sqlite_rows(table, columns, rows, dialect)
        conn = await session.connection()
        await conn.exec_driver_sql(sql, converted)
        return
    dicts = [dict(zip(columns, row, strict=True)) for row in rows]
    for part in chunks(dicts):
        await session.exec(insert(table), params=list(part))


_WRITE_BLOCK = 250  # credentials per block sent while the next is signed (see _RowWriter)


class _RowWriter:
    """Stores the credential rows; on PostgreSQL, block by block while the next block is signed.

    PostgreSQL does its share of an insert (heap and index writes, foreign-key checks: about
    a third of a batch's time when done after the signing) in its own process, so a block
    sent before the next one is signed costs the issuer little more than the sending. Each
    block is one statement (see _pg_block_insert): the rows from one array per column, and
    their "issued" history rows (``history`` = actor id, time). Never more than one statement
    in flight on the connection: each block waits for the one before it, and drain() for the
    last; after an error, abandon() waits for a block in flight (ignoring its outcome) so the
    connection is idle when the caller rolls back. SQLite and other databases get the rows in
    one _bulk_insert at the end (``pipelined`` is False; the caller writes the history): an
    aiosqlite thread competes with the signing for the interpreter lock, and measured no
    faster.
    """

    def __init__(
        self,
        session: AsyncSession,
        table: Any,
        columns: Sequence[str],
        *,
        history: tuple[int | None, datetime],
    ) -> None:
        self.session = session
        self.table = table
        self.columns = columns
        self.history = history
        self.sent = 0
        self.pipelined = False
        self._task: asyncio.Future[None] | None = None
        self._driver: Any = None
        self._sql = ""

    async def open(self) -> None:
        dialect = self.session.get_bind().dialect
        if dialect.name != "postgresql":
            return
        conn = await self.session.connection()
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        if driver is not None and hasattr(driver, "copy_records_to_table"):  # asyncpg
            self._driver, self.pipelined = driver, True
            self._sql = _pg_block_insert(self.table, self.columns, dialect)

    async def write(self, records: Sequence[tuple[Any, ...]]) -> None:
        """Send records[sent:] (the ones not sent yet)."""
        rows = list(records[self.sent :])
        if not rows:
            return
        self.sent = len(records)
        await self.drain()
        if not self.pipelined:
            await _bulk_insert(self.session, self.table, self.columns, rows)
            return
        columns = [list(column) for column in zip(*rows, strict=True)]
        self._task = asyncio.ensure_future(self._driver.execute(self._sql, *columns, *self.history))
        await asyncio.sleep(0)  # let the block go out before the signing resumes

    async def drain(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await task

    async def abandon(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # retrieved: the caller's own error is the one that matters


_PG_INSERTS: dict[tuple[str, tuple[str, ...]], str] = {}


def _pg_block_insert(table: Any, columns: Sequence[str], dialect: Any) -> str:
    """One statement for a block: the credential rows from one array per column, and their
    "issued" history rows (actor id and time are the last two parameters).

    ``WITH c AS (INSERT INTO credential (c1, ...) SELECT * FROM unnest($1::T1[], ...)
    RETURNING id) INSERT INTO credential_event ... SELECT c.id, 'issued', ... FROM c``; the
    column names and types come from the table definitions.
    """
    key = (table.name, tuple(columns))
    sql = _PG_INSERTS.get(key)
    if sql is None:
        names = ", ".join(table.c[c].name for c in columns)
        arrays = ", ".join(
            f"${i}::{table.c[c].type.compile(dialect=dialect)}[]" for i, c in enumerate(columns, start=1)
        )
        ev = table_of(CredentialEvent)
        actor, at = len(columns) + 1, len(columns) + 2
        sql = _PG_INSERTS[key] = (
            f"WITH c AS (INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays}) RETURNING id)"  # noqa: S608
            f" INSERT INTO {ev.name} (credential_id, action, reason, actor_id, created_at)"
            f" SELECT c.id, 'issued', NULL, ${actor}::{ev.c.actor_id.type.compile(dialect=dialect)},"
            f" ${at}::{ev.c.created_at.type.compile(dialect=dialect)} FROM c"
        )
    return sql


def _sqlite_rows(
    table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]], dialect: Any
) -> tuple[str, list[tuple[Any, ...]]]:
    """The INSERT text and the rows as sqlite3 takes them: values that need SQLAlchemy's bind
    processing (the timestamps, shared by the whole batch) are converted once per distinct
    value; the rest pass through as they are."""
    procs = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    convert = [i for i, proc in enumerate(procs) if proc is not None]
    if convert:
        memo: dict[tuple[int, Any], Any] = {}
        out = []
        for row in rows:
            values = list(row)
            for i in convert:
                v = values[i]
                if v is not None:
                    key = (i, v)
                    if key not in memo:
                        memo[key] = procs[i](v)
                    values[i] = memo[key]
            out.append(tuple(values))
        rows = out
    names = ", ".join(table.c[c].name for c in columns)  # from the table definition
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' for _ in columns)})"  # noqa: S608
    return sql, rows


async def _actor_id(session: AsyncSession, actor: str | None) -> int | None:
    if not actor:
        return None
    return (await session.exec(select(User.id).where(User.username == actor))).first()
