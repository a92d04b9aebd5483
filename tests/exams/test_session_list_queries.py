"""Listing sessions costs the same few queries for one session as for many (no N+1)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from apkd.db import session_factory, utcnow
from apkd.exams import sessions
from factories import create_exam_session, exam_setup


async def _queries_to_list(engine, principal) -> tuple[int, list]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with session_factory(engine)() as s:
            listed = await sessions.list_sessions(s, principal)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    return len(statements), listed


async def test_listing_ten_sessions_costs_what_listing_one_does(clean) -> None:
    factory = session_factory(clean)
    setup = await exam_setup(factory, proctors=("pengawas1", "pengawas2"))
    admin = setup.principal("admin1")
    one, listed = await _queries_to_list(clean, admin)
    assert len(listed) == 1 and listed[0].registered == 2 and listed[0].started

    for i in range(9):  # future sessions (started only if an attempt exists), each proctored
        await create_exam_session(
            factory,
            setup.users["admin1"],
            ["pengawas2"] if i % 2 else ["pengawas1", "pengawas2"],
            starts=utcnow() + timedelta(days=i + 1),
            ends=utcnow() + timedelta(days=i + 1, hours=3),
        )
    ten, listed = await _queries_to_list(clean, admin)
    assert len(listed) == 10 and ten <= one + 1  # + the look for attempts of future sessions
    future = [s for s in listed if s.id != setup.session_id]
    assert not any(s.started for s in future) and all(s.registered == 0 for s in future)
    assert sorted({tuple(s.proctors) for s in future}) == [("pengawas1", "pengawas2"), ("pengawas2",)]

    for i in range(10):
        await create_exam_session(
            factory,
            setup.users["admin1"],
            ["pengawas1"],
            starts=utcnow() + timedelta(days=20 + i),
            ends=utcnow() + timedelta(days=20 + i, hours=3),
        )
    twenty, listed = await _queries_to_list(clean, admin)
    assert len(listed) == 20 and twenty == ten

    # a proctor sees only the sessions they proctor
    _, mine = await _queries_to_list(clean, setup.principal("pengawas1"))
    assert len(mine) == 1 + 5 + 10 and all("pengawas1" in s.proctors for s in mine)
