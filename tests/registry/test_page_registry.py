"""The verification page when the database is out of reach, and rate limiting."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import create_async_engine

from apkd.app import create_app
from apkd.registry.service import KEYRING


def dead_engine() -> Any:
    # A database that cannot be opened: its directory does not exist.
    return create_async_engine("sqlite+aiosqlite:////nonexistent-apkd-dir/none/apkd.db")


async def _load_keys_once(client: Any, cred: Any) -> None:
    r = await client.post("/api/v1/registry/verify", json={"token": cred.qr_text})
    assert r.json()["valid"] is True


async def test_page_verifies_the_qr_token_with_the_database_down(client, issue, settings) -> None:
    cred, user = await issue()
    await _load_keys_once(client, cred)  # the keys are loaded: memory + var/jwks.json
    assert (settings.var_dir / "jwks.json").exists()
    query = cred.qr_text.split("?", 1)[1]
    for from_file in (False, True):
        if from_file:
            KEYRING.clear()  # a fresh worker: only the var/ file is left
        async with AsyncTestClient(app=create_app(settings, engine=dead_engine())) as down:
            page = await down.get(f"/v/{cred.number}?{query}")
            assert page.status_code == 200
            html = page.text
            assert "Tanda tangan digital sah" in html
            assert "BELUM DAPAT DIPASTIKAN" in html and "BERLAKU" not in html
            assert "Registri sedang tidak dapat dihubungi" in html
            assert "Yang tidak dapat diperiksa saat ini" in html
            assert "Siti Aminah Lamuri" in html
            assert user.nip not in html

            data = (
                await down.get(f"/v/{cred.number}?{query}", headers={"Accept": "application/json"})
            ).json()
            assert data["valid"] is False and data["status"] == "unknown"
            by_name = {c["name"]: c for c in data["checks"]}
            assert by_name["signature"]["ok"] is True
            for name in ("revocation", "suspension", "registry_record", "in_log"):
                assert by_name[name]["ok"] is False and by_name[name]["checked"] is False
                assert "tidak dapat dihubungi" in by_name[name]["detail"]

            # without the token there is nothing to check: a clear 503, not a 500
            page = await down.get(f"/v/{cred.number}")
            assert page.status_code == 503 and "REGISTRI TIDAK TERJANGKAU" in page.text
            r = await down.get(f"/api/v1/registry/{cred.number}")
            assert r.status_code == 503 and r.json()["code"] == "registry_unavailable"
            assert r.headers["retry-after"] == "30"
            assert r.headers["content-type"] == "application/problem+json"
            r = await down.get(f"/v/{cred.number}", headers={"Accept": "application/json"})
            assert r.status_code == 503 and r.json()["code"] == "registry_unavailable"
            assert r.headers["retry-after"] == "30"
            # a forged token is still refused while the database is down
            h, p, s = cred.qr_text.split("?t=")[1].split(".")
            forged = f"{h}.{p}.{s[:-4]}AAAA"
            page = await down.get(f"/v/{cred.number}?t={forged}")
            assert "TIDAK SAH" in page.text


async def test_session_factory_that_raises(client, issue, settings) -> None:
    cred, _ = await issue()
    await _load_keys_once(client, cred)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as c:

        def broken() -> Any:
            raise ConnectionError("database is gone")

        app.state.session_factory = broken
        r = await c.post("/api/v1/registry/verify", json={"token": cred.qr_text})
        assert r.status_code == 200
        out = r.json()
        assert out["valid"] is False and out["status"] == "unknown"
        assert {c["name"] for c in out["checks"] if c["ok"]} >= {"signature", "validity_period"}
        assert out["credential"]["holder_name"] == "Siti Aminah Lamuri"


async def test_rate_limit_429_with_retry_after_shared_between_workers(issue, settings, tmp_path) -> None:
    limited = dataclasses.replace(settings, public_rate_limit=3, var_dir=tmp_path)
    cred, _ = await issue()
    # two app instances = two workers sharing var/ratelimit.sqlite3
    async with (
        AsyncTestClient(app=create_app(limited)) as w1,
        AsyncTestClient(app=create_app(limited)) as w2,
    ):
        codes = []
        for worker in (w1, w2, w1):
            codes.append((await worker.get(f"/api/v1/registry/{cred.number}")).status_code)
        assert codes == [200, 200, 200]
        r = await w2.get(f"/v/{cred.number}")
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.json()["code"] == "rate_limited" and "per menit" in r.json()["detail"]
        r = await w1.post("/api/v1/registry/verify", json={"token": cred.qr_text})
        assert r.status_code == 429


async def test_rate_limit_off_with_zero(client, issue) -> None:
    cred, _ = await issue()
    for _ in range(20):
        assert (await client.get(f"/api/v1/registry/{cred.number}")).status_code == 200


async def test_jwks_file_is_public_keys_only(client, issue, settings) -> None:
    cred, _ = await issue()
    await _load_keys_once(client, cred)
    doc = json.loads((settings.var_dir / "jwks.json").read_text())
    assert doc["keys"] and all("d" not in k for k in doc["keys"])
    assert cred.kid in {k["kid"] for k in doc["keys"]}


async def test_static_css_is_served(client) -> None:
    r = await client.get("/static/registry.css")
    assert r.status_code == 200 and ".status-valid" in r.text


async def test_shared_counter_counts_per_window(tmp_path) -> None:
    from apkd.registry.ratelimit import SQLiteCounter

    a, b = SQLiteCounter(tmp_path / "rl.sqlite3"), SQLiteCounter(tmp_path / "rl.sqlite3")
    assert [await a.hit("10.0.0.1", 7), await b.hit("10.0.0.1", 7), await a.hit("10.0.0.2", 7)] == [1, 2, 1]
    assert await b.hit("10.0.0.1", 8) == 1  # a new minute starts from zero
