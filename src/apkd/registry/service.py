"""The public registry: look a credential up by number, and verify what a QR code or a vc+jwt
says against the keys, the status lists, the stored record and the transparency log.

Evidence is gathered here (database), judged in apkd.registry.policy (pure). Every database
step is guarded: when the database is out of reach the checks that need it say so (and fail,
fail closed) while the signature is still checked with the keys, which come from the
database when it answers, else from a copy in process memory, else from ``var/jwks.json``
(written whenever the keys are loaded).
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import User
from apkd.banks.models import Scheme
from apkd.config import Settings
from apkd.credentials import service as credentials_service
from apkd.credentials.issuer_keys import public_jwks
from apkd.credentials.models import Credential, CredentialStatus, EffectiveStatus, StatusList
from apkd.credentials.number import NumberError, parse_number
from apkd.httpcache import etag_for
from apkd.registry import policy
from apkd.registry.policy import Context, KeyInfo, LogEvidence, RecordInfo, StatusEvidence, Verdict
from apkd.registry.reads import SessionFactory, guard, read_public
from apkd.signing.keys import KeyFormatError
from apkd.translog.service import find_entries

log = logging.getLogger("apkd.registry")
T = TypeVar("T")

KEY_CACHE_SECONDS = 5.0
DB_DOWN = "Basis data registri tidak dapat dihubungi saat ini"

__all__ = [
    "DB_DOWN",
    "KEYRING",
    "KeyRing",
    "RegistryEntry",
    "VerifyOutcome",
    "find_record",
    "load_jwks",
    "normalize_number",
    "registry_view",
    "verify_number",
    "verify_text",
]


_canonical: dict[str, str] = {}  # valid spellings seen -> canonical (parsing is pure)


def normalize_number(text: str) -> str:
    """The canonical number, or NumberError (Indonesian message) before any lookup."""
    hit = _canonical.get(text) if isinstance(text, str) else None
    if hit is not None:
        return hit
    canonical = parse_number(text).text
    if len(_canonical) >= 4096:
        _canonical.clear()
    _canonical[text] = canonical
    return canonical


# --- keys --------------------------------------------------------------------------------


async def load_jwks(session: AsyncSession) -> dict[str, Any]:
    """The published JWKS (apkd.credentials.issuer_keys.public_jwks): every credential key that
    ever signed, with status; compromised ones under ``compromised_keys``."""
    return await public_jwks(session)


class KeyRing:
    """The trusted credential keys, per process: database first, then memory, then var/jwks.json."""

    def __init__(self) -> None:
        self._keys: dict[str, KeyInfo] | None = None
        self._loaded_at = 0.0
        self._written: dict[Path, str] = {}

    def clear(self) -> None:
        self._keys = None
        self._loaded_at = 0.0
        self._written.clear()

    def fresh(self, kid: str | None = None) -> dict[str, KeyInfo] | None:
        if self._keys is None or time.monotonic() - self._loaded_at > KEY_CACHE_SECONDS:
            return None
        if kid is not None and kid not in self._keys:
            return None  # maybe a key rotated in since: reload
        return self._keys

    def remember(self, doc: dict[str, Any], settings: Settings) -> dict[str, KeyInfo]:
        keys = policy.keyinfos_from_jwks(doc)
        self._keys, self._loaded_at = keys, time.monotonic()
        self._write_file(doc, settings.var_dir / "jwks.json")
        return keys

    def _write_file(self, doc: dict[str, Any], path: Path) -> None:
        text = json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
        if self._written.get(path) == text:
            return
        try:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, path)
            self._written[path] = text
        except OSError as exc:
            log.warning("cannot write %s: %s", path, exc)

    def fallback(self, settings: Settings) -> tuple[dict[str, KeyInfo] | None, str]:
        """Keys when the database is out of reach: memory (any age), else the var/ file."""
        if self._keys is not None:
            return self._keys, "salinan kunci di memori server"
        path = settings.var_dir / "jwks.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            keys = policy.keyinfos_from_jwks(doc)
        except (OSError, ValueError, KeyFormatError):
            return None, f"{DB_DOWN}, dan salinan kunci publik tidak tersedia."
        self._keys, self._loaded_at = keys, time.monotonic() - KEY_CACHE_SECONDS  # stale at once
        return keys, f"berkas {path.name}"


KEYRING = KeyRing()


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryEntry:
    credential: Credential
    scheme_title: str | None


async def find_record(
    session: AsyncSession, *, number: str | None = None, uuid: str | None = None
) -> RegistryEntry | None:
    stmt = select(Credential, Scheme.title).outerjoin(Scheme, Scheme.code == Credential.scheme_code)  # type: ignore[arg-type, call-overload, unused-ignore]
    if number is not None:
        stmt = stmt.where(Credential.number == number)
    elif uuid is not None:
        bare = uuid.removeprefix("urn:uuid:")
        stmt = stmt.where(Credential.uuid.in_([bare, f"urn:uuid:{bare}"]))  # type: ignore[attr-defined]
    else:
        return None
    row = (await session.execute(stmt.limit(1))).first()
    if row is None:
        return None
    return RegistryEntry(credential=row[0], scheme_title=row[1])


def registry_view(entry: RegistryEntry, settings: Settings, now: datetime) -> dict[str, Any]:
    """The public record (docs/contract.md, "Public registry"): no NIK, birth date, score or full NIP."""
    c = entry.credential
    return _view(
        {
            "number": c.number,
            "status": c.status,
            "holder_name": c.holder_name,
            "nip_masked": c.nip_masked,
            "instansi": c.instansi,
            "scheme_code": c.scheme_code,
            "valid_from": c.valid_from,
            "valid_until": c.valid_until,
            "revoked_at": c.revoked_at,
        },
        entry.scheme_title,
        settings,
        now,
    )


def _view(
    c: Mapping[str, Any], scheme_title: str | None, settings: Settings, now: datetime
) -> dict[str, Any]:
    stored = c["status"]
    status: str
    if stored in (CredentialStatus.REVOKED, CredentialStatus.SUSPENDED):
        status = stored
    elif now >= c["valid_until"]:
        status = EffectiveStatus.EXPIRED
    else:
        status = EffectiveStatus.VALID
    view: dict[str, Any] = {
        "number": c["number"],
        "status": status,
        "holder_name": c["holder_name"],
        "nip_masked": c["nip_masked"],
        "instansi": c["instansi"],
        "scheme": {"code": c["scheme_code"], "title": scheme_title or c["scheme_code"]},
        "valid_from": c["valid_from"].astimezone(UTC).isoformat(),
        "valid_until": c["valid_until"].astimezone(UTC).isoformat(),
        "issuer": {"id": settings.issuer_id, "name": settings.issuer_name},
    }
    if stored == CredentialStatus.REVOKED and c["revoked_at"] is not None:
        view["revoked_at"] = c["revoked_at"].astimezone(UTC).date().isoformat()
    return view


async def _bit(session: AsyncSession, list_id: int, index: int) -> bool | None:
    byte = (
        await session.execute(
            select(func.substr(StatusList.bits, index // 8 + 1, 1)).where(StatusList.id == list_id)  # type: ignore[arg-type]
        )
    ).scalar_one_or_none()
    if byte is None or len(bytes(byte)) != 1:
        return None
    return bool(bytes(byte)[0] & (0x80 >> (index % 8)))


async def _log_evidence(session: AsyncSession, cred: Credential) -> LogEvidence | None:
    entries = await find_entries(session, cred.number)
    matching: list[int] = []
    other = False
    for index, event in entries:
        if not isinstance(event, dict) or event.get("type") != "issued":
            continue
        digest = event.get("vc_sha256")
        if digest is None or digest == cred.vc_sha256:
            matching.append(int(index))
        else:
            other = True
    return LogEvidence(tuple(matching), other_digest=other)


@dataclass
class _Gathered:
    entry: RegistryEntry | None
    status: StatusEvidence | None
    status_missing: str | None
    log: LogEvidence | None
    log_missing: str | None


async def _gather(
    session: AsyncSession, *, number: str | None, uuid: str | None, with_log: bool = True
) -> _Gathered:
    entry = await find_record(session, number=number, uuid=uuid)
    if entry is None:
        return _Gathered(None, None, "Sertifikat tidak terdaftar di registri.", None, None)
    cred = entry.credential
    revoked_bit = await _bit(session, cred.revocation_list_id, cred.revocation_index)
    suspended_bit = await _bit(session, cred.suspension_list_id, cred.suspension_index)
    status: StatusEvidence | None = None
    status_missing = None
    if revoked_bit is None or suspended_bit is None:
        status_missing = "Daftar status sertifikat ini tidak ditemukan di registri."
    else:
        status = StatusEvidence(
            revoked=revoked_bit or cred.status == "revoked",
            suspended=suspended_bit or cred.status == "suspended",
            source="daftar status di registri",
            revoked_at=cred.revoked_at,
            suspended_at=cred.suspended_at,
        )
    log_ev = await _log_evidence(session, cred) if with_log else None
    log_missing = None if log_ev is not None else "Log transparansi belum tersedia di server ini."
    return _Gathered(entry, status, status_missing, log_ev, log_missing)


# --- the public record, micro-cached per worker ------------------------------------------------

# A record changes only when it is revoked, suspended or reinstated; each worker keeps the
# rendered record this many seconds (a status change shows within that time), so a busy
# registry does not ask the database for every scan (settings.registry_cache_seconds; 0: off).
_RECORD_CACHE_MAX = 20_000


@dataclass(frozen=True)
class RenderedRecord:
    view: dict[str, Any] | None  # None: no such credential
    body: bytes
    etag: str


_records: dict[str, tuple[float, RenderedRecord]] = {}


def clear_record_cache() -> None:
    _records.clear()


@credentials_service.on_status_change
def _forget_changed(numbers: frozenset[str]) -> None:
    """A revocation, suspension or reinstatement made by this worker shows at once here."""
    for number in numbers:
        _records.pop(number, None)


async def rendered_record(
    factory: SessionFactory, settings: Settings, number: str, now: datetime | None = None
) -> RenderedRecord | None:
    """The public record of `number` (canonical), rendered; None when the database is out of reach."""
    hit = _records.get(number)
    clock = time.monotonic()
    if hit is not None and clock < hit[0]:
        return hit[1]
    found, ok = await read_public(factory, number)
    if not ok:
        return None
    if found is None:
        rendered = RenderedRecord(None, b"", "")
    else:
        view = _view(found[0], found[1], settings, now or datetime.now(UTC))
        body = json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        rendered = RenderedRecord(view, body, etag_for(body))
    if settings.registry_cache_seconds > 0:
        if len(_records) >= _RECORD_CACHE_MAX:
            _records.clear()
        _records[number] = (clock + settings.registry_cache_seconds, rendered)
    return rendered


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyOutcome:
    verdict: Verdict
    entry: RegistryEntry | None
    database_ok: bool
    keys_source: str | None


async def _keys(
    factory: SessionFactory, settings: Settings, kid: str | None
) -> tuple[dict[str, KeyInfo] | None, str, bool]:
    """(keys, source-or-missing-reason, database_answered)."""
    cached = KEYRING.fresh(kid)
    if cached is not None:
        return cached, "kunci penerbit", True
    doc, ok = await guard(factory, load_jwks)
    if ok and doc is not None:
        return KEYRING.remember(doc, settings), "kunci penerbit", True
    keys, source = KEYRING.fallback(settings)
    return keys, source, False


async def verify_text(
    factory: SessionFactory,
    settings: Settings,
    text: object,
    *,
    now: datetime | None = None,
    number_hint: str | None = None,
) -> VerifyOutcome:
    """Verify a QR text, bare QR token or vc+jwt against everything the server knows.

    `number_hint`: the number of the page the token came with (/v/<number>?t=...); a QR token
    signed for another number then fails the signature check.
    """
    now = now or datetime.now(UTC)
    presented = policy.parse_input(text)
    if number_hint is not None and presented.number is None and presented.kind == "qr":
        presented = dataclasses.replace(presented, number=number_hint)
    ctx = Context(presented=presented, issuer_id=settings.issuer_id, now=now)
    if presented.error:
        return VerifyOutcome(policy.evaluate(ctx), None, True, None)
    keys, source, db_ok = await _keys(factory, settings, presented.kid)
    ctx.keys = keys
    if keys is None:
        ctx.keys_missing = source
    # Judge the signature first: the database is asked only about authentic tokens.
    claims, _ = policy.verify_signature(presented, keys) if keys is not None else (None, None)
    entry: RegistryEntry | None = None
    if claims is not None:
        number = claims.number or presented.number
        lookup_number: str | None = None
        if number is not None:
            try:
                lookup_number = normalize_number(number)
            except NumberError:
                lookup_number = None
        gathered: _Gathered | None = None
        if db_ok and (lookup_number is not None or claims.credential_id is not None):

            async def run(session: AsyncSession) -> _Gathered:
                return await _gather(
                    session,
                    number=lookup_number,
                    uuid=None if lookup_number is not None else claims.credential_id,
                )

            gathered, db_ok = await guard(factory, run)
        _fill(ctx, gathered, db_ok, source)
        entry = gathered.entry if gathered is not None else None
    verdict = policy.evaluate(ctx)
    return VerifyOutcome(verdict, entry, db_ok, source)


def _fill(ctx: Context, gathered: _Gathered | None, db_ok: bool, key_source: str) -> None:
    if gathered is None:
        why = (
            f"{DB_DOWN}; tanda tangan diperiksa dengan {key_source}."
            if not db_ok
            else "Tidak dapat dicari di registri: token tidak memuat nomor sertifikat."
        )
        ctx.status_missing = ctx.record_missing = ctx.log_missing = why
        return
    if gathered.entry is None:
        ctx.record_absent = True
        ctx.status_missing = ctx.log_missing = "Sertifikat tidak terdaftar di registri."
        return
    cred = gathered.entry.credential
    ctx.record = RecordInfo(
        number=cred.number,
        holder_name=cred.holder_name,
        valid_from=cred.valid_from,
        valid_until=cred.valid_until,
        vc_sha256=cred.vc_sha256,
        uuid=cred.uuid,
        nip_masked=cred.nip_masked,
    )
    ctx.status = gathered.status
    if gathered.status_missing:
        ctx.status_missing = gathered.status_missing
    ctx.log = gathered.log
    if gathered.log_missing:
        ctx.log_missing = gathered.log_missing


async def verify_number(
    factory: SessionFactory, settings: Settings, number: str, *, now: datetime | None = None
) -> tuple[VerifyOutcome | None, bool]:
    """The registry's own credential for `number`, verified like any vc+jwt.

    (outcome, True) when found; (None, True) when unknown; (None, False) when the database
    cannot be reached.
    """
    entry, ok = await guard(factory, lambda s: find_record(s, number=number))
    if not ok:
        return None, False
    if entry is None:
        return None, True
    outcome = await verify_text(factory, settings, entry.credential.vc_jwt, now=now)
    return outcome, True


async def verify_credential_json(
    factory: SessionFactory, settings: Settings, doc: object, *, now: datetime | None = None
) -> VerifyOutcome:
    """Verify the credential as JSON with its Data Integrity proof (eddsa-rdfc-2022): the proof
    against the issuer's keys as Multikeys (apkd.credentials.issuer_keys.verification_method),
    then the credential must be, member for member, the registry's own one, whose vc+jwt then
    goes through every other check. A check "data_integrity" leads the list."""
    from apkd.credentials.issuer_keys import verification_method
    from apkd.credentials.service import credential_document
    from apkd.signing.dataintegrity import DataIntegrityError, verify_proof

    now = now or datetime.now(UTC)

    def failed(detail: str, entry: RegistryEntry | None = None) -> VerifyOutcome:
        check = policy.Check("data_integrity", False, detail)
        ctx = Context(presented=policy.parse_input(""), issuer_id=settings.issuer_id, now=now)
        base = policy.evaluate(ctx)
        verdict = dataclasses.replace(base, valid=False, status=policy.Status.INVALID, checks=(check,))
        return VerifyOutcome(verdict, entry, True, None)

    if not isinstance(doc, dict):
        return failed("Kredensial JSON harus berupa objek.")
    keys, source, _db_ok = await _keys(factory, settings, None)
    if keys is None:
        return failed(f"Kunci penerbit tidak tersedia: {source}.")
    by_method = {verification_method(settings, k.key): k for k in keys.values() if k.status != "compromised"}
    proofs = doc.get("proof")
    named = {
        p.get("verificationMethod")
        for p in (proofs if isinstance(proofs, list) else [proofs])
        if isinstance(p, dict)
    }
    if not named <= set(by_method):  # a key newer than this worker's cached keyring: look again
        fresh, ok = await guard(factory, load_jwks)
        if ok and fresh is not None:
            keys = KEYRING.remember(fresh, settings)
            by_method = {
                verification_method(settings, k.key): k for k in keys.values() if k.status != "compromised"
            }
    try:
        await anyio.to_thread.run_sync(
            lambda: verify_proof(doc, lambda m: k.key if (k := by_method.get(m)) else None)
        )
    except DataIntegrityError as exc:
        return failed(f"Bukti Data Integrity tidak sah: {exc}.")
    cred_id = doc.get("id")
    entry, ok = (
        await guard(factory, lambda s: find_record(s, uuid=str(cred_id)))
        if isinstance(cred_id, str)
        else (None, True)
    )
    if entry is None:
        return failed("Kredensial tidak terdaftar di registri." if ok else DB_DOWN)
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    if unsecured != credential_document(entry.credential):
        return failed("Isi kredensial berbeda dari yang diterbitkan.", entry)
    outcome = await verify_text(factory, settings, entry.credential.vc_jwt, now=now)
    check = policy.Check(
        "data_integrity", True, "Bukti Data Integrity (eddsa-rdfc-2022) sah, dengan kunci penerbit."
    )
    verdict = dataclasses.replace(outcome.verdict, checks=(check, *outcome.verdict.checks))
    return dataclasses.replace(outcome, verdict=verdict)


async def nip_match(factory: SessionFactory, outcome: VerifyOutcome, nip: str) -> bool | None:
    """Whether `nip` is the NIP of the holder of the verified credential: True/False, or None
    when it cannot be said (the token is not authentic, the credential is not in the
    registry, or the database is out of reach). Compared in constant time; never logged."""
    if outcome.entry is None or outcome.verdict.claims is None:
        return None
    digits = "".join(nip.split())
    given = digits if len(digits) == 18 and digits.isascii() and digits.isdigit() else None
    user_id = outcome.entry.credential.user_id

    async def stored(session: AsyncSession) -> str | None:
        stmt = select(col(User.nip)).where(col(User.id) == user_id)
        return (await session.execute(stmt)).scalar_one_or_none()

    value, ok = await guard(factory, stored)
    if not ok:
        return None
    if not value or given is None:
        return False
    return hmac.compare_digest(given.encode("ascii"), value.encode("ascii"))


def session_factory_of(app_state: Any) -> async_sessionmaker[AsyncSession]:
    return app_state.session_factory
