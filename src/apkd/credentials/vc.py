"""The credential document: a W3C VC Data Model 2.0 credential of Open Badges 3.0 type.

`build_credential` writes exactly the profile in docs/contract.md ("Results and credentials");
`jwt_claims` turns it into the JWT claims set that is signed as a ``vc+jwt``.

The holder has no URI of their own, so `credentialSubject` carries no ``id``; the holder
is named by Open Badges 3.0 ``IdentityObject``s: the full name in clear, and the NIP as
an IdentityHash, ``"sha256$" + hex(sha256(nip + salt))`` with the salt alongside (OB 3.0,
section "IdentityObject"). Whoever knows the NIP can confirm it; the NIP is not written.
"""

from __future__ import annotations

import calendar
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote
from uuid import UUID

from apkd.credentials.statuslist import StatusEntryRef, status_list_entry
from apkd.timefmt import iso_utc

__all__ = [
    "OB3_CONTEXT",
    "VC2_CONTEXT",
    "HolderInfo",
    "SchemeInfo",
    "UnitInfo",
    "add_months",
    "build_credential",
    "format_datetime",
    "format_score",
    "hash_identity",
    "jwt_claims",
    "new_salt",
    "parse_datetime",
]

VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
RESULT_FRAGMENT = "nilai-akhir"


@dataclass(frozen=True)
class UnitInfo:
    code: str
    title: str
    min_score: int | float | Decimal | None = None


@dataclass(frozen=True)
class SchemeInfo:
    code: str
    version: str
    title: str  # e.g. "Bendahara Pengeluaran"
    position: str  # e.g. "Bendahara Pengeluaran SKPD"
    pass_score: int | float | Decimal
    units: Sequence[UnitInfo] = ()


@dataclass(frozen=True)
class HolderInfo:
    full_name: str
    nip: str
    jabatan: str
    instansi: str


def new_salt() -> str:
    """A fresh random salt for hash_identity (32 hex characters, 128 bits)."""
    return secrets.token_hex(16)


def hash_identity(value: str, salt: str) -> str:
    """Open Badges 3.0 IdentityHash: "sha256$" + hex(SHA-256(value + salt)), UTF-8."""
    return "sha256$" + hashlib.sha256((value + salt).encode("utf-8")).hexdigest()


def add_months(dt: datetime, months: int) -> datetime:
    """`dt` moved by whole calendar months; a day the target month lacks becomes its last day
    (31 January + 1 month = 28/29 February)."""
    index = dt.year * 12 + (dt.month - 1) + months
    year, month0 = divmod(index, 12)
    day = min(dt.day, calendar.monthrange(year, month0 + 1)[1])
    return dt.replace(year=year, month=month0 + 1, day=day)


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware (the server owns time, in UTC)")
    return dt.astimezone(UTC).replace(microsecond=0)


def format_datetime(dt: datetime) -> str:
    """ISO 8601 in UTC to the second, "YYYY-MM-DDTHH:MM:SSZ" (sub-seconds dropped)."""
    return iso_utc(dt)


def parse_datetime(text: str) -> datetime:
    """Inverse of format_datetime (accepts any ISO 8601 with an offset); aware UTC result."""
    dt = datetime.fromisoformat(text)
    return _utc(dt)


def format_score(value: int | float | Decimal) -> str:
    """A percent as the credential writes it: at most 2 decimals, no trailing zeros ("83.33", "70")."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError("a score is a number")
    dec = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if not Decimal(0) <= dec <= Decimal(100):
        raise ValueError(f"score {value} is outside 0..100")
    text = format(dec, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _urn_uuid(credential_id: UUID | str) -> str:
    if isinstance(credential_id, UUID):
        return credential_id.urn
    text = credential_id.removeprefix("urn:uuid:")
    return UUID(text).urn  # ValueError when not a UUID


def _criteria(scheme: SchemeInfo, pass_score: str) -> str:
    units = []
    for unit in scheme.units:
        text = f"{unit.code} {unit.title}"
        if unit.min_score is not None:
            text += f" (nilai unit paling rendah {format_score(unit.min_score)})"
        units.append(text)
    narrative = (
        f"Dinyatakan kompeten dalam uji kompetensi berbasis komputer skema {scheme.title} "
        f"({scheme.code} versi {scheme.version}) dengan nilai akhir paling rendah {pass_score} "
        "dari 100"
    )
    if units:
        narrative += ", atas unit kompetensi: " + "; ".join(units)
    return narrative + "."


def build_credential(
    *,
    credential_id: UUID | str,
    base_url: str,
    issuer_id: str,
    issuer_name: str,
    scheme: SchemeInfo,
    holder: HolderInfo,
    nip_salt: str,
    score: int | float | Decimal,
    valid_from: datetime,
    validity_months: int,
    revocation: StatusEntryRef,
    suspension: StatusEntryRef,
) -> dict[str, Any]:
    """The unsigned credential, exactly per the profile in docs/contract.md.

    `base_url` is APKD_BASE_URL (achievement ids live under it); `issuer_id` the issuer
    profile URL; `nip_salt` comes from new_salt() and is stored with the credential;
    validUntil = add_months(validFrom, validity_months).
    """
    if validity_months <= 0:
        raise ValueError("validity_months must be positive")
    base = base_url.rstrip("/")
    start = _utc(valid_from)
    pass_text = format_score(scheme.pass_score)
    achievement_id = f"{base}/schemes/{quote(scheme.code, safe='')}/{quote(scheme.version, safe='')}"
    result_description_id = f"{achievement_id}#{RESULT_FRAGMENT}"
    return {
        "@context": [VC2_CONTEXT, OB3_CONTEXT],
        "id": _urn_uuid(credential_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Sertifikat Kompetensi {scheme.title}",
        "issuer": {"id": issuer_id, "type": ["Profile"], "name": issuer_name},
        "validFrom": format_datetime(start),
        "validUntil": format_datetime(add_months(start, validity_months)),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": holder.full_name,
                },
                {
                    "type": "IdentityObject",
                    "identityType": "ext:NIP",
                    "hashed": True,
                    "identityHash": hash_identity(holder.nip, nip_salt),
                    "salt": nip_salt,
                },
            ],
            "role": f"{holder.jabatan}, {holder.instansi}",
            "achievement": {
                "id": achievement_id,
                "type": ["Achievement"],
                "humanCode": scheme.code,
                "name": scheme.title,
                "description": (
                    f"Sertifikasi kompetensi Aparatur Pengelola Keuangan Daerah untuk jabatan "
                    f"{scheme.position}, sebagaimana diwajibkan Pasal 150 Undang-Undang Nomor 1 "
                    "Tahun 2022 tentang Hubungan Keuangan antara Pemerintah Pusat dan "
                    "Pemerintahan Daerah."
                ),
                "criteria": {"narrative": _criteria(scheme, pass_text)},
                "achievementType": "Certification",
                "resultDescription": [
                    {
                        "id": result_description_id,
                        "type": ["ResultDescription"],
                        "name": "Nilai akhir",
                        "resultType": "Percent",
                        "valueMin": "0",
                        "valueMax": "100",
                        "requiredValue": pass_text,
                    }
                ],
            },
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": result_description_id,
                    "value": format_score(score),
                    "status": "Completed",
                }
            ],
        },
        "credentialStatus": [
            status_list_entry(revocation.list_url, "revocation", revocation.index),
            status_list_entry(suspension.list_url, "suspension", suspension.index),
        ],
    }


def jwt_claims(credential: Mapping[str, Any], issuer_id: str) -> dict[str, Any]:
    """The JWT claims set signed as the vc+jwt: the credential itself plus registered claims.

    VC-JOSE-COSE (section 3.1, "Securing JSON-LD Verifiable Credentials with JOSE") signs
    the credential as the JWT claims set and allows registered JWT claims beside it as
    long as they agree with it. Added here, so that plain JWT tooling checks validity too:
    iss = issuer id, jti = credential id, iat = nbf = validFrom, exp = validUntil (integer
    seconds since the epoch). No `sub`: the holder has no identifier that may be public.
    """
    claims = dict(credential)
    valid_from = int(parse_datetime(credential["validFrom"]).timestamp())
    claims["iss"] = issuer_id
    claims["jti"] = credential["id"]
    claims["iat"] = valid_from
    claims["nbf"] = valid_from
    if "validUntil" in credential:
        claims["exp"] = int(parse_datetime(credential["validUntil"]).timestamp())
    return claims
