"""What a batch of credentials signs, made fast: the JWT claims from a per-scheme template
(:class:`CredentialTemplate`) and the QR text (:class:`QRTextBuilder`).

Both give exactly the bytes of the reference builders (vc.py and qrtoken.py), which stay the
only definition of the profile; tests/credentials/test_issuing.py checks it. Pure: no
database.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from apkd.config import Settings
from apkd.credentials import qrtoken
from apkd.credentials.statuslist import StatusEntryRef
from apkd.credentials.vc import (
    HolderInfo,
    SchemeInfo,
    UnitInfo,
    add_months,
    build_credential,
    jwt_claims,
)
from apkd.signing.jws import sign_compact
from apkd.signing.keys import b64url_encode
from apkd.signing.keystore import Signer

__all__ = ["CredentialTemplate", "QRTextBuilder", "scheme_info"]


def scheme_info(form_scheme: dict[str, Any]) -> SchemeInfo:
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


def _finish_document(doc: dict[str, Any], jabatan: str | None, instansi: str | None) -> None:
    """Adjust the built credential for holders with missing profile fields."""
    subject = doc["credentialSubject"]
    parts = [p for p in ((jabatan or "").strip(), (instansi or "").strip()) if p]
    if parts:
        subject["role"] = ", ".join(parts)
    else:
        subject.pop("role", None)


_SENTINEL_UUID = uuid.UUID("ffffffff-ffff-4fff-bfff-fffffffff0c0")
_SENTINEL_SUBJECT = uuid.UUID("ffffffff-ffff-4fff-bfff-fffffffff5b7")
_SLOTS = ("ID", "SUB", "NAME", "ROLE", "SCORE", "REVURL", "REVIDX")
_SLOT_RE = re.compile("@@APKD-(" + "|".join(_SLOTS) + ")@@")
_FREE_TEXT = frozenset({"NAME", "ROLE", "REVURL"})
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
        has_role: bool,
    ) -> None:
        doc = build_credential(
            credential_id=_SENTINEL_UUID,
            base_url=settings.base_url,
            issuer_id=settings.issuer_id,
            issuer_name=settings.issuer_name,
            scheme=scheme,
            holder=HolderInfo(full_name=_slot("NAME"), jabatan="x", instansi="x"),
            subject_id=_SENTINEL_SUBJECT,
            score=0,
            valid_from=valid_from,
            validity_months=validity_months,
            revocation=StatusEntryRef(_slot("REVURL"), 0),
        )
        subject = doc["credentialSubject"]
        _finish_document(doc, "x" if has_role else None, None)
        if has_role:
            subject["role"] = _slot("ROLE")
        subject["result"][0]["value"] = _slot("SCORE")
        entry = doc["credentialStatus"]
        entry["id"] = f"{_slot('REVURL')}#{_slot('REVIDX')}"
        entry["statusListIndex"] = _slot("REVIDX")
        claims = jwt_claims(doc, settings.issuer_id)
        text = (
            _json_encode(claims)
            .replace(_SENTINEL_UUID.urn, _slot("ID"))
            .replace(_SENTINEL_SUBJECT.urn, _slot("SUB"))
        )
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

    def __init__(self, base_url: str, signer: Signer, max_length: int = qrtoken.MAX_QR_TEXT_LENGTH) -> None:
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
        instansi: str | None,
        valid_from: datetime,
        valid_until: datetime,
        revocation: tuple[int, int],
        suspension: tuple[int, int],
        vc_jwt: str,
        vc_hash: bytes | None = None,
    ) -> str:
        parts = self.parts(
            number=number,
            holder_name=holder_name,
            instansi=instansi,
            valid_from=valid_from,
            valid_until=valid_until,
            revocation=revocation,
            suspension=suspension,
        )
        if parts is None:
            return self._reference(
                number, holder_name, instansi, valid_from, valid_until, revocation, suspension, vc_jwt
            )
        prefix, claims_open, digest = parts
        if digest:
            d = b64url_encode(vc_hash[:16]) if vc_hash is not None else qrtoken.vc_digest(vc_jwt)
            claims = claims_open + b',"d":"' + d.encode("ascii") + b'"}'
        else:
            claims = claims_open + b"}"
        return prefix + sign_compact(claims, self.signer.private_key, self.signer.kid, qrtoken.QR_TYP)

    def parts(
        self,
        *,
        number: str,
        holder_name: str,
        instansi: str | None,
        valid_from: datetime,
        valid_until: datetime,
        revocation: tuple[int, int],
        suspension: tuple[int, int],
    ) -> tuple[str, bytes, bool] | None:
        """What the QR text is made of before the vc+jwt exists: the text before the token,
        the claims' compact JSON without its closing brace, and whether the vc digest member
        ``"d"`` (always last, always 22 characters) follows; None in the rare case where the
        name must be cut (qrtoken's own rules then apply, see build)."""
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
        f, u = int(valid_from.timestamp()), int(valid_until.timestamp())
        wire["f"], wire["u"] = f, u
        size += 10 + len(str(f)) + len(str(u))
        if size > limit:
            return None
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
        claims = _json_encode(wire).encode("utf-8")
        return prefix, claims[:-1], size + 5 + 24 <= limit

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
