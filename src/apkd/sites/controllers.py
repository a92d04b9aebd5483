"""HTTP handlers of the site flow, and the refusal of centre-only routes on a site server.
``ROUTES`` is what app.py mounts; ``refuse_on_site`` is its middleware in site mode."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Litestar, Request, get, post
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.guards import admin_only, requires
from apkd.accounts.security import Principal
from apkd.config import Settings
from apkd.dbtypes import utcnow
from apkd.errors import PROBLEM_JSON, AppError
from apkd.exams.access import session_for_staff
from apkd.exams.models import ExamSession
from apkd.sites import service, transport
from apkd.sites.schemas import IngestOut, ReportOut, SiteStateOut, StateTimes, UnlockOut, UnlockRequest

log = logging.getLogger("apkd.sites")

# What a site server cannot do: it needs the centre's bank, keys, log or registry, or it would
# make data the centre does not know (docs/decisions/024-site-packages.md).
CENTRE_ONLY = [
    (re.compile(p), methods)
    for p, methods in (
        (r"^/api/v1/sessions$", {"POST"}),
        (r"^/api/v1/sessions/\d+/(publish|registrations)$", {"POST"}),
        (r"^/api/v1/sessions/\d+/(item-analysis|results\.csv)$", {"GET"}),
        (r"^/api/v1/attempts/\d+/result$", {"GET"}),
        (
            r"^/api/v1/(item-versions|credentials|registry|log|status-lists|schemes/[^/]+/item-analysis)(/|$)",
            None,
        ),
        (r"^/api/v1/me/credentials$", None),
        (r"^/api/v1/users$", {"POST"}),
        (r"^/api/v1/sites/(results|state)$", None),
        (r"^/v/", None),
        (r"^/\.well-known/jwks\.json$", None),
    )
]


# A results file of a full room (40 candidates, 100 items, every save's history) is a few MB.
PUSH_MAX_BYTES = 16 * 1024 * 1024


def centre_only(method: str, path: str) -> bool:
    return any(rx.match(path) and (methods is None or method in methods) for rx, methods in CENTRE_ONLY)


CENTRE_ONLY_DETAIL = (
    "Server ini adalah server lokasi ujian: penerbitan hasil, kredensial, registri, dan data induk "
    "hanya tersedia di server pusat."
)


def refuse_on_site(app: ASGIApp) -> ASGIApp:
    """ASGI middleware of a site server: a centre-only route answers 403 ``centre_only`` before
    routing, guards or any handler (some public routes answer without Litestar's hooks)."""
    body = json.dumps(
        {
            "type": "about:blank",
            "status": 403,
            "title": "Akses ditolak",
            "detail": CENTRE_ONLY_DETAIL,
            "code": "centre_only",
        },
        ensure_ascii=False,
    ).encode("utf-8")
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        raw: Any = scope
        if raw["type"] == "http" and centre_only(raw["method"], raw["path"]):
            start: Any = {"type": "http.response.start", "status": 403, "headers": headers}
            await send(start)
            end: Any = {"type": "http.response.body", "body": body}
            await send(end)
            return
        await app(scope, receive, send)

    return middleware


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _session_fields(exam: ExamSession | None) -> dict[str, Any]:
    if exam is None:
        return {}
    return {
        "session_title": exam.title,
        "venue": exam.venue,
        "timezone": exam.timezone,
        "starts_at": exam.starts_at.isoformat(),
        "ends_at": exam.ends_at.isoformat(),
    }


def _state_of_package(row: Any, exam: ExamSession | None, now: Any) -> SiteStateOut:
    state = service.package_state(row)
    counts = row.site_counts
    return SiteStateOut(
        package_id=row.id,
        session_id=row.session_id,
        state=state,
        created_at=row.created_at.isoformat(),
        detail=row.ingested_via,
        **_session_fields(exam),
        times=StateTimes(
            exported=_iso(row.created_at),
            loaded=_iso(row.site_loaded_at),
            unlocked=_iso(row.site_unlocked_at),
            sealed=_iso(row.site_sealed_at),
            ingested=_iso(row.ingested_at),
        ),
        last_contact_at=_iso(row.last_report_at),
        clock_offset_seconds=row.clock_offset_seconds,
        counts=dict(counts) if isinstance(counts, dict) else None,
        unlock_overdue=(
            exam is not None
            and exam.starts_at <= now
            and row.site_unlocked_at is None
            and row.ingested_at is None
        ),
    )


def _state_of_load(load: Any, exam: ExamSession | None) -> SiteStateOut:
    return SiteStateOut(
        package_id=load.package_id,
        session_id=load.session_id,
        state=service.load_state(load),
        created_at=load.created_at.isoformat(),
        detail=load.push_error or load.report_error,
        **_session_fields(exam),
        times=StateTimes(
            exported=_iso(load.created_at),
            loaded=_iso(load.loaded_at),
            unlocked=_iso(load.unlocked_at),
            sealed=_iso(load.sealed_at),
        ),
        last_contact_at=_iso(load.reported_at),
    )


class SitesController(Controller):
    path = "/api/v1/sites"
    tags = ["sites"]

    @post(
        "/results",
        opt={"public": True},
        status_code=200,
        request_max_body_size=PUSH_MAX_BYTES,
    )
    async def push_results(self, request: Request[Any, Any, Any], db: AsyncSession) -> IngestOut:
        """A site pushes its sealed results file (the body, as written by `apkd site seal`).

        No login: the file is signed with the package's site key, which only the centre that
        issued the package can check. Idempotent; a conflicting file is refused (409)."""
        done = await service.ingest(db, await request.body(), actor=None, via="push")
        return IngestOut(done.package_id, done.session_id, done.attempts, done.already)

    @post(
        "/state",
        opt={"public": True},
        status_code=200,
        request_max_body_size=service.REPORT_MAX_BYTES,
    )
    async def report_state(self, request: Request[Any, Any, Any], db: AsyncSession) -> ReportOut:
        """A site reports its package's state (loaded, unlocked, sealed) with its clock and counts.

        No login: the report is signed with the package's site key (before the unlock, its
        report key). A report not newer than the last one taken is refused (409 `report_stale`)."""
        now = utcnow()
        row = await service.accept_report(db, await request.body(), now=now)
        return ReportOut(
            package_id=row.id,
            session_id=row.session_id,
            state=service.package_state(row),
            centre_time=now.isoformat(),
            clock_offset_seconds=row.clock_offset_seconds or 0,
        )

    @get("/", guards=[admin_only])
    async def states(self, db: AsyncSession, settings: Settings) -> list[SiteStateOut]:
        """Each package and how far it went: at the centre the latest of exported, loaded,
        unlocked, sealed (as the site reported them) and ingested, with when each happened;
        on a site server loaded, unlocked, sealed or pushed."""
        rows: list[Any] = await (service.loads(db) if settings.site_mode else service.packages(db))
        ids = {r.session_id for r in rows}
        exams = {
            e.id: e for e in (await db.exec(select(ExamSession).where(col(ExamSession.id).in_(ids)))).all()
        }
        if settings.site_mode:
            return [_state_of_load(x, exams.get(x.session_id)) for x in rows]
        now = utcnow()
        return [_state_of_package(x, exams.get(x.session_id), now) for x in rows]

    @post("/{session_id:int}/unlock", guards=[requires("admin", "proctor")], status_code=200)
    async def unlock(
        self, session_id: int, data: UnlockRequest, db: AsyncSession, settings: Settings, principal: Principal
    ) -> UnlockOut:
        """The session's proctor opens the package with its code (site servers only)."""
        await session_for_staff(db, session_id, principal)
        load = await service.unlock(db, settings, session_id, data.code, actor=principal.username)
        assert load.unlocked_at is not None
        return UnlockOut(
            session_id=session_id,
            unlocked_at=load.unlocked_at.isoformat(),
            clock_offset_seconds=load.unlock_offset_seconds or 0,
            failed_unlocks=load.failed_unlocks,
        )


async def report_once(session_factory: Any, settings: Settings) -> int:
    """Send one report for each loaded package whose state the centre has not acknowledged;
    the number still due afterwards. Network calls run outside any transaction."""
    async with session_factory() as db:
        due = [x.package_id for x in await service.loads(db) if service.report_due(x)]
    left = 0
    for package_id in due:
        async with session_factory() as db:
            load = await db.get(service.SiteLoad, package_id)
            if load is None:
                continue
            url = service.centre_url(settings, load)
            state = service.site_state(load)
            try:
                data = await service.build_report(db, settings, load)
            except AppError as exc:
                await service.record_report(db, package_id, None, exc.detail)
                await db.commit()
                continue
            await db.commit()
        if url is None:
            outcome = transport.Outcome(0, "alamat pusat tidak diketahui (APKD_CENTRE_URL)")
        else:
            outcome = await transport.post(
                url + "/api/v1/sites/state", data, wait_seconds=15, accepted=transport.STALE_IS_KNOWN
            )
        async with session_factory() as db:
            if outcome.verdict == "done":
                offset = service.answered_offset(outcome.text) if outcome.status == 200 else None
                await service.record_report(db, package_id, state, None, offset=offset)
            else:
                left += 1
                await service.record_report(db, package_id, None, f"{outcome.status}: {outcome.text}")
            await db.commit()
    return left


@contextlib.asynccontextmanager
async def site_reporter(app: Litestar) -> AsyncIterator[None]:
    """On a site server, report changed states to the centre every APKD_SITE_REPORT_SECONDS
    (default 60; 0 turns it off), backing off to 16 intervals (at most 15 minutes) while the
    centre cannot be reached. Never part of a request: the room's work does not wait for it."""
    settings: Settings = app.state.settings
    interval = settings.site_report_seconds
    if not settings.site_mode or interval <= 0:
        yield
        return
    stop = asyncio.Event()

    async def loop() -> None:
        wait = interval
        while not stop.is_set():
            try:
                left = await report_once(app.state.session_factory, settings)
            except Exception:
                log.exception("site state report failed; retrying later")
                left = 1
            wait = min(wait * 2, max(interval, min(900.0, interval * 16))) if left else interval
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
                return
            except TimeoutError:
                pass

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await task


ROUTES = [SitesController]
LIFESPANS: list[Any] = [site_reporter]
