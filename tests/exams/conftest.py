"""Exams fixtures: a small bank, a session with a proctor, registered and admitted candidates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from apkd.db import session_factory
from factories import bank_text, create_exam_session, import_bank_text


async def import_text(engine: Any, source: str) -> None:
    async with session_factory(engine)() as s:
        await import_bank_text(s, source)
        await s.commit()


@dataclass
class World:
    client: Any
    engine: Any
    admin: dict[str, str]
    proctor: dict[str, str]
    session_id: int
    candidates: list[Any] = field(default_factory=list)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    registrations: dict[str, int] = field(default_factory=dict)
    login: Any = None

    async def register(self, user: Any) -> int:
        r = await self.client.post(
            f"/api/v1/sessions/{self.session_id}/registrations",
            json={"username": user.username},
            headers=self.admin,
        )
        assert r.status_code == 201, r.text
        self.registrations[user.username] = r.json()["id"]
        return r.json()["id"]

    async def admit(self, user: Any) -> None:
        r = await self.client.post(
            f"/api/v1/registrations/{self.registrations[user.username]}/admit", headers=self.proctor
        )
        assert r.status_code == 200, r.text

    async def start(self, user: Any) -> dict[str, Any]:
        r = await self.client.post(
            f"/api/v1/sessions/{self.session_id}/attempts", headers=self.headers[user.username]
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def shift(self, attempt_id: int, seconds: int) -> None:
        """Move an attempt's clock into the past by ``seconds`` (start and deadline)."""
        from apkd.exams.models import Attempt

        async with session_factory(self.engine)() as s:
            a = await s.get(Attempt, attempt_id)
            a.started_at -= timedelta(seconds=seconds)
            a.deadline -= timedelta(seconds=seconds)
            if a.paused_at is not None:
                a.paused_at -= timedelta(seconds=seconds)
            s.add(a)
            await s.commit()

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(statement), params)).all()
            await conn.rollback()
        return list(rows)


@pytest.fixture
async def world(client, clean, make_user, login) -> World:
    await import_text(clean, bank_text())
    admin_user = await make_user("admin", username="admin1")
    await make_user("proctor", username="pengawas1")
    await make_user("proctor", username="pengawas2")
    session_id = await create_exam_session(session_factory(clean), admin_user, ["pengawas1"])
    w = World(
        client=client,
        engine=clean,
        admin=await login("admin1"),
        proctor=await login("pengawas1"),
        session_id=session_id,
        login=login,
    )
    for i in range(3):
        u = await make_user("candidate", username=f"peserta{i + 1}")
        w.candidates.append(u)
        w.headers[u.username] = await login(u.username)
    return w


@pytest.fixture
async def running(world: World) -> tuple[World, Any, dict[str, Any]]:
    """The first candidate registered, admitted and started."""
    cand = world.candidates[0]
    await world.register(cand)
    await world.admit(cand)
    view = await world.start(cand)
    return world, cand, view


@pytest.fixture
def reimport(clean) -> Any:
    """Import the test bank again, e.g. with every stem edited (new item versions)."""

    async def do(**kwargs: Any) -> None:
        await import_text(clean, bank_text(**kwargs))

    return do


@pytest.fixture
def bank_source() -> str:
    """The test bank's YAML text (two units of six items, three drawn from each)."""
    return bank_text()
