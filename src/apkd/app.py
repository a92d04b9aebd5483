"""create_app(): the Litestar application, assembled from the domains in one place.

Every domain's ``controllers.ROUTES`` is mounted here, with the shared dependencies (``db``,
``settings``, ``principal``), the problem-details error handlers, the request size limit and
the OpenAPI document at ``/schema``. Domains may also expose ``controllers.LIFESPANS``:
async context managers taking the app (background sweepers and the like).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from typing import Any

from litestar import Litestar, MediaType, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import configure_mappers
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import __version__, problems
from apkd.accounts import controllers as accounts_controllers
from apkd.accounts import passwords
from apkd.accounts.guards import provide_principal
from apkd.accounts.security import configure_password_hashing
from apkd.apidocs import OpenAPIDocument, SwaggerPage, assets_router
from apkd.appeals import controllers as appeals_controllers
from apkd.audittrail import controllers as audittrail_controllers
from apkd.banks import controllers as banks_controllers
from apkd.config import Settings, get_settings
from apkd.credentials import controllers as credentials_controllers
from apkd.db import close_direct_pool, create_engine, ping, session_factory, warm_direct_pool
from apkd.edge import path_bounds, security_headers, wrap_edge
from apkd.errors import RETRY_AFTER_OUTAGE
from apkd.exams import controllers as exams_controllers
from apkd.grading import controllers as grading_controllers
from apkd.httperrors import EXCEPTION_HANDLERS
from apkd.registry import controllers as registry_controllers
from apkd.registry.ratelimit import public_rate_limit
from apkd.sites import controllers as sites_controllers
from apkd.talent import controllers as talent_controllers
from apkd.translog import controllers as translog_controllers
from apkd.translog.checkpoints import witness_keys
from apkd.web import controllers as web_controllers
from apkd.wiring import wire

DOMAINS = (
    banks_controllers,
    exams_controllers,
    grading_controllers,
    credentials_controllers,
    appeals_controllers,
    translog_controllers,
    registry_controllers,
    talent_controllers,
    sites_controllers,
    audittrail_controllers,
    web_controllers,
)


@get("/healthz", opt={"public": True}, tags=["ops"])
async def healthz(state: State) -> Response[dict[str, str]]:
    """200 when the database answers, 503 otherwise."""
    if await ping(state.engine):
        return Response({"status": "ok"}, media_type=MediaType.JSON)
    return Response(
        {"status": "database_unavailable"},
        status_code=503,
        media_type=MediaType.JSON,
        headers={"Retry-After": RETRY_AFTER_OUTAGE},
    )


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    """The request is the unit of work: commit once the handler has succeeded (its response is
    built but not yet sent), roll back when it raised. Services flush; they do not commit
    (the few exceptions are listed in docs/decisions/007-transactions.md)."""
    async with state.session_factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


def configure_process(settings: Settings) -> None:
    """What a process running an app with ``settings`` sets once, outside the app object: the
    password hasher, the cross-domain hooks (grading's credential effects, the site gate) and
    the check of the witness keys. ``create_app`` calls it; a test that reuses a built app calls
    it again, since another app built in between may have rewired the hooks."""
    configure_password_hashing(settings)
    wire(settings)  # cross-domain hooks (grading's credential effects), with this app's settings
    witness_keys(settings)  # a bad APKD_LOG_WITNESSES stops the start, not the first cosignature
    passwords.configure(settings.password_hash_concurrency)


def create_app(settings: Settings | None = None, *, engine: AsyncEngine | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_process(settings)

    @contextlib.asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        own = engine is None
        eng = engine or create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            direct_pool_size=settings.direct_pool_size,
        )
        app.state.engine = eng
        app.state.session_factory = session_factory(eng)
        if settings.warm_start:
            await warm_direct_pool(eng)
            # What start-up built (modules, routes, mappers) lives as long as the worker: out of
            # the collector's sight, so that the first burst's collections do not walk it.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await close_direct_pool(eng)
            if own:
                await eng.dispose()

    lifespans: list[Callable[[Litestar], Any]] = [database]
    # Every model is imported by now: configure the mappers here, not in the first request that
    # touches the ORM (a burst of 300 starts on a fresh worker paid it inside the burst;
    # decision 048).
    configure_mappers()
    route_handlers: list[Any] = [
        healthz,
        *problems.ROUTES,
        assets_router(),
        accounts_controllers.AuthController,
        accounts_controllers.UserController,
    ]
    for domain in DOMAINS:
        route_handlers.extend(getattr(domain, "ROUTES", []))
        lifespans.extend(getattr(domain, "LIFESPANS", []))

    app = Litestar(
        route_handlers=route_handlers,
        dependencies={
            "db": Provide(provide_db),
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "principal": Provide(provide_principal),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        # A site server refuses what needs the centre (publishing, credentials, registry).
        middleware=[path_bounds, *([sites_controllers.refuse_on_site] if settings.site_mode else [])],
        before_send=[security_headers(settings)],
        # every public route is limited per client address (routes behind a login are not)
        before_request=public_rate_limit,
        lifespan=lifespans,
        state=State({"settings": settings}),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="apkd",
            version=__version__,
            description="Sertifikasi Aparatur Pengelola Keuangan Daerah: ujian, hasil, kredensial, registri publik.",
            path="/schema",
            render_plugins=[SwaggerPage(), OpenAPIDocument()],
        ),
        debug=False,
    )
    app.asgi_handler = wrap_edge(app.asgi_handler, settings)
    return app
