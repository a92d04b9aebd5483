"""HTTP handlers of the coverage view, the renewal list and the valid-credentials export
(admin, auditor, and a viewer scoped to its own regional government)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import Parameter
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.guards import requires
from apkd.accounts.models import Role
from apkd.accounts.security import Principal
from apkd.httpcache import attachment
from apkd.spreadsheet import CSV_MEDIA_TYPE, Text, csv_bytes
from apkd.talent import service
from apkd.talent.schemas import CoverageReport, Officer, ValidCredentialPage

readers = requires(Role.ADMIN, Role.AUDITOR, Role.VIEWER)

Code = Annotated[str | None, Parameter(max_length=16)]
Name = Annotated[str | None, Parameter(max_length=200)]
CSV_HEADER = (
    "nip",
    "nama",
    "jabatan",
    "instansi",
    "kode_wilayah",
    "skema",
    "nama_skema",
    "nomor",
    "berlaku_mulai",
    "berlaku_sampai",
)


def _csv(page: ValidCredentialPage, filename: str) -> Response[bytes]:
    rows = [
        (
            Text(r.nip or ""),
            r.full_name,
            r.jabatan,
            r.instansi,
            Text(r.region_code),
            r.scheme_code,
            r.scheme_title,
            r.number,
            r.valid_from,
            r.valid_until,
        )
        for r in page.items
    ]
    return attachment(csv_bytes(CSV_HEADER, rows), CSV_MEDIA_TYPE, filename)


class TalentController(Controller):
    path = "/api/v1"
    tags = ["coverage"]
    guards = [readers]

    @get("/coverage")
    async def coverage(
        self,
        db: AsyncSession,
        principal: Principal,
        level: Annotated[str, Parameter(max_length=16)] = "province",
        province: Code = None,
        regency: Code = None,
        scheme: Code = None,
        months: Annotated[int, Parameter(ge=1, le=60)] = 6,
    ) -> CoverageReport:
        """Officers certified, expiring, suspended, revoked and not passed, per area and scheme."""
        scope = await service.scope_of(db, principal)
        return await service.coverage(
            db, scope, level=level, province=province, regency=regency, scheme=scheme, horizon_months=months
        )

    @get("/officers")
    async def officers(
        self,
        db: AsyncSession,
        principal: Principal,
        q: Annotated[str, Parameter(min_length=1, max_length=100)],
    ) -> list[Officer]:
        """Officers by NIP (its first digits) or name, with attempts, results and credentials."""
        return await service.search_officers(db, await service.scope_of(db, principal), q)

    @get("/exports/credentials")
    async def valid_credentials(
        self,
        db: AsyncSession,
        principal: Principal,
        instansi: Name = None,
        regency: Code = None,
        scheme: Code = None,
        page: Annotated[int, Parameter(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Parameter(ge=1, le=service.MAX_PER_PAGE)] = 100,
    ) -> ValidCredentialPage:
        """Valid credentials (NIP, name, jabatan, scheme, number, validity), a page at a time."""
        scope = await service.scope_of(db, principal)
        return await service.valid_credentials(
            db, scope, instansi=instansi, regency=regency, scheme=scheme, page=page, per_page=per_page
        )

    @get("/exports/credentials.csv", media_type=CSV_MEDIA_TYPE)
    async def valid_credentials_csv(
        self,
        db: AsyncSession,
        principal: Principal,
        instansi: Name = None,
        regency: Code = None,
        scheme: Code = None,
    ) -> Response[bytes]:
        scope = await service.scope_of(db, principal)
        out = await service.valid_credentials(
            db, scope, instansi=instansi, regency=regency, scheme=scheme, per_page=service.EXPORT_ROWS
        )
        return _csv(out, "sertifikat-berlaku.csv")

    @get("/renewals")
    async def renewals(
        self,
        db: AsyncSession,
        principal: Principal,
        months: Annotated[int, Parameter(ge=1, le=60)] = 6,
        regency: Code = None,
        scheme: Code = None,
        page: Annotated[int, Parameter(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Parameter(ge=1, le=service.MAX_PER_PAGE)] = 100,
    ) -> ValidCredentialPage:
        """Officers whose valid credential ends within ``months``, soonest first."""
        scope = await service.scope_of(db, principal)
        return await service.valid_credentials(
            db, scope, regency=regency, scheme=scheme, expiring_months=months, page=page, per_page=per_page
        )

    @get("/renewals.csv", media_type=CSV_MEDIA_TYPE)
    async def renewals_csv(
        self,
        db: AsyncSession,
        principal: Principal,
        months: Annotated[int, Parameter(ge=1, le=60)] = 6,
        regency: Code = None,
        scheme: Code = None,
    ) -> Response[bytes]:
        scope = await service.scope_of(db, principal)
        out = await service.valid_credentials(
            db, scope, regency=regency, scheme=scheme, expiring_months=months, per_page=service.EXPORT_ROWS
        )
        return _csv(out, "rencana-perpanjangan.csv")


ROUTES = [TalentController]
