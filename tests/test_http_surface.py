"""HEAD, security headers, problem types and the API documentation (issue 11, points 9, 13, 14)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from apkd.app import create_app
from apkd.config import load_settings
from apkd.problems import CATALOG

SRC = Path(__file__).resolve().parent.parent / "src" / "apkd"
PAGES = [
    "/ujian",
    "/pengawas",
    "/v/APKD-BPG-5305-2026-000001-X",
    "/problems/not_found",
    "/schema",
    "/static/app.css",
]


async def test_head_works_wherever_get_does_on_pages(client) -> None:
    for path in PAGES:
        got = await client.get(path)
        head = await client.head(path)
        assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers.get("content-length") == got.headers.get("content-length"), path


async def test_nosniff_on_every_response(client) -> None:
    for path in [*PAGES, "/api/v1/schemes", "/api/v1/registry/APKD-X", "/tidak-ada", "/schema/openapi.json"]:
        r = await client.get(path)
        assert r.headers.get("x-content-type-options") == "nosniff", (path, r.status_code)
    r = await client.post("/api/v1/auth/login", content=b"\xff", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.headers.get("x-content-type-options") == "nosniff"


async def test_hsts_in_production_only(client, settings, var_dir) -> None:
    assert "strict-transport-security" not in (await client.get("/api/v1/schemes")).headers
    prod = load_settings(
        {
            "APKD_ENV": "production",
            "APKD_SECRET_KEY": "p" * 48,
            "APKD_DATABASE_URL": settings.database_url,
            "APKD_VAR_DIR": str(var_dir),
            "APKD_BASE_URL": "https://sertifikasi.example.go.id",
        }
    )
    async with AsyncTestClient(app=create_app(prod)) as c:
        for path in ("/api/v1/schemes", "/ujian", "/tidak-ada"):
            hsts = (await c.get(path)).headers.get("strict-transport-security", "")
            assert "max-age=31536000" in hsts, path


async def test_problem_type_is_a_page_per_code(client) -> None:
    r = await client.get("/api/v1/sessions/5", headers={"Authorization": "Bearer x"})
    body = r.json()
    assert r.status_code == 401 and body["status"] == 401
    assert body["type"] == "https://apkd.test/problems/unauthorized"
    page = await client.get("/problems/unauthorized")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "unauthorized" in page.text and "Masuk" in page.text and 'lang="id"' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert (await client.get("/problems/tidak_ada")).status_code == 404


def test_every_code_the_app_raises_has_a_problem_page() -> None:
    """A new code needs its line in apkd.problems.CATALOG (what it means, what to do)."""
    raised: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        raised.update(re.findall(r'\bcode="([a-z0-9_]+)"', text))
        raised.update(re.findall(r'^\s+code = "([a-z0-9_]+)"', text, re.M))
        raised.update(re.findall(r'code, detail = \(?\s*"([a-z0-9_]+)"', text))
    missing = sorted(raised - CATALOG.keys())
    assert missing == [], f"add to apkd.problems.CATALOG: {missing}"


async def test_api_docs_are_served_from_the_package_under_a_csp(client) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/") for u in urls), urls  # nothing from a CDN
    for url in urls:
        r = await client.get(url)
        assert r.status_code == 200 and len(r.content) > 100, url
    assert "<script>" not in page.text  # no inline script: the CSP allows none


async def test_openapi_lists_every_status_and_content_type(client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    assert "Problem" in doc["components"]["schemas"]
    ops: dict[tuple[str, str], Any] = {
        (m, p): op for p, item in doc["paths"].items() for m, op in item.items() if isinstance(op, dict)
    }
    for (method, path), op in ops.items():
        responses = op["responses"]
        assert {"400", "429", "503"} <= responses.keys(), (method, path)
        for code, spec in responses.items():
            if code.startswith("4") or (code == "503" and path != "/healthz"):
                assert "application/problem+json" in spec.get("content", {}), (method, path, code)
    guarded = ops[("post", "/api/v1/sessions")]["responses"]
    assert {"401", "403", "409", "413", "422"} <= guarded.keys()
    assert "404" in ops[("get", "/api/v1/status-lists/{list_id}")]["responses"]
    assert "401" in ops[("post", "/api/v1/auth/login")]["responses"]

    def content(method: str, path: str, code: str = "200") -> set[str]:
        return set(ops[(method, path)]["responses"][code].get("content", {}))

    assert content("get", "/api/v1/status-lists/{list_id}") == {"application/vc+jwt"}
    assert content("get", "/.well-known/jwks.json") == {"application/jwk-set+json"}
    assert content("get", "/api/v1/credentials/{number}/qr.png") == {"image/png"}
    assert content("get", "/api/v1/credentials/{number}/certificate.pdf") == {"application/pdf"}
    assert {"text/html", "application/json"} <= content("get", "/v/{number}")
    assert {"text/html", "application/problem+json"} <= content("get", "/v/{number}", "404")
    assert "text/plain" in content("get", "/api/v1/log/checkpoint")
    assert content("get", "/problems/{code}") == {"text/html"}
    param = next(p for p in ops[("get", "/api/v1/sessions/{session_id}")]["parameters"] if p["in"] == "path")
    assert param["schema"]["format"] == "int32"
    user = doc["components"]["schemas"]
    create = next(v for k, v in user.items() if k.endswith("UserCreate"))
    assert create["properties"]["full_name"]["maxLength"] == 200
    assert "pattern" in create["properties"]["full_name"]
