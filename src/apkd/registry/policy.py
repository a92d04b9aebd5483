"""Verification policy: small composable checks that fail closed. Pure module (no database).

In the style of sigstore-python: verification is a list of independent checks, each a
function of one :class:`Context` returning a :class:`Check` (``name``, ``ok``, an Indonesian
``detail``). A check that could not run (no keys, database out of reach, ...) is a failure
with the reason, never a pass; a check that raises is turned into such a failure too. The
overall verdict is ``valid`` only when every check of the policy ran and passed.

The caller gathers the evidence (trusted keys, status bits, the stored record, the log
entries) from wherever it has them: the database on the server (apkd.registry.service), a
JWKS file and a fetched status list in ``apkd verify``. Evidence that is ``None`` is
"could not be checked"; a policy built without a check (``OFFLINE_CHECKS``) says so
explicitly, so that "valid as of now, status not checked offline" is never mistaken for a
full verification.

Two kinds of input are accepted:

- a QR code's text (``<base>/v/<number>?t=<token>``) or its bare token: a compact JWS made
  by apkd.credentials.qrtoken, holding the number, the holder's name, the validity period
  and a prefix of the credential's SHA-256;
- a ``vc+jwt``: the full credential (W3C VC 2.0, Open Badges 3.0) as a compact JWS.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from apkd.credentials import qrtoken
from apkd.credentials.number import NumberError, ParsedNumber, parse_number
from apkd.credentials.qrtoken import QRClaims
from apkd.signing import jws
from apkd.signing.keys import b64url_decode
from apkd.timefmt import format_date_id

_WITA = ZoneInfo("Asia/Makassar")

__all__ = [
    "FULL_CHECKS",
    "MAX_INPUT_CHARS",
    "OFFLINE_CHECKS",
    "QR_TYP",
    "VC_TYP",
    "Check",
    "Claims",
    "Context",
    "KeyInfo",
    "LogEvidence",
    "Presented",
    "RecordInfo",
    "StatusEvidence",
    "Verdict",
    "evaluate",
    "keyinfos_from_jwks",
    "parse_input",
    "read_status_list",
    "status_from_lists",
    "verify_offline",
    "verify_signature",
]

VC_TYP = "vc+jwt"
QR_TYP = qrtoken.QR_TYP
# Input larger than this is refused before any parsing (a vc+jwt is a few KB).
MAX_INPUT_CHARS = 16 * 1024

Status = Literal["valid", "revoked", "suspended", "expired", "invalid", "unknown"]


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One check's outcome. `ran` is False when the check could not be performed (then `ok`
    is False too: fail closed)."""

    name: str
    ok: bool
    detail: str
    ran: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "checked": self.ran}


def _d(dt: datetime) -> str:
    """A date as Indonesian write it ("12 Maret 2027"), in the issuer's zone (WITA)."""
    return format_date_id(dt.astimezone(_WITA))


def _pass(name: str, detail: str) -> Check:
    return Check(name, True, detail)


def _fail(name: str, detail: str) -> Check:
    return Check(name, False, detail)


def _not_run(name: str, detail: str) -> Check:
    return Check(name, False, detail, ran=False)


# --- what was presented --------------------------------------------------------------------


@dataclass(frozen=True)
class Presented:
    """The input, split but NOT verified. `error` is set when it could not even be parsed."""

    kind: Literal["qr", "vc", "unknown"]
    token: str = ""
    number: str | None = None  # from the URL path, when the input was a QR URL
    kid: str | None = None
    typ: str | None = None
    error: str | None = None


def _looks_like_jws(text: str) -> bool:
    head, _, rest = text.partition(".")
    return text.count(".") == 2 and bool(head) and bool(rest.split(".")[0])


def _peek_header(token: str) -> dict[str, Any]:
    """The protected header, unverified: only to pick the verification path (kind, kid).
    The signature check re-parses it strictly; ValueError when it is not a JSON object."""
    import base64
    import json

    segment = token.split(".", 1)[0]
    if len(segment) > 2048:
        raise ValueError("header too long")
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    header = json.loads(raw)
    if not isinstance(header, dict):
        raise ValueError("header is not an object")
    return header


def parse_input(text: object) -> Presented:
    """Split a QR text (URL or bare token) or a vc+jwt. Never raises."""
    if not isinstance(text, str):
        return Presented("unknown", error="Masukan harus berupa teks.")
    text = text.strip()
    if not text:
        return Presented("unknown", error="Masukan kosong.")
    if len(text) > MAX_INPUT_CHARS:
        return Presented("unknown", error=f"Masukan terlalu panjang (lebih dari {MAX_INPUT_CHARS} karakter).")
    number: str | None = None
    token = text
    if text.lower().startswith(("http://", "https://")):
        try:
            parts = urlsplit(text)
        except ValueError:
            return Presented("unknown", error="Alamat pada kode QR tidak dapat dibaca.")
        segments = [unquote(s) for s in parts.path.split("/") if s]
        if len(segments) >= 2 and segments[-2] == "v":
            number = segments[-1]
        values = parse_qs(parts.query).get("t", [])
        if len(values) != 1 or not values[0]:
            return Presented(
                "unknown",
                number=number,
                error="Alamat tidak memuat token bertanda tangan (parameter t); "
                "hanya nomor yang dapat dicari di registri.",
            )
        token = values[0].strip()
    if not _looks_like_jws(token):
        return Presented(
            "unknown", number=number, error="Bukan token bertanda tangan (JWS ringkas tiga bagian)."
        )
    try:
        header = _peek_header(token)
    except ValueError:
        return Presented("unknown", number=number, error="Kepala (header) token tidak dapat dibaca.")
    typ = header.get("typ")
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    typ_norm = typ.lower().removeprefix("application/") if isinstance(typ, str) else None
    kind: Literal["qr", "vc", "unknown"] = "vc" if typ_norm == VC_TYP else "qr"
    return Presented(kind, token=token, number=number, kid=kid, typ=typ if isinstance(typ, str) else None)


# --- verified claims -------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusRef:
    purpose: str  # revocation | suspension
    list_url: str
    index: int


@dataclass(frozen=True)
class Claims:
    """What an authentic token says, normalised over the QR token and the vc+jwt."""

    kind: Literal["qr", "vc"]
    number: str | None = None
    credential_id: str | None = None  # urn:uuid:...
    holder_name: str | None = None
    issuer: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    digest: str | None = None  # hex SHA-256 of the vc+jwt (full for a vc, a prefix for a QR token)
    nip_masked: str | None = None
    instansi: str | None = None
    scheme_code: str | None = None
    scheme_title: str | None = None
    # for a QR token, list_url is relative to the issuer's base URL ("/api/v1/status-lists/<id>")
    status_refs: tuple[StatusRef, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)


def _time(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            return None
        return dt.astimezone(UTC)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _first(payload: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in payload:
            return payload[name]
    return None


def vc_digest(vc_jwt: str) -> str:
    """The credential's digest as stored (credential.vc_sha256): hex SHA-256 of the vc+jwt text."""
    return hashlib.sha256(vc_jwt.encode("ascii", "replace")).hexdigest()


def claims_from_vc(payload: Mapping[str, Any], token: str) -> Claims:
    issuer = payload.get("issuer")
    issuer_id = _str(issuer.get("id")) if isinstance(issuer, dict) else _str(issuer)
    iss = _str(payload.get("iss"))
    if iss is not None and issuer_id is not None and iss != issuer_id:
        issuer_id = None  # disagreeing issuers: treated as no issuer (the issuer check fails)
    subject = payload.get("credentialSubject")
    holder = None
    scheme_code = scheme_title = None
    if isinstance(subject, dict):
        for ident in subject.get("identifier") or []:
            if isinstance(ident, dict) and ident.get("identityType") == "name" and not ident.get("hashed"):
                holder = _str(ident.get("identityHash"))
        achievement = subject.get("achievement")
        if isinstance(achievement, dict):
            scheme_code = _str(achievement.get("humanCode"))
            scheme_title = _str(achievement.get("name"))
    refs: list[StatusRef] = []
    statuses = payload.get("credentialStatus")
    if isinstance(statuses, dict):
        statuses = [statuses]
    for entry in statuses if isinstance(statuses, list) else []:
        if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
            continue
        try:
            index = int(str(entry.get("statusListIndex")))
        except ValueError:
            continue
        url, purpose = _str(entry.get("statusListCredential")), _str(entry.get("statusPurpose"))
        if url and purpose and index >= 0:
            refs.append(StatusRef(purpose, url, index))
    valid_from = _time(payload.get("validFrom"))
    valid_until = _time(payload.get("validUntil"))
    return Claims(
        kind="vc",
        number=_str(_first(payload, "credentialNumber", "number")),
        credential_id=_str(payload.get("id")) or _str(payload.get("jti")),
        holder_name=holder,
        issuer=issuer_id,
        valid_from=valid_from,
        valid_until=valid_until,
        digest=vc_digest(token),
        scheme_code=scheme_code,
        scheme_title=scheme_title,
        status_refs=tuple(refs),
        raw=payload,
    )


def claims_from_qr(qr: QRClaims) -> Claims:
    """The claims of a verified QR token (apkd.credentials.qrtoken), normalised."""
    digest = None
    if qr.vc_digest is not None:
        try:
            digest = b64url_decode(qr.vc_digest).hex()
        except ValueError:
            digest = None
    refs: list[StatusRef] = []
    for purpose, ref in (("revocation", qr.revocation), ("suspension", qr.suspension)):
        if ref is not None:
            refs.append(StatusRef(purpose, f"/api/v1/status-lists/{ref.list_id}", ref.index))
    return Claims(
        kind="qr",
        number=qr.number,
        holder_name=qr.holder_name,
        nip_masked=qr.nip_masked,
        valid_from=qr.valid_from,
        valid_until=qr.valid_until,
        digest=digest,
        scheme_code=_parsed(qr.number).scheme,
        status_refs=tuple(refs),
        instansi=qr.instansi,
    )


# --- evidence --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    key: Ed25519PublicKey
    status: str = "active"  # active | retired | compromised
    compromised_at: datetime | None = None
    compromise_reason: str | None = None


@dataclass(frozen=True)
class StatusEvidence:
    revoked: bool
    suspended: bool
    source: str  # "basis data" | "daftar status <url>"
    revoked_at: datetime | None = None
    suspended_at: datetime | None = None


@dataclass(frozen=True)
class RecordInfo:
    """The registry's stored credential, as far as the checks need it."""

    number: str
    holder_name: str
    valid_from: datetime
    valid_until: datetime
    vc_sha256: str
    uuid: str | None = None
    nip_masked: str | None = None


@dataclass(frozen=True)
class LogEvidence:
    indexes: tuple[int, ...]  # log indexes of "issued" events matching the stored credential
    other_digest: bool = False  # an "issued" event exists, but for another credential digest


@dataclass
class Context:
    """Everything the checks look at. `None` evidence with a `*_missing` reason = could not be had."""

    presented: Presented
    issuer_id: str
    now: datetime
    keys: Mapping[str, KeyInfo] | None = None
    keys_missing: str = "Kunci publik penerbit tidak tersedia."
    status: StatusEvidence | None = None
    status_missing: str = "Status pencabutan/pembekuan tidak dapat diperiksa."
    record: RecordInfo | None = None
    record_missing: str = "Catatan registri tidak dapat diperiksa."
    record_absent: bool = False  # the registry answered: no such credential
    log: LogEvidence | None = None
    log_missing: str = "Log transparansi tidak dapat diperiksa."
    # filled by the signature check
    claims: Claims | None = None
    signature_error: str | None = None


def verify_signature(presented: Presented, keys: Mapping[str, KeyInfo]) -> tuple[Claims | None, str | None]:
    """(claims, None) when the token verifies with a key of `keys` by its kid, else (None, why)."""
    trusted = {kid: info.key for kid, info in keys.items()}
    try:
        if presented.kind == "vc":
            verified = jws.verify_compact(presented.token, trusted, VC_TYP)
            return claims_from_vc(verified.payload, presented.token), None
        return claims_from_qr(qrtoken.verify_qr_token(presented.token, trusted)), None
    except jws.JWSError as exc:
        reasons = {
            "malformed": "Token rusak atau tidak lengkap.",
            "bad_header": "Kepala token tidak diterima (algoritme harus EdDSA; 'none', HS256 dan "
            "sejenisnya ditolak).",
            "unknown_kid": f"Token ditandatangani dengan kunci yang tidak dikenal penerbit "
            f"(kid {presented.kid!r}).",
            "bad_signature": "Tanda tangan tidak cocok: token dipalsukan atau isinya diubah.",
            "bad_typ": "Jenis token (typ) tidak sesuai.",
            "bad_payload": "Tanda tangan sah, tetapi isi token tidak sesuai format apkd.",
        }
        return None, reasons.get(exc.code, "Tanda tangan tidak sah.")


# --- the checks ---------------------------------------------------------------------------------

CheckFn = Callable[[Context], Check]


def check_format(ctx: Context) -> Check:
    p = ctx.presented
    if p.error:
        return _fail("format", p.error)
    what = "kredensial lengkap (vc+jwt)" if p.kind == "vc" else "token kode QR"
    if p.number is not None:
        try:
            _parse_number_cached(p.number)
        except NumberError as exc:
            return _fail("format", f"Nomor sertifikat pada alamat tidak sah: {exc}")
    return _pass("format", f"Masukan terbaca sebagai {what}.")


@lru_cache(maxsize=4096)
def _parsed(number: str) -> ParsedNumber:
    return parse_number(number)


def _parse_number_cached(number: str) -> str:
    return _parsed(number).text


def _canon(number: str) -> str:
    try:
        return _parse_number_cached(number)
    except NumberError:
        return number.strip().upper()


def check_signature(ctx: Context) -> Check:
    p = ctx.presented
    if p.error:
        return _not_run("signature", "Tidak diperiksa: masukan tidak terbaca.")
    if ctx.keys is None:
        return _not_run("signature", ctx.keys_missing)
    claims, error = verify_signature(p, ctx.keys)
    if claims is None:
        ctx.signature_error = error
        return _fail("signature", error or "Tanda tangan tidak sah.")
    ctx.claims = claims
    if (
        p.kind == "qr"
        and p.number is not None
        and claims.number is not None
        and _canon(p.number) != claims.number
    ):
        ctx.claims = None
        return _fail("signature", "Nomor pada alamat berbeda dengan nomor yang ditandatangani.")
    return _pass("signature", f"Tanda tangan Ed25519 sah, dengan kunci penerbit {p.kid}.")


def _need_claims(ctx: Context, name: str) -> Check | None:
    if ctx.claims is None:
        return _not_run(name, "Tidak diperiksa: tanda tangan belum terbukti sah.")
    return None


def check_key_not_compromised(ctx: Context) -> Check:
    name = "key_not_compromised"
    if ctx.keys is None:
        return _not_run(name, ctx.keys_missing)
    kid = ctx.presented.kid
    info = ctx.keys.get(kid) if kid else None
    if info is None:
        return _not_run(name, "Tidak diperiksa: kunci penandatangan tidak dikenal.")
    if info.status == "compromised":
        when = f" sejak {_d(info.compromised_at)}" if info.compromised_at else ""
        why = f": {info.compromise_reason}" if info.compromise_reason else ""
        return _fail(
            name, f"Kunci penandatangan dinyatakan bocor{when}{why}. Token dengan kunci ini tidak sah."
        )
    state = "aktif" if info.status == "active" else "sudah dipensiunkan, tetap sah untuk verifikasi"
    return _pass(name, f"Kunci penandatangan tidak dinyatakan bocor ({state}).")


def check_issuer(ctx: Context) -> Check:
    name = "issuer"
    if (missing := _need_claims(ctx, name)) is not None:
        return missing
    assert ctx.claims is not None
    issuer = ctx.claims.issuer
    if issuer is None:
        if ctx.claims.kind == "qr":
            # A QR token is bound to the issuer by its signing key (apkd's JWKS) alone.
            return _pass(name, "Token kode QR ditandatangani dengan kunci penerbit ini.")
        return _fail(name, "Kredensial tidak menyebut penerbit (atau iss dan issuer.id berbeda).")
    if not hmac.compare_digest(issuer.encode(), ctx.issuer_id.encode()):
        return _fail(name, f"Penerbit {issuer!r} bukan penerbit registri ini ({ctx.issuer_id}).")
    return _pass(name, f"Diterbitkan oleh {ctx.issuer_id}.")


def check_validity_period(ctx: Context) -> Check:
    name = "validity_period"
    if (missing := _need_claims(ctx, name)) is not None:
        return missing
    assert ctx.claims is not None
    start, end = ctx.claims.valid_from, ctx.claims.valid_until
    if start is None or end is None:
        return _fail(name, "Masa berlaku tidak tercantum dengan benar.")
    if ctx.now < start:
        return _fail(name, f"Belum berlaku: mulai berlaku {_d(start)}.")
    if ctx.now >= end:
        return _fail(name, f"Kedaluwarsa: masa berlaku berakhir {_d(end)}.")
    return _pass(name, f"Dalam masa berlaku ({_d(start)} s.d. {_d(end)}).")


def check_revocation(ctx: Context) -> Check:
    name = "revocation"
    if (missing := _need_claims(ctx, name)) is not None:
        return missing
    if ctx.status is None:
        return _not_run(name, ctx.status_missing)
    if ctx.status.revoked:
        when = f" pada {_d(ctx.status.revoked_at)}" if ctx.status.revoked_at else ""
        return _fail(name, f"Sertifikat DICABUT{when} (sumber: {ctx.status.source}).")
    return _pass(name, f"Tidak dicabut (sumber: {ctx.status.source}).")


def check_suspension(ctx: Context) -> Check:
    name = "suspension"
    if (missing := _need_claims(ctx, name)) is not None:
        return missing
    if ctx.status is None:
        return _not_run(name, ctx.status_missing)
    if ctx.status.suspended:
        return _fail(name, f"Sertifikat sedang DIBEKUKAN (sumber: {ctx.status.source}).")
    return _pass(name, f"Tidak dibekukan (sumber: {ctx.status.source}).")


def check_registry_record(ctx: Context) -> Check:
    name = "registry_record"
    if (missing := _need_claims(ctx, name)) is not None:
        return missing
    assert ctx.claims is not None
    rec = ctx.record
    if rec is None and ctx.record_absent:
        return _fail(name, "Sertifikat ini tidak terdaftar di registri penerbit.")
    if rec is None:
        return _not_run(name, ctx.record_missing)
    c = ctx.claims
    problems: list[str] = []
    if c.number is not None and c.number.upper() != rec.number.upper():
        problems.append("nomor")
    if (
        c.credential_id is not None
        and rec.uuid is not None
        and c.credential_id.removeprefix("urn:uuid:") != rec.uuid.removeprefix("urn:uuid:")
    ):
        problems.append("id kredensial")
    if c.holder_name is None or c.holder_name != rec.holder_name:
        problems.append("nama pemegang")
    if c.valid_from is None or c.valid_from.replace(microsecond=0) != rec.valid_from.replace(microsecond=0):
        problems.append("awal masa berlaku")
    if c.valid_until is None or c.valid_until.replace(microsecond=0) != rec.valid_until.replace(
        microsecond=0
    ):
        problems.append("akhir masa berlaku")
    if c.nip_masked is not None and rec.nip_masked is not None and c.nip_masked != rec.nip_masked:
        problems.append("NIP tersamar")
    digest = (c.digest or "").lower()
    if c.kind == "qr" and not digest:
        pass  # the QR token had no room for its digest ("d" is optional): the rest must agree
    elif len(digest) < 8 or not rec.vc_sha256.lower().startswith(digest):
        problems.append("sidik SHA-256 kredensial")
    if problems:
        return _fail(name, "Tidak cocok dengan catatan registri: " + ", ".join(problems) + ".")
    return _pass(name, f"Cocok dengan catatan registri nomor {rec.number}.")


def check_in_log(ctx: Context) -> Check:
    name = "in_log"
    if (missing := _need_claims(ctx, name)) is not None:
        return missing
    if ctx.log is None:
        return _not_run(name, ctx.log_missing)
    if not ctx.log.indexes:
        if ctx.log.other_digest:
            return _fail(
                name, "Log transparansi mencatat penerbitan dengan isi berbeda: catatan registri diubah."
            )
        return _fail(name, "Penerbitan sertifikat ini tidak tercatat di log transparansi.")
    where = ", ".join(str(i) for i in ctx.log.indexes[:3])
    return _pass(name, f"Penerbitan tercatat di log transparansi (entri {where}).")


FULL_CHECKS: tuple[CheckFn, ...] = (
    check_format,
    check_signature,
    check_key_not_compromised,
    check_issuer,
    check_validity_period,
    check_revocation,
    check_suspension,
    check_registry_record,
    check_in_log,
)
OFFLINE_CHECKS: tuple[CheckFn, ...] = (
    check_format,
    check_signature,
    check_key_not_compromised,
    check_issuer,
    check_validity_period,
)
OFFLINE_WITH_STATUS: tuple[CheckFn, ...] = (*OFFLINE_CHECKS, check_revocation, check_suspension)

_NAMES = {
    "check_format": "format",
    "check_signature": "signature",
    "check_key_not_compromised": "key_not_compromised",
    "check_issuer": "issuer",
    "check_validity_period": "validity_period",
    "check_revocation": "revocation",
    "check_suspension": "suspension",
    "check_registry_record": "registry_record",
    "check_in_log": "in_log",
}


@dataclass(frozen=True)
class Verdict:
    valid: bool
    status: Status
    checks: tuple[Check, ...]
    claims: Claims | None
    not_checked: tuple[str, ...] = ()  # checks left out of this policy on purpose (offline)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)


_INVALIDATING = ("format", "signature", "key_not_compromised", "issuer", "registry_record", "in_log")


def _status_of(checks: Sequence[Check]) -> Status:
    by_name = {c.name: c for c in checks}
    for name in _INVALIDATING:
        c = by_name.get(name)
        if c is not None and not c.ok and c.ran:
            return "invalid"
    if any(not c.ok and not c.ran and c.name in ("format", "signature") for c in checks):
        return "unknown"
    revoked, suspended, period = (
        by_name.get("revocation"),
        by_name.get("suspension"),
        by_name.get("validity_period"),
    )
    if revoked is not None and revoked.ran and not revoked.ok:
        return "revoked"
    if suspended is not None and suspended.ran and not suspended.ok:
        return "suspended"
    if period is not None and period.ran and not period.ok:
        return "expired"
    if all(c.ok for c in checks):
        return "valid"
    return "unknown"


def evaluate(ctx: Context, checks: Sequence[CheckFn] = FULL_CHECKS) -> Verdict:
    """Run every check (none short-circuits, so all reasons are reported); fail closed."""
    results: list[Check] = []
    for fn in checks:
        name = _NAMES.get(getattr(fn, "__name__", ""), getattr(fn, "__name__", "check"))
        try:
            result = fn(ctx)
        except Exception as exc:  # a check that crashes did not pass
            result = _not_run(name, f"Pemeriksaan gagal dijalankan ({type(exc).__name__}).")
        results.append(result)
    included = {getattr(fn, "__name__", "") for fn in checks}
    left_out = tuple(_NAMES[n] for n in _NAMES if n not in included)
    valid = bool(results) and all(c.ok and c.ran for c in results)
    return Verdict(valid, _status_of(results), tuple(results), ctx.claims, left_out)


def keyinfos_from_jwks(doc: Mapping[str, Any]) -> dict[str, KeyInfo]:
    """kid -> KeyInfo for every Ed25519 key of a JWK Set, with its published status (an
    apkd JWKS may carry ``status``, ``compromised_at`` and ``compromise_reason`` members).

    Raises apkd.signing.keys.KeyFormatError on a set that apkd would not publish.
    """
    from apkd.signing.keys import keys_from_jwks, thumbprint

    entries = [*(doc.get("keys") or []), *(doc.get("compromised_keys") or [])]
    public = keys_from_jwks({"keys": entries})
    out: dict[str, KeyInfo] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        kid = thumbprint(entry)
        status = entry.get("status") if isinstance(entry.get("status"), str) else "active"
        if entry in (doc.get("compromised_keys") or []):
            status = "compromised"
        reason = entry.get("compromise_reason")
        out[kid] = KeyInfo(
            kid=kid,
            key=public[kid],
            status=str(status),
            compromised_at=_time(entry.get("compromised_at")),
            compromise_reason=reason if isinstance(reason, str) else None,
        )
    return out


# --- offline verification (apkd verify, and anyone holding the JWKS) -------------------------


@dataclass(frozen=True)
class StatusList:
    """A verified status list credential: its URL (id), purpose and bits."""

    url: str
    purpose: str
    bits: bytes

    def get(self, index: int) -> bool:
        if not 0 <= index < len(self.bits) * 8:
            raise IndexError(index)
        return bool(self.bits[index >> 3] & (0x80 >> (index & 7)))


class StatusListInvalid(ValueError):
    """A status list credential that must not be trusted (the message is Indonesian)."""


def read_status_list(token: str, keys: Mapping[str, KeyInfo], issuer_id: str, now: datetime) -> StatusList:
    """Verify a BitstringStatusListCredential (vc+jwt) with the issuer's keys and decode it."""
    from apkd.credentials.statuslist import StatusListError, decode_list

    trusted = {kid: k.key for kid, k in keys.items() if k.status != "compromised"}
    try:
        verified = jws.verify_compact(token.strip(), trusted, VC_TYP)
    except jws.JWSError as exc:
        raise StatusListInvalid(f"tanda tangan daftar status tidak sah ({exc.code})") from None
    doc = verified.payload
    issuer = doc.get("issuer")
    issuer_value = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if issuer_value != issuer_id:
        raise StatusListInvalid("daftar status diterbitkan oleh pihak lain")
    types = doc.get("type") or []
    subject = doc.get("credentialSubject")
    if "BitstringStatusListCredential" not in types or not isinstance(subject, Mapping):
        raise StatusListInvalid("bukan kredensial daftar status (BitstringStatusListCredential)")
    until = _time(doc.get("validUntil"))
    if until is not None and now >= until:
        raise StatusListInvalid("daftar status sudah kedaluwarsa; ambil yang terbaru")
    url, purpose = _str(doc.get("id")), _str(subject.get("statusPurpose"))
    if url is None or purpose is None:
        raise StatusListInvalid("daftar status tidak lengkap")
    try:
        bits = decode_list(str(subject.get("encodedList")))
    except StatusListError as exc:
        raise StatusListInvalid(f"daftar status rusak: {exc}") from None
    return StatusList(url=url, purpose=purpose, bits=bits)


def status_from_lists(
    claims: Claims, lists: Sequence[StatusList], base_url: str | None = None
) -> tuple[StatusEvidence | None, str]:
    """Status evidence from verified lists for the token's status entries; (None, why) when
    a needed list or entry is missing. A QR token's list URLs are relative to `base_url`."""
    by_url = {sl.url: sl for sl in lists}
    found: dict[str, bool] = {}
    sources: list[str] = []
    for ref in claims.status_refs:
        url = ref.list_url
        if url.startswith("/"):
            if base_url is None:
                return None, "alamat daftar status tidak diketahui"
            url = base_url.rstrip("/") + url
        sl = by_url.get(url)
        if sl is None:
            return None, f"daftar status {url} tidak tersedia"
        if sl.purpose != ref.purpose:
            return None, f"daftar status {url} bukan untuk {ref.purpose}"
        try:
            found[ref.purpose] = sl.get(ref.index)
        except IndexError:
            return None, f"indeks {ref.index} di luar daftar status {url}"
        sources.append(url)
    if "revocation" not in found or "suspension" not in found:
        return None, "token tidak memuat rujukan daftar status pencabutan dan pembekuan"
    return (
        StatusEvidence(
            revoked=found["revocation"],
            suspended=found["suspension"],
            source="daftar status bertanda tangan " + ", ".join(sorted(set(sources))),
        ),
        "",
    )


def verify_offline(
    text: str,
    keys: Mapping[str, KeyInfo],
    issuer_id: str,
    now: datetime,
    *,
    lists: Sequence[StatusList] | None = None,
    base_url: str | None = None,
    status_missing: str | None = None,
) -> Verdict:
    """Verify with the keys alone (no database, no network). With `lists` (verified status
    list credentials) revocation and suspension are checked too; without, they are reported
    as not checked (Verdict.not_checked), never as passed."""
    ctx = Context(presented=parse_input(text), issuer_id=issuer_id, now=now, keys=keys)
    if lists is None and status_missing is None:
        return evaluate(ctx, OFFLINE_CHECKS)
    if lists is not None:
        claims, _ = verify_signature(ctx.presented, keys) if not ctx.presented.error else (None, None)
        if claims is not None:
            evidence, why = status_from_lists(claims, lists, base_url)
            ctx.status = evidence
            if evidence is None:
                ctx.status_missing = f"Status tidak dapat diperiksa: {why}."
    if status_missing is not None and ctx.status is None:
        ctx.status_missing = status_missing
    return evaluate(ctx, OFFLINE_WITH_STATUS)
