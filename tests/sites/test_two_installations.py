"""Issue 16's done-when: two installations in separate processes. The centre runs on
PostgreSQL, the site on SQLite; each is driven only through the ``apkd`` command and its own
``apkd serve``. Export, import, unlock, two candidates sit through the site's HTTP API (one
passes), seal, ingest (and push), publish at the centre, and the passing credential verifies.
Along the way: the package reveals no item stem, an altered package and an altered results
file are refused, ingest is idempotent, and an unlock before the window is refused."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = os.environ.get("APKD_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "rahasia-123"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _base_env(tmp: Path, url: str, secret: str, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("APKD_") or k.startswith("APKD_PASSWORD_HASH")
    }
    tmp.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "APKD_DATABASE_URL": url,
            "APKD_VAR_DIR": str(tmp),
            "APKD_SECRET_KEY": secret,
            "APKD_ENV": "test",
            "APKD_PUBLIC_RATE_LIMIT": "0",
            "APKD_SWEEP_SECONDS": "0",
            **extra,
        }
    )
    return env


def apkd(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apkd", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


def ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r.stdout


class Server:
    def __init__(self, env: dict[str, str], port: int | None = None) -> None:
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "apkd", "serve", "--port", str(self.port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ready(self) -> None:
        async with httpx.AsyncClient() as c:
            for _ in range(300):
                try:
                    if (await c.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self.proc.poll() is not None:
                    raise RuntimeError("server exited at start-up")
                await asyncio.sleep(0.1)
        raise RuntimeError("server did not come up")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def centre_url() -> Iterator[str]:
    name = f"apkd_site_e2e_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        eng = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        try:
            async with eng.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await eng.dispose()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server: this test needs one
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}")
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def servers() -> AsyncIterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        s.stop()


async def login(c: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def right_answer(item: dict[str, Any]) -> object:
    """The key of the exams tests' bank, read back from the stem ("Soal A3: ...")."""
    m = re.match(r"Soal [AB](\d+)", item["stem"])
    assert m, item["stem"]
    n = int(m.group(1))
    if item["type"] == "numeric":
        return str(n * 1000)
    return "c" if item["type"] == "single" else ["a", "d"]


def altered(data: bytes, change: Any) -> bytes:
    env = json.loads(data)
    body = json.loads(base64.urlsafe_b64decode(env["body"] + "=" * (-len(env["body"]) % 4)))
    change(body)
    env["body"] = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return json.dumps(env).encode()


async def centre_states(url: str, until: Any, seconds: float = 30) -> dict[int, dict[str, Any]]:
    """The console API's site list at the centre, polled until ``until(states)`` holds."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        admin = await login(c, "admin1")
        for _ in range(int(seconds * 5)):
            states = {s["session_id"]: s for s in (await c.get("/api/v1/sites", headers=admin)).json()}
            if until(states):
                return states
            await asyncio.sleep(0.2)
    raise AssertionError(f"the centre never showed the expected states: {states}")


async def test_centre_and_site_in_separate_processes(
    tmp_path: Path, centre_url: str, servers: list[Server], bank_source: str
) -> None:
    # The package carries the centre's address (APKD_BASE_URL): the site reports there.
    hq_port = _free_port()
    centre = _base_env(
        tmp_path / "centre",
        centre_url,
        "centre-secret-" + "c" * 40,
        APKD_BASE_URL=f"http://127.0.0.1:{hq_port}",
    )
    site = _base_env(
        tmp_path / "site",
        f"sqlite+aiosqlite:///{tmp_path}/site/apkd.db",
        "site-secret-" + "s" * 40,
        APKD_SITE_MODE="1",
        APKD_SITE_REPORT_SECONDS="0.3",
    )
    ok(apkd(centre, "db", "upgrade"))
    ok(apkd(site, "db", "upgrade"))

    # --- the centre: bank, people, two sessions (one today, one later) -------------------------
    bank = tmp_path / "uji.yaml"
    bank.write_text(bank_source, encoding="utf-8")
    ok(apkd(centre, "bank", "import", str(bank)))
    people = [("admin", "admin1", None), ("proctor", "pengawas1", None)]
    people += [
        ("candidate", "peserta1", "198503122010101001"),
        ("candidate", "peserta2", "198503122010101002"),
    ]
    for role, name, nip in people:
        extra = ["--nip", nip, "--instansi", "BPKAD Kabupaten Alor"] if nip else []
        ok(
            apkd(
                centre,
                "user",
                "create",
                "--role",
                role,
                "--username",
                name,
                "--full-name",
                name.title(),
                "--password-stdin",
                *extra,
                stdin=PASSWORD + "\n",
            )
        )
    hq = Server(centre, hq_port)
    servers.append(hq)
    await hq.ready()
    now = datetime.now(UTC)
    async with httpx.AsyncClient(base_url=hq.url, timeout=60) as c:
        admin = await login(c, "admin1")
        ids = []
        for title, start in (
            ("Sesi Kalabahi", now - timedelta(minutes=5)),
            ("Sesi Alor nanti", now + timedelta(hours=3)),
        ):
            r = await c.post(
                "/api/v1/sessions",
                json={
                    "scheme_code": "UJI",
                    "title": title,
                    "venue": "Kalabahi",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=3)).isoformat(),
                    "proctors": ["pengawas1"],
                },
                headers=admin,
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
            for name in ("peserta1", "peserta2"):
                r = await c.post(
                    f"/api/v1/sessions/{ids[-1]}/registrations", json={"username": name}, headers=admin
                )
                assert r.status_code in (200, 201), r.text
    today, later = ids

    # --- export ---------------------------------------------------------------------------------
    pkg_today, pkg_later = tmp_path / "today.apkd", tmp_path / "later.apkd"
    r = apkd(centre, "site", "export", "--session", str(today), "--out", str(pkg_today))
    code_today = ok(r).strip()
    fingerprint = re.search(r"Sidik kunci penerbit: (\S+)", r.stderr)
    assert fingerprint, r.stderr
    code_later = ok(apkd(centre, "site", "export", "--session", str(later), "--out", str(pkg_later))).strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", code_today)
    data = pkg_today.read_bytes()
    assert b"Soal" not in data and b"berapa dan apa" not in data and b"SP2D" not in data
    assert code_today.encode() not in data

    # --- import at the site -----------------------------------------------------------------------
    bad = tmp_path / "altered.apkd"
    bad.write_bytes(altered(data, lambda b: b["registrations"].append({**b["registrations"][0], "id": 999})))
    r = apkd(site, "site", "import", str(bad))
    assert r.returncode == 1 and "diubah" in r.stderr
    r = apkd(centre, "site", "import", str(pkg_today))
    assert r.returncode == 1 and "APKD_SITE_MODE" in r.stderr  # the centre is not a site
    ok(apkd(site, "site", "import", str(pkg_today), "--fingerprint", fingerprint.group(1)))
    r = apkd(site, "site", "import", str(pkg_today))
    assert r.returncode == 1 and "sudah dimuat" in r.stderr
    ok(apkd(site, "site", "import", str(pkg_later)))

    # --- unlock: the later session is outside its window; a wrong code is refused ---------------
    r = apkd(site, "site", "unlock", "--session", str(later), stdin=code_later + "\n")
    assert r.returncode == 1 and "baru dapat dibuka" in r.stderr
    r = apkd(site, "site", "unlock", "--session", str(today), stdin="0000-0000-0000-0000-0000\n")
    assert r.returncode == 1 and "salah" in r.stderr

    # --- the room: nobody starts before the unlock; two candidates sit after it --------------------
    post = Server(site)
    servers.append(post)
    await post.ready()
    # The site server reports both packages as loaded on its own.
    states = await centre_states(hq.url, lambda s: s[today]["state"] == s[later]["state"] == "loaded")
    assert states[today]["times"]["loaded"] and states[today]["times"]["unlocked"] is None
    assert states[today]["venue"] == "Kalabahi" and states[today]["timezone"] == "Asia/Makassar"
    assert states[today]["unlock_overdue"] is True  # the session has started, no unlock yet
    assert states[later]["unlock_overdue"] is False
    assert abs(states[today]["clock_offset_seconds"]) <= 5
    assert states[today]["counts"]["registered"] == 2
    hq.stop()  # the link drops: nothing on the site waits for the centre
    async with httpx.AsyncClient(base_url=post.url, timeout=60) as c:
        proctor = await login(c, "pengawas1")
        roster = (await c.get(f"/api/v1/sessions/{today}/roster", headers=proctor)).json()
        regs = (
            {row["username"]: row["registration_id"] for row in roster["candidates"]}
            if isinstance(roster, dict)
            else {row["username"]: row["registration_id"] for row in roster}
        )
        for name in ("peserta1", "peserta2"):
            r = await c.post(f"/api/v1/registrations/{regs[name]}/admit", headers=proctor)
            assert r.status_code == 200, r.text
        cand = {name: await login(c, name) for name in ("peserta1", "peserta2")}
        r = await c.post(f"/api/v1/sessions/{today}/attempts", headers=cand["peserta1"])
        assert r.status_code == 403 and r.json()["code"] == "session_locked", r.text
        r = await c.post(f"/api/v1/sites/{today}/unlock", json={"code": code_today.lower()}, headers=proctor)
        assert r.status_code == 200, r.text
        assert r.json()["failed_unlocks"] == 1
        assert "laporan ke pusat tertunda" in ok(apkd(site, "site", "status"))
        hq = Server(centre, hq_port)  # the link is back: the pending report goes through
        servers.append(hq)
        await hq.ready()
        states = await centre_states(hq.url, lambda s: s[today]["state"] == "unlocked")
        assert states[today]["times"]["unlocked"] and states[today]["unlock_overdue"] is False

        for name, good in (("peserta1", True), ("peserta2", False)):
            r = await c.post(f"/api/v1/sessions/{today}/attempts", headers=cand[name])
            assert r.status_code in (200, 201), r.text
            view = r.json()
            for item in view["items"]:
                answer = (
                    right_answer(item)
                    if good
                    else (
                        "999"
                        if item["type"] == "numeric"
                        else item["options"][0]["id"]
                        if item["type"] == "single"
                        else []
                    )
                )
                if not good and item["type"] == "single" and answer == "c":
                    answer = item["options"][1]["id"]
                r = await c.put(
                    f"/api/v1/attempts/{view['id']}/responses/{item['position']}",
                    json={"response": answer, "seq": 1},
                    headers=cand[name],
                )
                assert r.status_code == 200, r.text
            r = await c.post(f"/api/v1/attempts/{view['id']}/submit", headers=cand[name])
            assert r.status_code == 200, r.text
        # What needs the centre is refused on a site.
        r = await c.post("/api/v1/registry/verify", json={"token": "x"})
        assert r.status_code == 403 and r.json()["code"] == "centre_only"
        assert "server pusat" in r.json()["detail"]
    post.stop()

    # --- seal (twice: the same file), an altered copy, ingest (twice), push ---------------------
    res, res2 = tmp_path / "results.json", tmp_path / "results-again.json"
    ok(apkd(site, "site", "seal", "--session", str(today), "--out", str(res)))
    # No site server runs now: the operator reports the seal by hand.
    out = ok(apkd(site, "site", "report", "--session", str(today), "--retries", "3", "--interval", "0.2"))
    assert "'sealed' diterima pusat" in out
    states = await centre_states(hq.url, lambda s: s[today]["state"] == "sealed")
    assert states[today]["counts"]["started"] == 2 and states[today]["counts"]["submitted"] == 2
    ok(apkd(site, "site", "seal", "--session", str(today), "--out", str(res2)))
    assert res.read_bytes() == res2.read_bytes()
    forged = tmp_path / "forged.json"
    forged.write_bytes(altered(res.read_bytes(), lambda b: b["responses"][-1].update(response="c")))
    r = apkd(centre, "site", "ingest", str(forged))
    assert r.returncode == 1 and "diubah" in r.stderr
    out = ok(apkd(centre, "site", "ingest", str(res)))
    assert "2 percobaan" in out
    out = ok(apkd(centre, "site", "ingest", str(res)))
    assert "sudah diterima" in out
    ok(
        apkd(
            site,
            "site",
            "push",
            "--session",
            str(today),
            "--url",
            hq.url,
            "--retries",
            "2",
            "--interval",
            "0.2",
        )
    )
    assert "pushed" in ok(apkd(site, "site", "status"))

    # --- the centre publishes; the passing credential verifies -----------------------------------
    async with httpx.AsyncClient(base_url=hq.url, timeout=120) as c:
        admin = await login(c, "admin1")
        states = (await c.get("/api/v1/sites", headers=admin)).json()
        assert {s["session_id"]: s["state"] for s in states} == {today: "ingested", later: "loaded"}
        steps = next(s for s in states if s["session_id"] == today)["times"]
        assert steps["exported"] < steps["loaded"] < steps["unlocked"] < steps["sealed"] < steps["ingested"]
        # The minutes at the centre carry the site's clock and wrong codes.
        notes = " ".join(
            (await c.get(f"/api/v1/sessions/{today}/minutes", headers=admin)).json()["site_notes"]
        )
        assert "Selisih jam komputer lokasi terhadap jam pusat pada laporan terakhir" in notes, notes
        assert "Kode pembuka salah dimasukkan 1 kali" in notes, notes
        r = await c.post(f"/api/v1/sessions/{today}/publish", headers=admin)
        assert r.status_code == 200, r.text
        summary = r.json()
        assert summary["total_graded"] == 2 and summary["total_passed"] == 1, summary
        mine = (await c.get("/api/v1/me/credentials", headers=await login(c, "peserta1"))).json()
        assert len(mine) == 1
        assert (await c.get("/api/v1/me/credentials", headers=await login(c, "peserta2"))).json() == []
        detail = (await c.get(f"/api/v1/credentials/{mine[0]['number']}", headers=admin)).json()
        verdict = (await c.post("/api/v1/registry/verify", json={"token": detail["vc_jwt"]})).json()
        assert verdict["valid"] is True, verdict
