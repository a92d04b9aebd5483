from __future__ import annotations

from litestar import Controller, get
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.banks import service
from apkd.banks.schemas import SchemePublic, UnitPublic


class SchemeController(Controller):
    path = "/api/v1/schemes"
    tags = ["banks"]

    @get("/", opt={"public": True})
    async def list_schemes(self, db: AsyncSession) -> list[SchemePublic]:
        """Certification schemes and their competency units (public)."""
        return [
            SchemePublic(
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
                    UnitPublic(
                        code=u.code, title=u.title, items_per_form=u.items_per_form, min_score=u.min_score
                    )
                    for u in units
                ],
            )
            for s, units in await service.list_schemes(db)
        ]


ROUTES = [SchemeController]
