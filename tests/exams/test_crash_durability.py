"""Reliability: a real `apkd serve` on a temp SQLite database is killed with SIGKILL while saves
are in flight; after a restart every save that was answered 200 is stored, and the attempt
resumes with the same deadline."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from apkd.db import create_engine, session_factory, utcnow
from factories import exam_setup

ROOT = Path(__file__).resolve().parents[2]
SECRET = "crash-test-secret-" + "y" * 40

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}
    env.update(
        {
            "APKD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/apkd.db",
            "APKD_VAR_DIR": str(tmp),
            "APKD_SECRET_KEY": SECRET,
            "APKD_ENV": "test",
            "APKD_PUBLIC_RATE_LIMIT": "0",
        }
    )
    return env


async def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "apkd", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    async with httpx.AsyncClient() as c:
        for _ in range(300):
            try:
                if (await c.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return proc
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("server exited at start-up")
            await asyncio.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not come up")


async def test_sigkill_during_saves_loses_no_acknowledged_save(tmp_path, bank_source) -> None:
    env = env_for(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "apkd", "db", "upgrade"], env=env, cwd=ROOT, capture_output=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    engine = create_engine(env["APKD_DATABASE_URL"])
    factory = session_factory(engine)
    setup = await exam_setup(
        factory,
        bank_source=bank_source,
        starts=utcnow() - timedelta(minutes=5),
        ends=utcnow() + timedelta(hours=3),
        candidates=("peserta1",),
        admit=True,
        title="Sesi uji ketahanan",
        venue="Kalabahi",
    )
    session_id = setup.session_id
    await engine.dispose()

    port = free_port()
    proc = await serve(env, port)
    base = f"http://127.0.0.1:{port}"
    acked: list[tuple[int, int]] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as c:
            r = await c.post("/api/v1/auth/login", json={"username": "peserta1", "password": "rahasia-123"})
            h = {"Authorization": f"Bearer {r.json()['access_token']}"}
            r = await c.post(f"/api/v1/sessions/{session_id}/attempts", headers=h)
            assert r.status_code == 201, r.text
            view = r.json()
            aid, deadline = view["id"], view["deadline"]
            items = view["items"]

            def value(item: dict[str, Any], seq: int) -> Any:
                if item["type"] == "numeric":
                    return seq
                ids = [o["id"] for o in item["options"]]
                return ids[seq % len(ids)] if item["type"] == "single" else [ids[seq % len(ids)]]

            stop = asyncio.Event()
            killed = asyncio.Event()

            async def worker(mine: list[dict[str, Any]]) -> None:
                seq = 0
                async with httpx.AsyncClient(base_url=base, timeout=5) as wc:
                    while not stop.is_set():
                        seq += 1
                        for item in mine:
                            try:
                                resp = await wc.put(
                                    f"/api/v1/attempts/{aid}/responses/{item['position']}",
                                    json={"response": value(item, seq), "seq": seq},
                                    headers=h,
                                )
                            except httpx.TransportError as exc:
                                # only the kill may cut a save short; a save that hangs for
                                # seconds before it is a failure, not a reason to stop quietly
                                if killed.is_set():
                                    return
                                raise AssertionError(f"save of {item['position']} failed: {exc!r}") from exc
                            if resp.status_code == 200:
                                acked.append((item["position"], seq))
                            else:
                                raise AssertionError(resp.text)

            tasks = [asyncio.create_task(worker(items[i::3])) for i in range(3)]
            for _ in range(600):
                await asyncio.sleep(0.02)
                if len(acked) >= 60:
                    break
            killed.set()
            os.kill(proc.pid, signal.SIGKILL)  # saves are in flight right now
            proc.wait(timeout=30)
            stop.set()
            await asyncio.gather(*tasks)
        assert len(acked) >= 60

        # restart; nothing acknowledged is lost; the same login resumes with the same deadline
        proc = await serve(env, port)
        with sqlite3.connect(tmp_path / "apkd.db") as conn:
            stored = dict(
                conn.execute("SELECT position, seq FROM response WHERE attempt_id = ?", (aid,)).fetchall()
            )
            history = set(
                conn.execute(
                    "SELECT position, seq FROM response_history WHERE attempt_id = ?", (aid,)
                ).fetchall()
            )
        for position, seq in acked:
            assert stored[position] >= seq, (position, seq)
            assert (position, seq) in history
        async with httpx.AsyncClient(base_url=base, timeout=10) as c:
            r = await c.get(f"/api/v1/attempts/{aid}", headers=h)
            assert r.status_code == 200 and r.json()["status"] == "in_progress"
            assert r.json()["deadline"] == deadline
            got = {i["position"]: i["response"] for i in r.json()["items"]}
            for item in items:
                assert got[item["position"]] == value(item, stored[item["position"]])
            nxt = stored[items[0]["position"]] + 1
            r = await c.put(
                f"/api/v1/attempts/{aid}/responses/{items[0]['position']}",
                json={"response": value(items[0], nxt), "seq": nxt},
                headers=h,
            )
            assert r.status_code == 200
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
