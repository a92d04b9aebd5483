"""The credential document: a W3C VC Data Model 2.0 credential of Open Badges 3.0 type.

`build_credential` writes exactly the profile in docs/contract.md ("Results and credentials");
`jwt_claims` turns it into the JWT claims set that is signed as a ``vc+jwt``.

The holder is ``credentialSubject.id``, a ``urn:uuid`` kept per holder (the JWT's ``sub``),
and is named by an Open Badges 3.0 ``IdentityObject`` holding the full name in clear.
Nothing derived from the NIP is written: a salted hash of a structured 18-digit number
is reversed by enumeration (decision 005). A verifier shown the NIP confirms it online
(``POST /api/v1/registry/verify`` with ``nip``).
"""

from __future__ import annotations

import calendar
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
    "badge_image_url",
    "build_credential",
    "format_datetime",
    "format_score",
    "jwt_claims",
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
    jabatan: str
    instansi: str


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


def badge_image_url(base_url: str, code: str) -> str:
    """The scheme's badge image (``achievement.image.id``), served by the app."""
    return f"{base_url.rstrip('/')}/api/v1/schemes/{quote(code, safe='')}/badge.png"


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
    subject_id: UUID | str,
    score: int | float | Decimal,
    valid_from: datetime,
    validity_months: int,
    revocation: StatusEntryRef,
) -> dict[str, Any]:
    """The unsigned credential, exactly per the profile in docs/contract.md.

    `base_url` is APKD_BASE_URL (achievement ids live under it); `issuer_id` the issuer
    profile URL; `subject_id` the holder's stable id (a UUID, written as urn:uuid);
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
            "id": _urn_uuid(subject_id),
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "name",
                    "hashed": False,
                    "identityHash": holder.full_name,
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
                "image": {"id": badge_image_url(base, scheme.code), "type": "Image"},
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
        # Only the revocation entry: OB 3.0 allows one credentialStatus (0..1). Suspension
        # is in the registry, the suspension status list and the QR token.
        "credentialStatus": status_list_entry(revocation.list_url, "revocation", revocation.index),
    }


def jwt_claims(credential: Mapping[str, Any], issuer_id: str) -> dict[str, Any]:
    """The JWT claims set signed as the vc+jwt: the credential itself plus registered claims.

    VC-JOSE-COSE (section 3.1, "Securing JSON-LD Verifiable Credentials with JOSE") signs
    the credential as the JWT claims set and allows registered JWT claims beside it as
    long as they agree with it. Added here, so that plain JWT tooling checks validity too:
    iss = issuer id, sub = credentialSubject.id, iat = nbf = validFrom, exp = validUntil
    (integer seconds since the epoch). Only claims the VC 2.0 context defines: ``jti`` is
    not one (it would be an undefined term), and the credential's ``id`` says the same.
    """
    claims = dict(credential)
    valid_from = int(parse_datetime(credential["validFrom"]).timestamp())
    claims["iss"] = issuer_id
    subject_id = credential.get("credentialSubject", {}).get("id")
    if subject_id:
        claims["sub"] = subject_id
    claims["iat"] = valid_from
    claims["nbf"] = valid_from
    if "validUntil" in credential:
        claims["exp"] = int(parse_datetime(credential["validUntil"]).timestamp())
    return claims
