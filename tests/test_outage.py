"""A database outage is 503 with Retry-After on every route, never 500 (issue 11, point 10)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar.handlers import HTTPRouteHandler
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import create_async_engine

from apkd.accounts.security import issue_token
from apkd.app import create_app
from apkd.config import Settings
from apkd.errors import is_database_outage

# Routes that answer without the database (documents built from the code, static files).
NO_DATABASE = ("/schema", "/apidocs", "/static", "/problems/", "/ujian", "/pengawas")


def _unreachable_urls(tmp_path: Path) -> list[str]:
    return [
        "postgresql+asyncpg://postgres@127.0.0.1:1/apkd",  # nothing listens: connection refused
        f"sqlite+aiosqlite:///{tmp_path}/tidak-ada/apkd.db",  # a file that cannot be opened
    ]


def _calls(app: Any) -> list[tuple[str, str]]:
    calls = []
    for route in app.routes:
        if route.path_format.startswith(NO_DATABASE):
            continue
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                url = route.path_format.replace("{number}", "APKD-BPG-5305-2026-000001-X")
                calls.append((method, re.sub(r"\{[a-z_]+\}", "1", url)))
    return calls


@pytest.mark.parametrize("which", [0, 1], ids=["postgres-refused", "sqlite-unopenable"])
async def test_every_route_answers_503_with_retry_after(
    settings: Settings, tmp_path: Path, which: int
) -> None:
    url = _unreachable_urls(tmp_path)[which]
    engine = create_async_engine(url)
    app = create_app(settings, engine=engine)
    seen: dict[int, list[str]] = {}
    async with AsyncTestClient(app=app) as client:
        for role in ("admin", "proctor", "candidate", "auditor"):
            token, _ = issue_token(settings, user_id=1, username=role, role=role)
            headers = {"Authorization": f"Bearer {token}"}
            for method, path in _calls(app):
                body: Any = {"token": "x"} if path.endswith("/verify") else {}
                r = await client.request(method, path, headers=headers, json=body)
                seen.setdefault(r.status_code, []).append(f"{method} {path}")
                assert r.status_code < 500 or r.status_code == 503, (method, path, r.status_code, r.text)
                if r.status_code == 503:
                    assert int(r.headers["retry-after"]) > 0, (method, path)
    await engine.dispose()
    assert 500 not in seen
    # the anonymous front door and the exam room are among the 503s
    for call in (
        "GET /healthz",
        "GET /api/v1/schemes",
        "GET /api/v1/status-lists/1",
        "GET /api/v1/attempts/1",
    ):
        assert call in seen.get(503, []), (call, seen)


async def test_login_during_an_outage_is_503_problem(settings: Settings, tmp_path: Path) -> None:
    engine = create_async_engine(_unreachable_urls(tmp_path)[0])
    async with AsyncTestClient(app=create_app(settings, engine=engine)) as client:
        r = await client.post("/api/v1/auth/login", json={"username": "admin", "password": "rahasia-123"})
    await engine.dispose()
    assert r.status_code == 503 and r.headers["retry-after"]
    body = r.json()
    assert body["code"] == "database_unavailable" and body["status"] == 503
    assert r.headers["content-type"].startswith("application/problem+json")


def test_what_counts_as_an_outage() -> None:
    from sqlalchemy import exc

    assert is_database_outage(ConnectionRefusedError(111, "refused"))
    assert is_database_outage(exc.OperationalError("x", {}, Exception("unable to open database file")))
    wrapped = RuntimeError("commit failed")
    wrapped.__cause__ = exc.TimeoutError("QueuePool limit reached")
    assert is_database_outage(wrapped)
    assert is_database_outage(ExceptionGroup("cleanup", [ValueError("a"), ConnectionResetError()]))
    assert not is_database_outage(ValueError("a bug is a 500"))
    assert not is_database_outage(FileNotFoundError(2, "a missing file is a bug, not an outage"))
    assert not is_database_outage(exc.ProgrammingError("x", {}, Exception("syntax error")))


async def test_a_database_that_fails_at_commit_is_503(client, monkeypatch) -> None:
    """The unit of work commits after the handler: a connection lost there is an outage too."""
    from sqlalchemy import exc
    from sqlmodel.ext.asyncio.session import AsyncSession

    async def lost(self: AsyncSession) -> None:
        raise exc.OperationalError("COMMIT", {}, ConnectionResetError(104, "connection reset by peer"))

    monkeypatch.setattr(AsyncSession, "commit", lost)
    r = await client.get("/api/v1/schemes")
    assert r.status_code == 503 and r.headers["retry-after"], r.text
    assert r.json()["code"] == "database_unavailable"
