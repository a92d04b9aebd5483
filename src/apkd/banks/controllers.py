from __future__ import annotations

from litestar import Controller, get, post
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.guards import requires
from apkd.accounts.models import Role
from apkd.accounts.security import Principal
from apkd.banks import service
from apkd.banks.bankfile import BankFile, parse_bank
from apkd.banks.models import Scheme, SchemeUnit
from apkd.banks.schemas import (
    BankCheck,
    BankLineError,
    BankUnitCount,
    BankUpload,
    SchemePublic,
    SchemeRetire,
    UnitPublic,
)
from apkd.config import Settings
from apkd.errors import Unprocessable


def _checked(data: BankUpload) -> tuple[BankFile | None, BankCheck]:
    """Parse and check an uploaded bank file the way `apkd bank check` does (errors by line)."""
    bank, errors = parse_bank(data.text, data.filename)
    report = BankCheck(
        ok=bank is not None and not errors,
        filename=data.filename,
        errors=[BankLineError(line=e.line, message=e.message) for e in sorted(errors, key=lambda e: e.line)],
    )
    if bank is not None:
        report.scheme_code = bank.scheme.code
        report.version = bank.scheme.version
        report.items = len(bank.items)
        report.drafts = sum(1 for i in bank.items if i.review != "reviewed")
        report.units = [
            BankUnitCount(code=u.code, items=len(bank.items_of_unit(u.code)), items_per_form=u.items_per_form)
            for u in bank.scheme.units
        ]
    return (bank if report.ok else None), report


class BankController(Controller):
    """Bank files uploaded from the console: checked (nothing written), or checked and imported."""

    path = "/api/v1/banks"
    tags = ["banks"]

    @post("/check", guards=[requires(Role.ADMIN, Role.AUDITOR)], status_code=200)
    async def check(self, data: BankUpload) -> BankCheck:
        """The file's errors with their lines, or its scheme, version and item counts per unit."""
        return _checked(data)[1]

    @post("/import", guards=[requires(Role.ADMIN)], status_code=200)
    async def import_file(
        self, data: BankUpload, db: AsyncSession, principal: Principal, settings: Settings
    ) -> BankCheck:
        """Check, then import (idempotent; a changed item becomes a new version). A file with
        errors is refused (422 ``bank_invalid``, its errors by line) and nothing is written."""
        bank, report = _checked(data)
        if bank is None:
            raise Unprocessable(
                f"Berkas {data.filename} tidak lolos pemeriksaan; tidak ada yang diimpor.",
                code="bank_invalid",
                extra={"errors": [{"line": e.line, "message": e.message} for e in report.errors]},
            )
        out = await service.import_banks(
            db, [bank], actor=principal.username, allow_drafts=not settings.is_production
        )
        report.imported = "; ".join(str(s) for s in out.schemes)
        return report


class SchemeController(Controller):
    path = "/api/v1/schemes"
    tags = ["banks"]

    @get("/", opt={"public": True})
    async def list_schemes(self, db: AsyncSession) -> list[SchemePublic]:
        """Certification schemes and their competency units (public); a retired version says so."""
        counts = await service.active_item_counts(db)
        return [
            _scheme_public(s, units, counts.get(s.id or 0, {})) for s, units in await service.list_schemes(db)
        ]

    @post("/{code:str}/retire", guards=[requires(Role.ADMIN)], status_code=200)
    async def retire(
        self, code: str, data: SchemeRetire, db: AsyncSession, principal: Principal
    ) -> SchemePublic:
        """Retire the scheme's current version with a reason (admin): no new session may use it;
        sessions, results and credentials already made are untouched. 409 ``scheme_retired`` when
        it already is, ``scheme_version_mismatch`` when ``version`` is not the current one."""
        scheme = await service.retire_scheme(
            db, code, version=data.version, reason=data.reason, actor=principal.username
        )
        counts = await service.active_item_counts(db)
        units = next(u for s, u in await service.list_schemes(db) if s.id == scheme.id)
        return _scheme_public(scheme, units, counts.get(scheme.id or 0, {}))


def _scheme_public(s: Scheme, units: list[SchemeUnit], items: dict[str, int]) -> SchemePublic:
    return SchemePublic(
        code=s.code,
        version=s.version,
        title=s.title,
        position=s.position,
        duration_minutes=s.duration_minutes,
        validity_months=s.validity_months,
        pass_score=s.pass_score,
        appeal_days=s.appeal_days,
        resit_wait_days=s.resit_wait_days,
        sittings_per_year=s.sittings_per_year,
        units=[
            UnitPublic(code=u.code, title=u.title, items_per_form=u.items_per_form, min_score=u.min_score)
            for u in units
        ],
        retired=s.retired_at is not None,
        retired_at=s.retired_at.isoformat() if s.retired_at else None,
        items=items,
    )


ROUTES = [SchemeController, BankController]
