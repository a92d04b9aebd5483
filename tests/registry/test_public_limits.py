"""Issue 11, points 4-5: the client address is the real one (X-Forwarded-For only from
APKD_TRUSTED_PROXIES), and every public route is limited per address, 429 with Retry-After."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.handlers import HTTPRouteHandler
from litestar.testing import AsyncTestClient

from apkd.app import create_app
from apkd.clientaddr import limit_key, resolve
from apkd.config import ConfigError, load_settings
from apkd.registry.ratelimit import public_rate_limit
from client_peer import with_peer


@pytest.fixture(autouse=True)
def _mid_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows are calendar minutes: keep each test inside one."""
    from types import SimpleNamespace

    from apkd.registry import ratelimit

    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 60.0 * 29_000_000 + 30))


@pytest.fixture
def limited(settings: Any, clean: Any, tmp_path: Any) -> Any:
    def factory(**overrides: Any) -> AsyncTestClient[Any]:
        values = {"public_rate_limit": 3, "public_document_rate_limit": 3, "login_rate_limit": 3}
        values.update(overrides)
        return AsyncTestClient(
            app=with_peer(create_app(dataclasses.replace(settings, var_dir=tmp_path, **values)))
        )

    return factory


# --- the client address -----------------------------------------------------------------------


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    trusted = ("10.0.0.0/8",)
    # no trusted proxy: the header is ignored
    assert resolve("198.51.100.7", ["1.2.3.4"], ()) == "198.51.100.7"
    # an untrusted peer cannot choose its address
    assert resolve("198.51.100.7", ["1.2.3.4"], trusted) == "198.51.100.7"
    # through a trusted proxy: the hop it saw
    assert resolve("10.0.0.2", ["203.0.113.9"], trusted) == "203.0.113.9"
    # the client's own forged hops (left of the real one) prove nothing
    assert resolve("10.0.0.2", ["1.2.3.4", "203.0.113.9"], trusted) == "203.0.113.9"
    # two trusted proxies in a row
    assert resolve("10.0.0.2", ["1.2.3.4", "203.0.113.9", "10.0.0.3"], trusted) == "203.0.113.9"
    # a malformed hop stops the walk at the last believable address
    assert resolve("10.0.0.2", ["203.0.113.9", "bukan-alamat"], trusted) == "10.0.0.2"
    assert resolve("10.0.0.2", ["[2001:db8::5]:443"], trusted) == "2001:db8::5"
    assert resolve("::ffff:198.51.100.7", [], ()) == "198.51.100.7"


def test_ipv6_clients_count_per_64() -> None:
    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("198.51.100.7") == "198.51.100.7"


def test_trusted_proxies_setting_is_checked() -> None:
    base = {"APKD_ENV": "test", "APKD_SECRET_KEY": "k" * 40}
    assert load_settings(base).trusted_proxies == ()
    got = load_settings({**base, "APKD_TRUSTED_PROXIES": "10.0.0.5, 192.168.0.0/16"}).trusted_proxies
    assert got == ("10.0.0.5/32", "192.168.0.0/16")
    with pytest.raises(ConfigError, match="APKD_TRUSTED_PROXIES"):
        load_settings({**base, "APKD_TRUSTED_PROXIES": "proxy.local"})


async def test_forged_forwarded_for_from_an_untrusted_address_is_ignored(limited) -> None:
    async with limited(trusted_proxies=("10.0.0.0/8",)) as c:
        codes = []
        for n in range(4):
            r = await c.get(
                "/api/v1/schemes", headers={"x-test-peer": "198.51.100.7", "X-Forwarded-For": f"1.2.3.{n}"}
            )
            codes.append(r.status_code)
        assert codes == [200, 200, 200, 429]
        # behind the trusted proxy, each client has its own bucket
        for n in range(4):
            r = await c.get(
                "/api/v1/schemes", headers={"x-test-peer": "10.0.0.2", "X-Forwarded-For": f"203.0.113.{n}"}
            )
            assert r.status_code == 200
        for _ in range(3):
            r = await c.get(
                "/api/v1/schemes", headers={"x-test-peer": "10.0.0.2", "X-Forwarded-For": "203.0.113.0"}
            )
        assert r.status_code == 429


# --- every public route --------------------------------------------------------------------------


def test_every_public_route_goes_through_the_limiter(settings) -> None:
    app = create_app(settings)
    missing = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            public = isinstance(handler, HTTPRouteHandler) and handler.opt.get("public") is True
            if public and handler.resolve_before_request() is not public_rate_limit:
                missing.append(route.path)
    assert missing == []


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/jwks.json",
        "/api/v1/log/checkpoint",
        "/api/v1/log/key",
        "/api/v1/log/entries?start=0&end=1",
        "/api/v1/log/proof/consistency?first=0&second=0",
        "/api/v1/schemes",
        "/api/v1/status-lists/1",
        "/healthz",
        "/ujian",
        "/static/registry.css",
        "/schema/openapi.json",
    ],
)
async def test_public_route_answers_429_with_retry_after(limited, path) -> None:
    async with limited(public_rate_limit=2, public_document_rate_limit=2) as c:
        for _ in range(2):
            assert (await c.get(path)).status_code != 429
        r = await c.get(path)
        assert r.status_code == 429, path
        assert r.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.json()["code"] == "rate_limited"
        # another address is not affected
        assert (await c.get(path, headers={"x-test-peer": "192.0.2.44"})).status_code != 429


async def test_cacheable_documents_have_the_higher_limit(limited) -> None:
    async with limited(public_rate_limit=1, public_document_rate_limit=5) as c:
        codes = [(await c.get("/.well-known/jwks.json")).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        assert (await c.get("/api/v1/log/lookup?number=APKD-X")).status_code != 429
        assert (await c.get("/api/v1/log/lookup?number=APKD-X")).status_code == 429


async def test_login_is_limited_per_address(limited, make_user) -> None:
    await make_user("candidate", username="peserta1")
    async with limited(login_rate_limit=2) as c:
        body = {"username": "peserta1", "password": "rahasia-123"}
        codes = [(await c.post("/api/v1/auth/login", json=body)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]


async def test_the_log_cannot_be_listed_faster_than_the_limit(limited, make_user) -> None:
    """Each leaf names a credential number: anonymous listing pays one per entry asked for."""
    await make_user("auditor", username="auditor1")
    async with limited(public_rate_limit=120, login_rate_limit=10) as c:
        r = await c.get("/api/v1/log/entries?start=0&end=1000")
        assert r.status_code == 429 and "entri" in r.json()["detail"] and "retry-after" in r.headers
        assert (await c.get("/api/v1/log/entries?start=0&end=100")).status_code == 200
        r = await c.get("/api/v1/log/entries?start=100&end=200")
        assert r.status_code == 429  # 200 entries in the minute: over 120
        # an auditor's login pays one per request
        r = await c.post(
            "/api/v1/auth/login",
            json={"username": "auditor1", "password": "rahasia-123"},
            headers={"x-test-peer": "192.0.2.10"},
        )
        token = {"Authorization": f"Bearer {r.json()['access_token']}", "x-test-peer": "192.0.2.10"}
        for start in range(0, 5000, 1000):
            r = await c.get(f"/api/v1/log/entries?start={start}&end={start + 1000}", headers=token)
            assert r.status_code == 200


@pytest.fixture
async def unlimited_client(client) -> AsyncIterator[Any]:
    yield client


async def test_limits_off_with_zero(unlimited_client) -> None:
    for _ in range(30):
        assert (await unlimited_client.get("/api/v1/schemes")).status_code == 200
