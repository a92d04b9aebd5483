"""Coverage, renewal and export queries, given a session (read-only)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import Role, User
from apkd.accounts.security import Principal
from apkd.banks.models import Scheme
from apkd.credentials.models import Credential, CredentialStatus
from apkd.credentials.service import effective_status
from apkd.db import utcnow
from apkd.errors import Forbidden, Unprocessable
from apkd.exams.models import Attempt, ExamSession
from apkd.grading.models import Result
from apkd.talent.schemas import (
    CoverageReport,
    CoverageRow,
    Officer,
    OfficerAttempt,
    OfficerCredential,
    ValidCredentialPage,
    ValidCredentialRow,
)

LEVELS = ("province", "regency", "instansi")
NO_INSTANSI = "(tanpa instansi)"
MAX_PER_PAGE = 500
EXPORT_ROWS = 100_000  # one CSV file at most
_PROVINCE = re.compile(r"[0-9]{2}")
_REGENCY = re.compile(r"[0-9]{4}")
_SCHEME = re.compile(r"[A-Z0-9-]{2,16}")


@dataclass(frozen=True)
class Scope:
    """Which officers a login may see: every region (None) or one kabupaten/kota."""

    region: str | None

    def check(self, province: str | None, regency: str | None) -> None:
        if self.region is None:
            return
        if (province is not None and province != self.region[:2]) or (
            regency is not None and regency != self.region
        ):
            raise Forbidden(
                "Akun ini hanya boleh melihat pegawai pemerintah daerahnya sendiri.", code="outside_scope"
            )


async def scope_of(db: AsyncSession, principal: Principal) -> Scope:
    """Admins and auditors see every region; a viewer only the region of its account."""
    if principal.role in (Role.ADMIN, Role.AUDITOR):
        return Scope(None)
    if principal.role == Role.VIEWER:
        user = await db.get(User, principal.user_id)
        if user is not None and user.region_code:
            return Scope(user.region_code)
        raise Forbidden("Akun peninjau ini belum diberi wilayah.", code="viewer_without_region")
    raise Forbidden("Peran Anda tidak berhak mengakses sumber ini.", code="forbidden")


def _checked(province: str | None, regency: str | None, scheme: str | None) -> None:
    if province is not None and not _PROVINCE.fullmatch(province):
        raise Unprocessable("Kode provinsi harus 2 digit.", code="invalid_region_code")
    if regency is not None and not _REGENCY.fullmatch(regency):
        raise Unprocessable("Kode kabupaten/kota harus 4 digit.", code="invalid_region_code")
    if scheme is not None and not _SCHEME.fullmatch(scheme):
        raise Unprocessable("Kode skema tidak dikenal.", code="invalid_scheme_code")


def _area_key(level: str, region: str, instansi: str | None) -> str:
    if level == "province":
        return region[:2]
    if level == "regency":
        return region
    return instansi or NO_INSTANSI


def _region_filter(column: Any, scope: Scope, province: str | None, regency: str | None) -> list[Any]:
    conds: list[Any] = []
    region = regency or scope.region
    if region is not None:
        conds.append(column == region)
    elif province is not None:
        conds.append(column.startswith(province))
    return conds


async def coverage(
    db: AsyncSession,
    scope: Scope,
    *,
    level: str = "province",
    province: str | None = None,
    regency: str | None = None,
    scheme: str | None = None,
    horizon_months: int = 6,
    now: datetime | None = None,
) -> CoverageReport:
    """Per area and scheme: officers certified, expiring within the horizon, suspended,
    revoked, and candidates who sat without passing. Officers are counted once per bucket."""
    if level not in LEVELS:
        raise Unprocessable("Tingkat harus province, regency atau instansi.", code="invalid_level")
    if not 1 <= horizon_months <= 60:
        raise Unprocessable("Rentang kedaluwarsa harus 1-60 bulan.", code="invalid_horizon")
    _checked(province, regency, scheme)
    scope.check(province, regency)
    now = now or utcnow()
    horizon = now + timedelta(days=round(horizon_months * 30.44))
    sets: dict[tuple[str, str], dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))

    q = sa_select(
        col(Credential.region_code),
        col(Credential.instansi),
        col(Credential.scheme_code),
        col(Credential.status),
        col(Credential.valid_until),
        col(Credential.user_id),
    ).where(*_region_filter(col(Credential.region_code), scope, province, regency))
    if scheme is not None:
        q = q.where(col(Credential.scheme_code) == scheme)
    for region, instansi, code, status, valid_until, user_id in (await db.execute(q)).all():
        bucket = sets[(_area_key(level, region, instansi), code)]
        if status == CredentialStatus.REVOKED:
            bucket["revoked"].add(user_id)
        elif status == CredentialStatus.SUSPENDED:
            bucket["suspended"].add(user_id)
        elif valid_until > now:
            bucket["certified"].add(user_id)
            if valid_until <= horizon:
                bucket["expiring"].add(user_id)

    r = (
        sa_select(
            col(User.region_code),
            col(User.instansi),
            col(Scheme.code),
            col(Result.user_id),
            col(Result.passed),
        )
        .join(ExamSession, col(ExamSession.id) == Result.session_id)
        .join(Scheme, col(Scheme.id) == ExamSession.scheme_id)
        .join(User, col(User.id) == Result.user_id)
        .where(col(ExamSession.results_published_at).is_not(None))
    )
    region_col = func.coalesce(User.region_code, "0000")
    r = r.where(*_region_filter(region_col, scope, province, regency))
    if scheme is not None:
        r = r.where(col(Scheme.code) == scheme)
    sat: dict[tuple[str, str], set[int]] = defaultdict(set)
    passed: set[tuple[str, int]] = set()
    for region, instansi, code, user_id, ok in (await db.execute(r)).all():
        sat[(_area_key(level, region or "0000", instansi), code)].add(user_id)
        if ok:
            passed.add((code, user_id))
    for key, users in sat.items():
        sets[key]["not_passed"] |= {u for u in users if (key[1], u) not in passed}

    rows = [
        CoverageRow(
            level=level,
            key=key,
            scheme_code=code,
            certified=len(b["certified"]),
            expiring=len(b["expiring"]),
            suspended=len(b["suspended"]),
            revoked=len(b["revoked"]),
            not_passed=len(b["not_passed"]),
        )
        for (key, code), b in sorted(sets.items())
    ]
    return CoverageReport(
        level=level,
        province=province,
        regency=regency,
        scheme=scheme,
        horizon_months=horizon_months,
        scope=scope.region,
        rows=rows,
    )


async def valid_credentials(
    db: AsyncSession,
    scope: Scope,
    *,
    instansi: str | None = None,
    regency: str | None = None,
    scheme: str | None = None,
    expiring_months: int | None = None,
    page: int = 1,
    per_page: int = 100,
    now: datetime | None = None,
) -> ValidCredentialPage:
    """Valid credentials (active, not expired) in the scope, oldest number first; with
    ``expiring_months`` only those that end within that many months (the renewal list)."""
    if page < 1 or not 1 <= per_page <= EXPORT_ROWS:
        raise Unprocessable(f"Halaman mulai 1; per halaman 1-{MAX_PER_PAGE}.", code="invalid_page")
    if expiring_months is not None and not 1 <= expiring_months <= 60:
        raise Unprocessable("Rentang kedaluwarsa harus 1-60 bulan.", code="invalid_horizon")
    _checked(None, regency, scheme)
    scope.check(None, regency)
    now = now or utcnow()
    conds: list[Any] = [
        Credential.status == CredentialStatus.ACTIVE,
        col(Credential.valid_until) > now,
        *_region_filter(col(Credential.region_code), scope, None, regency),
    ]
    if expiring_months is not None:
        conds.append(col(Credential.valid_until) <= now + timedelta(days=round(expiring_months * 30.44)))
    if instansi:
        conds.append(Credential.instansi == instansi)
    if scheme is not None:
        conds.append(Credential.scheme_code == scheme)
    total = (await db.exec(select(func.count()).select_from(Credential).where(*conds))).one()
    order = col(Credential.valid_until) if expiring_months is not None else col(Credential.id)
    rows = (
        await db.exec(
            select(Credential, User.nip, User.jabatan, Scheme.title)
            .join(User, col(User.id) == Credential.user_id)
            .join(Scheme, col(Scheme.code) == Credential.scheme_code, isouter=True)
            .where(*conds)
            .order_by(order, col(Credential.id))
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    ).all()
    items = [
        ValidCredentialRow(
            nip=nip,
            full_name=cred.holder_name,
            jabatan=jabatan,
            instansi=cred.instansi,
            region_code=cred.region_code,
            scheme_code=cred.scheme_code,
            scheme_title=title or cred.scheme_code,
            number=cred.number,
            valid_from=cred.valid_from.isoformat(),
            valid_until=cred.valid_until.isoformat(),
        )
        for cred, nip, jabatan, title in rows
    ]
    return ValidCredentialPage(
        items=items,
        page=page,
        per_page=per_page,
        total=total,
        next_page=page + 1 if page * per_page < total else None,
    )


MAX_OFFICERS = 50


async def search_officers(db: AsyncSession, scope: Scope, query: str) -> list[Officer]:
    """Candidates whose NIP starts with ``query`` (digits) or whose name contains it, each with
    their attempts (and results) and credentials; at most MAX_OFFICERS, in the login's scope."""
    text = query.strip()
    if len(text) < 3:
        raise Unprocessable("Ketik paling sedikit 3 karakter NIP atau nama.", code="query_too_short")
    match = (
        col(User.nip).startswith(text)
        if text.isdigit()
        else func.lower(col(User.full_name)).contains(text.lower(), autoescape=True)
    )
    q = select(User).where(User.role == Role.CANDIDATE, match)
    if scope.region is not None:
        q = q.where(User.region_code == scope.region)
    users = list((await db.exec(q.order_by(col(User.full_name), col(User.id)).limit(MAX_OFFICERS))).all())
    ids = [u.id for u in users if u.id is not None]
    if not ids:
        return []
    attempts: dict[int, list[OfficerAttempt]] = defaultdict(list)
    rows = await db.execute(
        sa_select(
            Attempt, col(ExamSession.title), col(Scheme.code), col(ExamSession.results_published_at), Result
        )
        .join(ExamSession, col(ExamSession.id) == col(Attempt.session_id))
        .join(Scheme, col(Scheme.id) == col(ExamSession.scheme_id))
        .join(Result, col(Result.attempt_id) == col(Attempt.id), isouter=True)
        .where(col(Attempt.user_id).in_(ids))
        .order_by(col(Attempt.started_at))
    )
    for attempt, title, code, published_at, result in rows.all():
        attempts[attempt.user_id].append(
            OfficerAttempt(
                attempt_id=attempt.id or 0,
                session_id=attempt.session_id,
                session_title=title,
                scheme_code=code,
                status=attempt.status,
                started_at=attempt.started_at.isoformat(),
                score=result.score if result is not None else None,
                outcome=result.outcome if result is not None else None,
                published=published_at is not None,
            )
        )
    creds: dict[int, list[OfficerCredential]] = defaultdict(list)
    found = await db.exec(
        select(Credential).where(col(Credential.user_id).in_(ids)).order_by(col(Credential.issued_at))
    )
    for cred in found.all():
        creds[cred.user_id].append(
            OfficerCredential(
                number=cred.number,
                scheme_code=cred.scheme_code,
                status=effective_status(cred),
                valid_until=cred.valid_until.isoformat(),
            )
        )
    return [
        Officer(
            id=u.id or 0,
            username=u.username,
            full_name=u.full_name,
            nip=u.nip,
            instansi=u.instansi,
            jabatan=u.jabatan,
            region_code=u.region_code,
            attempts=attempts.get(u.id or 0, []),
            credentials=creds.get(u.id or 0, []),
        )
        for u in users
    ]
