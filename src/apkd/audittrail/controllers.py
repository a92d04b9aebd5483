"""HTTP handlers of the audit trail (admin, auditor). ``ROUTES`` is what app.py mounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import Parameter
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.guards import requires
from apkd.accounts.models import Role
from apkd.audittrail import service
from apkd.audittrail.schemas import AuditEventPublic, AuditPage, ChainCheck

readers = requires(Role.ADMIN, Role.AUDITOR)


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]

    @get("/", guards=[readers])
    async def list_events(
        self,
        db: AsyncSession,
        actor: Annotated[str | None, Parameter(max_length=64)] = None,
        action: Annotated[str | None, Parameter(max_length=64)] = None,
        since: Annotated[datetime | None, Parameter(description="dari (ISO 8601 dengan zona)")] = None,
        until: Annotated[datetime | None, Parameter(description="sampai, tidak termasuk")] = None,
        page: Annotated[int, Parameter(ge=1, le=100000)] = 1,
        per_page: Annotated[int, Parameter(ge=1, le=500)] = 50,
    ) -> AuditPage:
        """The audit trail, newest first, filtered by actor, action (exact, or a prefix ending in
        '.') and time (``since`` inclusive, ``until`` exclusive)."""
        f = service.AuditFilter(actor=actor, action=action, since=since, until=until)
        total, rows, actions = await service.events(db, f, page=page, per_page=per_page)
        return AuditPage(
            total=total,
            page=page,
            per_page=per_page,
            items=[
                AuditEventPublic(
                    seq=ev.seq,
                    at=ev.at.isoformat(),
                    actor=ev.actor,
                    action=ev.action,
                    subject_type=ev.subject_type,
                    subject_id=ev.subject_id,
                    details=service.details_of(ev),
                    hash=ev.hash,
                )
                for ev in rows
            ],
            actions=actions,
        )

    @get("/verify", guards=[readers])
    async def verify(self, db: AsyncSession) -> ChainCheck:
        """Walk the whole hash chain and report the first broken link (or that it is whole)."""
        report = await audit.verify_chain(db)
        last = await service.head(db)
        return ChainCheck(
            ok=report.ok,
            checked=report.checked,
            broken_at=report.broken_at,
            reason=report.reason,
            message=str(report),
            head_seq=last.seq if last else None,
            head_hash=last.hash if last else None,
        )


ROUTES: list[Any] = [AuditController]
