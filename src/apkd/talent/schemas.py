from __future__ import annotations

from msgspec import Struct


class CoverageRow(Struct):
    """One area (province, kabupaten/kota or instansi) and one scheme."""

    level: str  # province | regency | instansi
    key: str  # "53", "5305", or the instansi's name
    scheme_code: str
    certified: int  # holders of a valid credential
    expiring: int  # of those, valid until within the horizon
    suspended: int
    revoked: int
    not_passed: int  # sat the scheme's exam, never passed it


class CoverageReport(Struct):
    level: str
    province: str | None
    regency: str | None
    scheme: str | None
    horizon_months: int
    scope: str | None  # the viewer's region code; None = every region
    rows: list[CoverageRow]


class ValidCredentialRow(Struct):
    nip: str | None
    full_name: str
    jabatan: str | None
    instansi: str | None
    region_code: str
    scheme_code: str
    scheme_title: str
    number: str
    valid_from: str
    valid_until: str


class ValidCredentialPage(Struct):
    items: list[ValidCredentialRow]
    page: int
    per_page: int
    total: int
    next_page: int | None


class OfficerAttempt(Struct):
    attempt_id: int
    session_id: int
    session_title: str
    scheme_code: str
    status: str
    started_at: str
    score: float | None  # once graded
    outcome: str | None
    published: bool


class OfficerCredential(Struct):
    number: str
    scheme_code: str
    status: str  # valid | revoked | suspended | expired
    valid_until: str


class Officer(Struct):
    id: int
    username: str
    full_name: str
    nip: str | None
    instansi: str | None
    jabatan: str | None
    region_code: str | None
    attempts: list[OfficerAttempt]
    credentials: list[OfficerCredential]
