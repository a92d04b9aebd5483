"""Offline verification: with the issuer's JWKS and, optionally, fetched status list
credentials, no database and no network (``apkd verify``, and anyone holding the JWKS). Pure
module; the checks themselves are apkd.registry.policy's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from apkd.registry.claims import VC_TYP, Claims, claim_str, claim_time, parse_input
from apkd.registry.policy import (
    OFFLINE_CHECKS,
    OFFLINE_WITH_STATUS,
    Context,
    KeyInfo,
    StatusEvidence,
    Verdict,
    check_revocation,
    evaluate,
    verify_signature,
)
from apkd.signing import jws

# Offline with lists, for a credential that names only its revocation entry.
OFFLINE_REVOCATION_ONLY = (*OFFLINE_CHECKS, check_revocation)

__all__ = ["StatusList", "StatusListInvalid", "read_status_list", "status_from_lists", "verify_offline"]


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
    until = claim_time(doc.get("validUntil"))
    if until is not None and now >= until:
        raise StatusListInvalid("daftar status sudah kedaluwarsa; ambil yang terbaru")
    url, purpose = claim_str(doc.get("id")), claim_str(subject.get("statusPurpose"))
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
    if "revocation" not in found:
        return None, "token tidak memuat rujukan daftar status pencabutan"
    return (
        StatusEvidence(
            revoked=found["revocation"],
            suspended=found.get("suspension"),  # a vc+jwt names only its revocation entry
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
    checks = OFFLINE_WITH_STATUS
    if lists is not None:
        claims, _ = verify_signature(ctx.presented, keys) if not ctx.presented.error else (None, None)
        if claims is not None:
            evidence, why = status_from_lists(claims, lists, base_url)
            ctx.status = evidence
            if evidence is None:
                ctx.status_missing = f"Status tidak dapat diperiksa: {why}."
            elif evidence.suspended is None:
                # A vc+jwt carries only its revocation entry (OB 3.0 allows one): suspension
                # is left out offline (listed in not_checked), as the registry and QR know it.
                checks = OFFLINE_REVOCATION_ONLY
    if status_missing is not None and ctx.status is None:
        ctx.status_missing = status_missing
    return evaluate(ctx, checks)
