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

import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from apkd.credentials import qrtoken
from apkd.credentials.number import NumberError
from apkd.registry.claims import (  # the policy's inputs, re-exported
    MAX_INPUT_CHARS,
    QR_TYP,
    VC_TYP,
    Claims,
    Presented,
    claim_time,
    claims_from_qr,
    claims_from_vc,
    parse_input,
    parsed_number,
)
from apkd.signing import jws
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
    "verify_signature",
]


class Status(StrEnum):
    """A verdict's status: the credential's own (valid, revoked, suspended, expired), or
    ``invalid`` (a check that decides authenticity failed), or ``unknown`` (one could not run)."""

    VALID = "valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    INVALID = "invalid"
    UNKNOWN = "unknown"


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
    suspended: bool | None  # None: not known (a vc+jwt names only its revocation entry)
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


CREDENTIAL_TYPE = "OpenBadgeCredential"


def _type_words(types: object) -> str:
    if isinstance(types, list):
        return ", ".join(str(t)[:60] for t in types[:4]) or "tidak disebut"
    return str(types)[:60] if types else "tidak disebut"


def verify_signature(presented: Presented, keys: Mapping[str, KeyInfo]) -> tuple[Claims | None, str | None]:
    """(claims, None) when the token verifies with a key of `keys` by its kid, else (None, why)."""
    trusted = {kid: info.key for kid, info in keys.items()}
    try:
        if presented.kind == "vc":
            verified = jws.verify_compact(presented.token, trusted, VC_TYP)
            types = verified.payload.get("type")
            if not isinstance(types, list) or CREDENTIAL_TYPE not in types:
                # Signed by the issuer, but not a certificate: e.g. its status-list credential,
                # which has no holder and no number.
                return None, (
                    "Tanda tangan penerbit sah, tetapi ini bukan sertifikat (jenisnya "
                    f"{_type_words(types)}); hanya sertifikat ({CREDENTIAL_TYPE}) yang diperiksa."
                )
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


def _parse_number_cached(number: str) -> str:
    return parsed_number(number).text


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
    if ctx.status.suspended is None:
        return _not_run(
            name,
            "Kredensial hanya memuat rujukan daftar pencabutan; pembekuan tercatat di registri dan token QR.",
        )
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
            return Status.INVALID
    if any(not c.ok and not c.ran and c.name in ("format", "signature") for c in checks):
        return Status.UNKNOWN
    revoked, suspended, period = (
        by_name.get("revocation"),
        by_name.get("suspension"),
        by_name.get("validity_period"),
    )
    if revoked is not None and revoked.ran and not revoked.ok:
        return Status.REVOKED
    if suspended is not None and suspended.ran and not suspended.ok:
        return Status.SUSPENDED
    if period is not None and period.ran and not period.ok:
        return Status.EXPIRED
    if all(c.ok for c in checks):
        return Status.VALID
    return Status.UNKNOWN


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
            compromised_at=claim_time(entry.get("compromised_at")),
            compromise_reason=reason if isinstance(reason, str) else None,
        )
    return out
