"""The user interface: static files (``/static/...``) and the exam-room pages.

``/ujian`` (candidates) and ``/pengawas`` (proctors) are thin HTML shells: every piece of data
they show comes from the JSON API, called by the page's own scripts (``/static/js/*.js``) with
the access token kept in the tab's memory/sessionStorage. The page routes are public; the data
behind them is guarded by the API. The pages carry a strict Content-Security-Policy: scripts,
styles and API calls from this origin only, no inline script, no external resource.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import MediaType, Response, get
from litestar.static_files import create_static_files_router

from apkd.templating import render

STATIC_DIR = Path(__file__).parent / "static"

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

PAGE_HEADERS = {
    # The shell holds no data, but a cached copy must never outlive a fix to the scripts.
    "Cache-Control": "no-store",
    "Content-Security-Policy": PAGE_CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _page(template: str) -> Response[str]:
    return Response(render(template), media_type=MediaType.HTML, headers=PAGE_HEADERS)


@get("/ujian", opt={"public": True}, include_in_schema=False, name="page-candidate")
async def candidate_page() -> Response[str]:
    """The candidate's exam page (HTML shell; the data comes from the API)."""
    return _page("ujian.html")


@get("/pengawas", opt={"public": True}, include_in_schema=False, name="page-proctor")
async def proctor_page() -> Response[str]:
    """The proctor's roster and controls (HTML shell; the data comes from the API)."""
    return _page("pengawas.html")


@get("/admin", opt={"public": True}, include_in_schema=False, name="page-admin")
async def admin_page() -> Response[str]:
    """The certification body's console (HTML shell; the data comes from the API)."""
    return _page("admin.html")


ROUTES: list[Any] = [
    create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        opt={"public": True},
        cache_control=None,
        include_in_schema=False,
        name="static",
    ),
    candidate_page,
    proctor_page,
    admin_page,
]
