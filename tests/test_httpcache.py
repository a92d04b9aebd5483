"""ETag / If-None-Match / Cache-Control in one place (apkd.httpcache): a prebuilt answer sends
exactly what the ordinary response would, and a client holding the ETag gets a bodiless 304."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, Request, Response, get
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp

from apkd.httpcache import Prepared, cached, etag_for, if_none_match

DOC = {"number": "BPG-5305-2026-000001", "holder_name": "Yohanes Mau", "status": "valid"}
EXTRA = {"Vary": "Accept"}
PREPARED = Prepared(DOC, cache_control="public, max-age=60", headers=EXTRA)


@get("/plain")
async def plain(request: Request[Any, Any, Any]) -> Response[bytes]:
    return cached(request, DOC, cache_control="public, max-age=60", headers=EXTRA)


@get("/prepared")
async def prepared(request: Request[Any, Any, Any]) -> ASGIApp:
    return PREPARED.answer(request.scope)


@pytest.fixture
async def client() -> Any:
    async with AsyncTestClient(app=Litestar([plain, prepared])) as c:
        yield c


@pytest.mark.parametrize(
    "headers",
    [{}, {"If-None-Match": "*"}, {"If-None-Match": '"other", W/"x"'}, {"Accept": "application/json"}],
)
async def test_prepared_answer_equals_the_ordinary_response(client: Any, headers: dict[str, str]) -> None:
    a = await client.get("/plain", headers=headers)
    b = await client.get("/prepared", headers=headers)
    assert (a.status_code, a.content) == (b.status_code, b.content)
    assert sorted(a.headers.multi_items()) == sorted(b.headers.multi_items())


async def test_etag_round_trip_gives_304_without_body(client: Any) -> None:
    for path in ("/plain", "/prepared"):
        first = await client.get(path)
        assert first.status_code == 200 and first.json() == DOC
        assert first.headers["cache-control"] == "public, max-age=60"
        assert first.headers["vary"] == "Accept"
        etag = first.headers["etag"]
        again = await client.get(path, headers={"If-None-Match": f'"nope", W/{etag}'})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag


def test_etag_is_stable_and_tells_parts_apart() -> None:
    assert etag_for(b"abc") == etag_for("abc")
    assert etag_for("ab", "c") != etag_for("a", "bc")
    assert etag_for(b"abc").startswith('"') and len(etag_for(b"abc")) == 34
    assert if_none_match('"a", W/"b"', '"b"')
    assert if_none_match("*", '"x"')
    assert not if_none_match('"a"', '"b"')
    assert not if_none_match(None, '"b"')
    assert not if_none_match("", '"b"')
