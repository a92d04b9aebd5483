"""HTTP handlers of the site flow, and the refusal of centre-only routes on a site server.
``ROUTES`` is what app.py mounts; ``refuse_on_site`` is its middleware in site mode."""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Controller, Request, get, post
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.guards import admin_only, requires
from apkd.accounts.security import Principal
from apkd.config import Settings
from apkd.errors import PROBLEM_JSON
from apkd.exams.access import session_for_staff
from apkd.sites import service
from apkd.sites.schemas import IngestOut, SiteStateOut, UnlockOut, UnlockRequest

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
        (r"^/api/v1/sites/results$", None),
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


def _state_of_package(row: Any) -> SiteStateOut:
    return SiteStateOut(
        package_id=row.id,
        session_id=row.session_id,
        state=service.package_state(row),
        created_at=row.created_at.isoformat(),
        detail=row.ingested_via,
    )


def _state_of_load(load: Any) -> SiteStateOut:
    return SiteStateOut(
        package_id=load.package_id,
        session_id=load.session_id,
        state=service.load_state(load),
        created_at=load.created_at.isoformat(),
        detail=load.push_error,
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

    @get("/", guards=[admin_only])
    async def states(self, db: AsyncSession, settings: Settings) -> list[SiteStateOut]:
        """Each package and how far it went: at the centre exported or ingested; on a site
        server loaded, unlocked, sealed or pushed."""
        if settings.site_mode:
            return [_state_of_load(x) for x in await service.loads(db)]
        return [_state_of_package(x) for x in await service.packages(db)]

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


ROUTES = [SitesController]
