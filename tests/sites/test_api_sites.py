"""The site endpoints through HTTP, and a site server's refusal of centre-only routes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar.testing import AsyncTestClient

from apkd.app import create_app


async def test_push_endpoint_refuses_what_is_not_a_results_file(client: Any) -> None:
    for body in (b"", b"not json", b'{"format": "apkd-site-package/1"}'):
        r = await client.post(
            "/api/v1/sites/results", content=body, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"].startswith("results_")


async def test_site_states_are_for_admins_and_unlock_for_staff(
    client: Any, make_user: Any, login: Any
) -> None:
    assert (await client.get("/api/v1/sites")).status_code == 401
    await make_user("admin", "admin1")
    await make_user("candidate", "peserta1")
    admin, cand = await login("admin1"), await login("peserta1")
    r = await client.get("/api/v1/sites", headers=admin)
    assert r.status_code == 200 and r.json() == []
    assert (await client.get("/api/v1/sites", headers=cand)).status_code == 403
    r = await client.post("/api/v1/sites/1/unlock", json={"code": "x"}, headers=cand)
    assert r.status_code == 403
    r = await client.post("/api/v1/sites/999/unlock", json={"code": "x"}, headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "session_not_found"


async def test_a_site_server_refuses_centre_only_routes(settings: Any, clean: Any) -> None:
    site = create_app(replace(settings, site_mode=True))
    async with AsyncTestClient(app=site) as c:
        for method, path in (
            ("GET", "/.well-known/jwks.json"),
            ("POST", "/api/v1/registry/verify"),
            ("POST", "/api/v1/sessions/1/publish"),
            ("GET", "/api/v1/credentials/ABC"),
            ("POST", "/api/v1/sites/results"),
            ("GET", "/v/ABC"),
        ):
            r = await c.request(method, path)
            assert r.status_code == 403, (method, path, r.status_code)
            assert r.json()["code"] == "centre_only" and "server pusat" in r.json()["detail"]
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.get("/api/v1/sessions/1")).status_code == 401  # the room's routes stay
