"""HTTP handlers of appeals and complaints. ``ROUTES`` is what app.py mounts."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.guards import admin_only, any_login, requires
from apkd.accounts.models import Role
from apkd.accounts.security import Principal
from apkd.appeals import complaints, service
from apkd.appeals.schemas import (
    AppealAssign,
    AppealCreate,
    AppealDecision,
    AppealPublic,
    ComplaintCreate,
    ComplaintDecision,
    ComplaintPublic,
    ComplaintReceipt,
    ComplaintStatus,
)
from apkd.clientaddr import client_address
from apkd.config import Settings

# ``state`` is a name Litestar reserves for the app state: the query parameter is read by alias.
StateQuery = Annotated[
    str | None, QueryParameter(name="state", description="diajukan, diperiksa, diterima, ditolak")
]

candidate_only = requires(Role.CANDIDATE)
body_staff = requires(Role.ADMIN, Role.AUDITOR)
reviewers = requires(Role.ADMIN, Role.PROCTOR)
appeal_readers = requires(Role.ADMIN, Role.AUDITOR, Role.PROCTOR)


class AttemptAppealController(Controller):
    path = "/api/v1"
    tags = ["appeals"]

    @post("/attempts/{attempt_id:int}/appeals", guards=[candidate_only], status_code=201)
    async def lodge(
        self, attempt_id: int, data: AppealCreate, db: AsyncSession, principal: Principal, settings: Settings
    ) -> AppealPublic:
        """The candidate appeals the published result (``positions``: the items appealed; none:
        the result as a whole) within the scheme's period (409 ``appeal_period_over`` past it)."""
        return await service.lodge(db, attempt_id, data, principal, settings)

    @get("/me/appeals", guards=[candidate_only])
    async def mine(self, db: AsyncSession, principal: Principal) -> list[AppealPublic]:
        """The candidate's appeals with their state and decision."""
        return await service.list_appeals(db, user_id=principal.user_id)


class AppealController(Controller):
    path = "/api/v1/appeals"
    tags = ["appeals"]

    @get("/", guards=[appeal_readers])
    async def list_appeals(
        self,
        db: AsyncSession,
        principal: Principal,
        state_filter: StateQuery = None,
        session_id: int | None = None,
        item_version_id: int | None = None,
    ) -> list[AppealPublic]:
        """Appeals (admins, auditors; a proctor sees those assigned to them to review).
        ``item_version_id`` gives an item's appeals (for the item review)."""
        return await service.list_appeals(
            db,
            reviewer_id=principal.user_id if principal.role == Role.PROCTOR else None,
            state=state_filter,
            session_id=session_id,
            item_version_id=item_version_id,
        )

    @get("/{appeal_id:int}", guards=[any_login])
    async def show(self, appeal_id: int, db: AsyncSession, principal: Principal) -> AppealPublic:
        """One appeal: its candidate, its reviewer, admins and auditors."""
        return await service.get_for(db, appeal_id, principal)

    @post("/{appeal_id:int}/assign", guards=[admin_only], status_code=200)
    async def assign(
        self, appeal_id: int, data: AppealAssign, db: AsyncSession, principal: Principal
    ) -> AppealPublic:
        """Assign a reviewer not involved in the session (state diperiksa)."""
        return await service.assign(db, appeal_id, data.reviewer, principal)

    @post("/{appeal_id:int}/decision", guards=[reviewers], status_code=200)
    async def decide(
        self, appeal_id: int, data: AppealDecision, db: AsyncSession, principal: Principal
    ) -> AppealPublic:
        """The assigned reviewer upholds (with a remedy: key_correction, regrade, resit) or
        rejects (with reasons) the appeal."""
        return await service.decide(db, appeal_id, data, principal)


class ComplaintController(Controller):
    path = "/api/v1/complaints"
    tags = ["complaints"]

    @post("/", opt={"public": True}, status_code=201)
    async def lodge(
        self, data: ComplaintCreate, request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
    ) -> ComplaintReceipt:
        """Anyone complains about a credential or the body, with a contact (no login;
        ``APKD_COMPLAINT_RATE_LIMIT`` per client per hour). Answers with a reference to follow it."""
        return await complaints.lodge(
            db,
            data,
            client_address=client_address(request.scope, settings.trusted_proxies),
            settings=settings,
        )

    @get("/{reference:str}/status", opt={"public": True})
    async def status(self, reference: str, db: AsyncSession) -> ComplaintStatus:
        """A complaint's state and decision, for whoever holds its reference."""
        return await complaints.status(db, reference)

    @get("/", guards=[body_staff])
    async def list_complaints(
        self, db: AsyncSession, state_filter: StateQuery = None
    ) -> list[ComplaintPublic]:
        """Complaints, oldest first."""
        return await complaints.list_complaints(db, state=state_filter)

    @get("/{reference:str}", guards=[body_staff])
    async def show(self, reference: str, db: AsyncSession) -> ComplaintPublic:
        return await complaints.get(db, reference)

    @post("/{reference:str}/take-up", guards=[admin_only], status_code=200)
    async def take_up(self, reference: str, db: AsyncSession, principal: Principal) -> ComplaintPublic:
        """Start examining the complaint (state diperiksa)."""
        return await complaints.take_up(db, reference, principal)

    @post("/{reference:str}/decision", guards=[admin_only], status_code=200)
    async def decide(
        self, reference: str, data: ComplaintDecision, db: AsyncSession, principal: Principal
    ) -> ComplaintPublic:
        """Decide the complaint; an upheld one about a credential may suspend or revoke it."""
        return await complaints.decide(db, reference, data, principal)


ROUTES: list[Any] = [AttemptAppealController, AppealController, ComplaintController]
