"""Web UI fixtures: the demo data (the shapes `make run` gives), and the app served over real
HTTP on a free port for the browser test."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select
from web_support import Demo

from apkd.db import session_factory


@pytest.fixture
async def demo(clean: Any) -> Demo:
    """`apkd demo` on the test database, with the session's window widened by a day on each
    side (the demo's window is today 00:00-23:59 WITA: a test run at 23:59 must not fail)."""
    from apkd.demo import seed_demo
    from apkd.exams.models import ExamSession

    async with session_factory(clean)() as s:
        await seed_demo(s)
    async with session_factory(clean)() as s:
        exam = (await s.exec(select(ExamSession))).one()
        exam.starts_at -= timedelta(days=1)
        exam.ends_at += timedelta(days=1)
        s.add(exam)
        await s.commit()
        assert exam.id is not None
        return Demo(session_id=exam.id)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app served by uvicorn in a thread of its own (its own event loop and engine)."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
