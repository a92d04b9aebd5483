"""The site endpoints through HTTP, and a site server's refusal of centre-only routes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar.testing import AsyncTestClient

from apkd.app import create_app
from apkd.signing.keys import generate_key, public_jwk, thumbprint
from apkd.sites.package import REPORT_FORMAT, RESULTS_FORMAT, seal_envelope


async def test_push_endpoint_refuses_what_is_not_a_results_file(client: Any) -> None:
    for body in (b"", b"not json", b'{"format": "apkd-site-package/1"}'):
        r = await client.post(
            "/api/v1/sites/results", content=body, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"].startswith("results_")


async def test_state_endpoint_refuses_what_is_not_a_report(client: Any) -> None:
    key = generate_key()
    body = {
        "package_id": "0" * 32,
        "session_id": 1,
        "seq": 1,
        "state": "loaded",
        "sent_at": "2026-01-01T00:00:00+00:00",
    }
    unknown = seal_envelope(REPORT_FORMAT, body, key, thumbprint(public_jwk(key)))
    results = seal_envelope(RESULTS_FORMAT, body, key, thumbprint(public_jwk(key)))
    for data, status, code in (
        (b"not json", 422, "report_malformed"),
        (results, 422, "report_wrong_format"),  # a results file is not a report
        (unknown, 422, "report_unknown_package"),
        (b"{" + b" " * 20_000 + b"}", 413, None),
    ):
        r = await client.post(
            "/api/v1/sites/state", content=data, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        if code:
            assert r.json()["code"] == code


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
            ("POST", "/api/v1/sites/state"),
            ("GET", "/v/ABC"),
        ):
            r = await c.request(method, path)
            assert r.status_code == 403, (method, path, r.status_code)
            assert r.json()["code"] == "centre_only" and "server pusat" in r.json()["detail"]
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.get("/api/v1/sessions/1")).status_code == 401  # the room's routes stay
