"""The request is the unit of work (docs/decisions/007-transactions.md): what a handler wrote
through the service layer is committed when it succeeds and gone when it raises."""

from __future__ import annotations

from typing import Any

from litestar import post
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.app import create_app
from apkd.db import create_engine
from apkd.errors import Conflict


async def _write(db: AsyncSession, marker: str) -> None:
    await audit.record(db, "test.unit_of_work", "test", marker, actor="test", details={})
    await db.flush()  # on the database, inside the request's transaction


@post("/test/write", opt={"public": True}, status_code=200)
async def write_and_succeed(db: AsyncSession, marker: str) -> dict[str, str]:
    await _write(db, marker)
    return {"written": marker}


@post("/test/write-then-refuse", opt={"public": True})
async def write_then_refuse(db: AsyncSession, marker: str) -> None:
    await _write(db, marker)
    raise Conflict("Ditolak setelah menulis.", code="test_refused")


@post("/test/write-then-crash", opt={"public": True})
async def write_then_crash(db: AsyncSession, marker: str) -> None:
    await _write(db, marker)
    raise RuntimeError("a bug after the write")


async def _written(engine: Any, marker: str) -> int:
    async with engine.connect() as conn:
        row = await conn.execute(
            text("SELECT count(*) FROM audit_event WHERE subject_id = :m AND action = 'test.unit_of_work'"),
            {"m": marker},
        )
        return int(row.scalar_one())


async def test_a_handler_that_raises_leaves_nothing_written(settings: Any, clean: Any) -> None:
    app = create_app(settings)
    for handler in (write_and_succeed, write_then_refuse, write_then_crash):
        app.register(handler)
    async with AsyncTestClient(app=app) as client:
        ok = await client.post("/test/write", params={"marker": "ok-1"})
        refused = await client.post("/test/write-then-refuse", params={"marker": "refused-1"})
        crashed = await client.post("/test/write-then-crash", params={"marker": "crashed-1"})
        after = await client.post("/test/write", params={"marker": "ok-2"})

    assert ok.status_code == 200 and after.status_code == 200
    assert refused.status_code == 409 and refused.json()["code"] == "test_refused"
    assert crashed.status_code == 500
    assert await _written(clean, "ok-1") == 1
    assert await _written(clean, "ok-2") == 1  # the session after a rollback works
    assert await _written(clean, "refused-1") == 0
    assert await _written(clean, "crashed-1") == 0


def test_a_cli_command_is_one_unit_of_work(settings: Any, clean: Any, monkeypatch: Any) -> None:
    """with_session commits what the command wrote when it succeeds, nothing when it raises."""
    import asyncio

    import pytest

    from apkd import cli, cliutil

    monkeypatch.setattr(cliutil, "get_settings", lambda: settings)  # cli's helpers live there

    async def ok(db: AsyncSession) -> None:
        await _write(db, "cli-ok")

    async def refused(db: AsyncSession) -> None:
        await _write(db, "cli-refused")
        raise Conflict("Ditolak setelah menulis.", code="test_refused")

    cli.with_session(ok)
    with pytest.raises(Conflict):
        cli.with_session(refused)

    async def counts() -> tuple[int, int]:
        own = create_engine(settings.database_url, pool_size=1)  # connections belong to this loop
        try:
            return await _written(own, "cli-ok"), await _written(own, "cli-refused")
        finally:
            await own.dispose()

    assert asyncio.run(counts()) == (1, 0)
