"""HTTP handlers of the exams domain. ``ROUTES`` is what app.py mounts; ``LIFESPANS`` runs the
overdue sweeper in every worker (safe: closing is one conditional UPDATE)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Litestar, Response, get, patch, post, put
from litestar.datastructures import State
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.guards import requires
from apkd.accounts.models import Role
from apkd.accounts.security import Principal
from apkd.config import Settings
from apkd.db import pool_gate
from apkd.errors import BadRequest
from apkd.exams import (
    access,
    attempts,
    candidate_import,
    clocks,
    conflicts,
    login_slips,
    minutes,
    minutes_doc,
    proctoring,
    saving,
    sessions,
)
from apkd.exams import briefing as briefing_service
from apkd.exams.briefing import Briefing
from apkd.exams.minutes_doc import MinutesDocument
from apkd.exams.roster_export import roster_table
from apkd.exams.schemas import (
    AdmitRequest,
    AttemptStatus,
    AttemptView,
    CandidateImportError,
    CandidateImportReport,
    CandidateImportRequest,
    CandidateImportRow,
    ConflictCreate,
    ConflictPublic,
    ExtendRequest,
    IncidentCreate,
    IncidentPublic,
    LoginSlipsRequest,
    Minutes,
    ReasonRequest,
    RegistrationCreate,
    RegistrationPublic,
    RosterEntry,
    SaveRequest,
    SaveResult,
    SessionCreate,
    SessionPublic,
    SessionUpdate,
    SubmitResult,
)
from apkd.httpcache import attachment
from apkd.spreadsheet import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_bytes, xlsx_bytes

log = logging.getLogger("apkd.exams")


admin_only = requires(Role.ADMIN)
staff = requires(Role.ADMIN, Role.PROCTOR)
candidate_only = requires(Role.CANDIDATE)
attempt_readers = requires(Role.CANDIDATE, Role.PROCTOR, Role.ADMIN)


class SessionController(Controller):
    path = "/api/v1/sessions"
    tags = ["exams"]

    @post("/", guards=[admin_only], status_code=201)
    async def create(self, data: SessionCreate, db: AsyncSession, principal: Principal) -> SessionPublic:
        """Create an exam session (admin): scheme, title, venue, window, time zone, capacity, proctors."""
        exam = await sessions.create_session(db, data, principal=principal)
        return await sessions.session_public(db, exam)

    @patch("/{session_id:int}", guards=[admin_only])
    async def update(
        self, session_id: int, data: SessionUpdate, db: AsyncSession, principal: Principal
    ) -> SessionPublic:
        """Edit a session (admin): only the fields sent change. Once it has started the scheme, the
        zone and the start are fixed and the end may only move later (409 ``session_started``);
        nothing changes once results are published (409 ``session_published``)."""
        exam = await sessions.update_session(db, session_id, data, principal=principal)
        return await sessions.session_public(db, exam)

    @get("/", guards=[staff])
    async def list_sessions(self, db: AsyncSession, principal: Principal) -> list[SessionPublic]:
        """Sessions: all for an admin, their own for a proctor."""
        return await sessions.list_sessions(db, principal)

    @get("/{session_id:int}", guards=[staff])
    async def detail(self, session_id: int, db: AsyncSession, principal: Principal) -> SessionPublic:
        """One exam session (admin, its proctors)."""
        exam = await access.session_for_staff(db, session_id, principal)
        return await sessions.session_public(db, exam)

    @post("/{session_id:int}/registrations", guards=[admin_only], status_code=201)
    async def register(
        self, session_id: int, data: RegistrationCreate, db: AsyncSession, principal: Principal
    ) -> RegistrationPublic:
        """Register a candidate by username (admin). One registration per candidate per session."""
        reg, user = await sessions.register_candidate(db, session_id, data.username, principal=principal)
        return RegistrationPublic(
            id=reg.id or 0, session_id=session_id, username=user.username, status=reg.status
        )

    @post("/{session_id:int}/candidates/import", guards=[admin_only], status_code=200)
    async def import_candidates(
        self, session_id: int, data: CandidateImportRequest, db: AsyncSession, principal: Principal
    ) -> CandidateImportReport:
        """Candidates from a CSV (nip, nama, instansi, jabatan, email?): a preview naming every bad
        row (``apply: false``), or accounts made and good rows registered (``apply: true``)."""
        report = await candidate_import.import_candidates(
            db, session_id, data.csv, apply=data.apply, actor=principal.username
        )
        return CandidateImportReport(
            session_id=session_id,
            applied=data.apply,
            rows=[
                CandidateImportRow(
                    line=r.line,
                    nip=r.nip,
                    full_name=r.full_name,
                    instansi=r.instansi,
                    jabatan=r.jabatan,
                    username=r.username,
                    action=r.action,
                    initial_password=report.passwords.get(r.username),
                )
                for r in report.rows
            ],
            errors=[CandidateImportError(line=line, message=msg) for line, msg in report.errors],
            created=report.created,
            registered=report.registered,
            skipped=report.skipped,
        )

    @post("/{session_id:int}/login-slips", guards=[admin_only], status_code=200, media_type="application/pdf")
    async def login_slips(
        self,
        session_id: int,
        db: AsyncSession,
        principal: Principal,
        settings: Settings,
        data: LoginSlipsRequest | None = None,
    ) -> Response[bytes]:
        """A PDF of login cards with fresh initial passwords (sets them: see apkd.exams.login_slips)."""
        req = data or LoginSlipsRequest()
        exam, slips = await login_slips.make_slips(
            db, session_id, usernames=req.usernames, include_logged_in=req.include_logged_in, actor=principal
        )
        body = login_slips.slips_pdf(exam, slips, settings.base_url.rstrip("/") + "/ujian")
        response = attachment(body, "application/pdf", f"kartu-login-sesi-{session_id}.pdf")
        response.headers["X-Slip-Count"] = str(len(slips))
        return response

    @get("/{session_id:int}/roster", guards=[staff])
    async def roster(self, session_id: int, db: AsyncSession, principal: Principal) -> list[RosterEntry]:
        """Each registered candidate's status, remaining time and last save (admin, its proctors)."""
        return await proctoring.roster(db, session_id, principal)

    @post("/{session_id:int}/incidents", guards=[staff], status_code=201)
    async def incident(
        self, session_id: int, data: IncidentCreate, db: AsyncSession, principal: Principal
    ) -> IncidentPublic:
        """Report an incident (its proctors): environment, candidate, staff or technical."""
        inc = await minutes.report_incident(
            db,
            session_id,
            principal,
            category=data.category,
            description=data.description,
            attempt_id=data.attempt_id,
        )
        return await minutes.incident_view(db, inc)

    @get("/{session_id:int}/conflicts", guards=[staff])
    async def session_conflicts(
        self, session_id: int, db: AsyncSession, principal: Principal
    ) -> list[ConflictPublic]:
        """Conflicts of interest declared by the session's proctors."""
        return await conflicts.list_for_session(db, session_id, principal)

    @get("/{session_id:int}/minutes", guards=[staff])
    async def minutes(self, session_id: int, db: AsyncSession, principal: Principal) -> Minutes:
        """The session's minutes (berita acara): counts, incidents and proctor actions."""
        return await minutes.session_minutes(db, session_id, principal)

    @get("/{session_id:int}/roster.csv", guards=[staff])
    async def roster_csv(
        self, session_id: int, db: AsyncSession, principal: Principal, variant: str | None = None
    ) -> Response[bytes]:
        """The roster as CSV (UTF-8 with BOM, NIP as text); ``?variant=excel-id`` for Indonesian-locale Excel."""
        if variant not in (None, "excel-id"):
            raise BadRequest("Parameter variant hanya boleh 'excel-id'.", code="invalid_variant")
        header, rows = await self._roster_table(db, session_id, principal)
        return attachment(
            csv_bytes(header, rows, excel_id=variant == "excel-id"),
            CSV_MEDIA_TYPE,
            f"daftar-hadir-sesi-{session_id}.csv",
        )

    @get("/{session_id:int}/roster.xlsx", guards=[staff])
    async def roster_xlsx(self, session_id: int, db: AsyncSession, principal: Principal) -> Response[bytes]:
        """The roster as an Excel workbook (NIP and seat as text)."""
        header, rows = await self._roster_table(db, session_id, principal)
        return attachment(
            xlsx_bytes(header, rows, sheet="Daftar hadir"),
            XLSX_MEDIA_TYPE,
            f"daftar-hadir-sesi-{session_id}.xlsx",
        )

    @staticmethod
    async def _roster_table(
        db: AsyncSession, session_id: int, principal: Principal
    ) -> tuple[list[str], list[list[Any]]]:
        entries = await proctoring.roster(db, session_id, principal)
        exam = await access.session_for_staff(db, session_id, principal)
        return roster_table(entries, exam.timezone)

    @get("/{session_id:int}/minutes/document", guards=[staff])
    async def minutes_document(
        self, session_id: int, db: AsyncSession, principal: Principal
    ) -> MinutesDocument:
        """The berita acara as a document: names, NIPs and seats, incidents, the proctors."""
        return await minutes_doc.minutes_document(db, session_id, principal)

    @get("/{session_id:int}/minutes.pdf", guards=[staff], media_type="application/pdf")
    async def minutes_pdf(self, session_id: int, db: AsyncSession, principal: Principal) -> Response[bytes]:
        """The berita acara as a PDF to print and sign."""
        doc = await minutes_doc.minutes_document(db, session_id, principal)
        return attachment(
            minutes_doc.minutes_pdf(doc), "application/pdf", f"berita-acara-sesi-{session_id}.pdf"
        )

    @get("/{session_id:int}/briefing", guards=[candidate_only])
    async def briefing(self, session_id: int, db: AsyncSession, principal: Principal) -> Briefing:
        """What the candidate reads before starting: their profile, the scheme, the rules."""
        return await briefing_service.briefing(db, session_id, principal)

    @post("/{session_id:int}/arrival", guards=[candidate_only], status_code=200)
    async def arrival(self, session_id: int, db: AsyncSession, principal: Principal) -> Briefing:
        """The candidate opened the start page: waiting at the door until admitted; the briefing."""
        return await briefing_service.record_arrival(db, session_id, principal)

    @post("/{session_id:int}/attempts", guards=[candidate_only], status_code=201)
    async def start(self, session_id: int, principal: Principal, state: State) -> AttemptView:
        """Start the exam (the admitted candidate, inside the session window); again = same attempt.

        No request session: the common start is two statements on the direct pool, and the
        service opens a session only when it needs one (decision 048)."""
        async with pool_gate(state.engine):  # a burst of starts queues for pooled connections
            return await attempts.start_attempt(state.engine, state.session_factory, session_id, principal)


class RegistrationController(Controller):
    path = "/api/v1/registrations"
    tags = ["exams"]

    @post("/{registration_id:int}/admit", guards=[staff], status_code=200)
    async def admit(
        self,
        registration_id: int,
        db: AsyncSession,
        principal: Principal,
        data: AdmitRequest | None = None,
    ) -> dict[str, Any]:
        """Admit a candidate after checking identity (the session's proctors)."""
        reg = await proctoring.admit(
            db, registration_id, principal, note=data.note if data else None, seat=data.seat if data else None
        )
        return {"id": reg.id, "status": reg.status, "session_id": reg.session_id}

    @post("/{registration_id:int}/conflicts", guards=[staff], status_code=201)
    async def declare_conflict(
        self, registration_id: int, data: ConflictCreate, db: AsyncSession, principal: Principal
    ) -> ConflictPublic:
        """A proctor of the session declares a conflict of interest with this candidate; with
        ``reassign_to`` the candidate moves to that proctor, otherwise it is minuted."""
        return await conflicts.declare(db, registration_id, data, principal)


class AttemptController(Controller):
    path = "/api/v1/attempts"
    tags = ["exams"]

    @get("/{attempt_id:int}", guards=[attempt_readers])
    async def view(self, attempt_id: int, db: AsyncSession, principal: Principal) -> AttemptView:
        """The attempt: items, responses, deadline, server_time, remaining_seconds."""
        attempt = await access.get_attempt_for(db, attempt_id, principal)
        return await attempts.attempt_view(db, attempt)

    @put("/{attempt_id:int}/responses/{position:int}", guards=[candidate_only], status_code=200)
    async def save(
        self, attempt_id: int, position: int, data: SaveRequest, state: State, principal: Principal
    ) -> SaveResult:
        """Save one response; answered only once it is durable."""
        saved = await saving.save_response(
            state.engine,
            attempt_id,
            position,
            principal,
            response=data.response,
            seq=data.seq,
            current_position=data.current_position,
            flagged=data.flagged,
        )
        return SaveResult(
            position=saved.position,
            seq=saved.seq,
            saved_at=clocks.iso(saved.saved_at),
            response=saved.response,
        )

    @post("/{attempt_id:int}/submit", guards=[candidate_only], status_code=200)
    async def submit(self, attempt_id: int, db: AsyncSession, principal: Principal) -> SubmitResult:
        """Submit the attempt; repeating it returns the same."""
        return await attempts.submit_attempt(db, attempt_id, principal)

    @post("/{attempt_id:int}/pause", guards=[staff], status_code=200)
    async def pause(
        self, attempt_id: int, data: ReasonRequest, db: AsyncSession, principal: Principal
    ) -> AttemptStatus:
        """Pause the attempt's clock (the session's proctors), with a reason."""
        return attempts.attempt_status(await proctoring.pause_attempt(db, attempt_id, principal, data.reason))

    @post("/{attempt_id:int}/resume", guards=[staff], status_code=200)
    async def resume(
        self, attempt_id: int, data: ReasonRequest, db: AsyncSession, principal: Principal
    ) -> AttemptStatus:
        """Resume a paused attempt; the pause is added to the deadline."""
        return attempts.attempt_status(
            await proctoring.resume_attempt(db, attempt_id, principal, data.reason)
        )

    @post("/{attempt_id:int}/extend", guards=[staff], status_code=200)
    async def extend(
        self, attempt_id: int, data: ExtendRequest, db: AsyncSession, principal: Principal
    ) -> AttemptStatus:
        """Give the attempt more minutes, with a reason."""
        a = await proctoring.extend_attempt(db, attempt_id, principal, data.minutes, data.reason)
        return attempts.attempt_status(a)

    @post("/{attempt_id:int}/terminate", guards=[staff], status_code=200)
    async def terminate(
        self, attempt_id: int, data: ReasonRequest, db: AsyncSession, principal: Principal
    ) -> AttemptStatus:
        """End the attempt now (answers kept), with a reason."""
        return attempts.attempt_status(
            await proctoring.terminate_attempt(db, attempt_id, principal, data.reason)
        )

    @post("/{attempt_id:int}/release", guards=[staff], status_code=200)
    async def release(
        self, attempt_id: int, data: ReasonRequest, db: AsyncSession, principal: Principal
    ) -> AttemptStatus:
        """Free the attempt from its login: the candidate's next login to call holds it."""
        return attempts.attempt_status(
            await proctoring.release_attempt(db, attempt_id, principal, data.reason)
        )


@contextlib.asynccontextmanager
async def overdue_sweeper(app: Litestar) -> AsyncIterator[None]:
    """Close overdue attempts every APKD_SWEEP_SECONDS (default 15; 0 turns it off)."""
    interval = app.state.settings.sweep_seconds
    if interval <= 0:
        yield
        return

    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
                return
            except TimeoutError:
                pass
            try:
                async with app.state.session_factory() as session:
                    closed = await saving.close_overdue(session)
                if closed:
                    log.info("closed %d overdue attempts", closed)
            except Exception:
                log.exception("overdue sweep failed; retrying next round")

    # Shutting down waits for a sweep under way to finish: it is never cut mid-transaction.
    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await task


ROUTES: list[Any] = [SessionController, RegistrationController, AttemptController]
LIFESPANS: list[Any] = [overdue_sweeper]
