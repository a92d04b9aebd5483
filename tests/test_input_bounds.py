"""Bad input is a 4xx, never a 500 (issue 11, points 6-8), on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from litestar.handlers import HTTPRouteHandler
from sqlalchemy import func, select

from apkd.accounts.models import User
from apkd.bounds import BIDI_CONTROLS, INT32_MAX
from apkd.edge import MAX_HEADER_BYTES, MAX_JSON_DEPTH, json_too_deep

OUT_OF_RANGE = [INT32_MAX + 1, 2**63, -(2**31) - 1]


def _int_path_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route with an integer in its path, with the ints filled in."""
    found = []
    for route in app.routes:
        ints = [p for p in getattr(route, "path_parameters", {}).values() if p.type is int]
        if not ints:
            continue
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                found.append((method, route.path_format))
    return found


async def test_every_integer_path_out_of_range_is_404(app, client, make_user, login) -> None:
    """2^31 in a path gave 500 on PostgreSQL on 21 routes (GET /api/v1/status-lists/2147483648
    anonymously among them): an id that no column can hold names nothing, so 404."""
    routes = _int_path_routes(app)
    assert len(routes) >= 21
    await make_user("admin", username="admin1")
    admin = await login("admin1")
    for headers in ({}, admin):
        for method, path in routes:
            for value in OUT_OF_RANGE:
                url = re.sub(r"\{[a-z_]+\}", str(value), path)
                r = await client.request(method, url, headers=headers, json={})
                assert r.status_code == 404, (method, url, r.status_code, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")


async def test_query_id_out_of_range_is_422(client, make_user, login) -> None:
    await make_user("admin", username="admin1")
    h = await login("admin1")
    for value in (INT32_MAX + 1, 0, -1):
        r = await client.get(f"/api/v1/credentials/?session_id={value}", headers=h)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "out_of_range"
    assert (await client.get(f"/api/v1/credentials/?session_id={INT32_MAX}", headers=h)).json() == []


def _user(**fields: Any) -> dict[str, Any]:
    body = {"username": "calon01", "password": "rahasia-123", "role": "candidate", "full_name": "Ani"}
    body.update(fields)
    return body


async def _users(db_engine) -> int:
    from sqlmodel.ext.asyncio.session import AsyncSession

    async with AsyncSession(db_engine) as s:
        return int((await s.execute(select(func.count()).select_from(User))).scalar_one())


USER_CASES = [
    ({"full_name": "a" * 201}, "out_of_range"),
    ({"instansi": "b" * 201}, "out_of_range"),
    ({"username": "u" * 65}, "out_of_range"),
    ({"nip": "1" * 33}, "out_of_range"),
    ({"full_name": "Ani\x00Budi"}, "forbidden_characters"),
    ({"full_name": "Ani\x1bBudi"}, "forbidden_characters"),
    ({"full_name": "Ani\x85Budi"}, "forbidden_characters"),
    ({"jabatan": "Bendahara\x00"}, "forbidden_characters"),
    ({"username": "calon\x00"}, "forbidden_characters"),
] + [({"full_name": f"Ani{ch}Budi"}, "forbidden_characters") for ch in BIDI_CONTROLS]


async def test_user_fields_out_of_bounds_are_422_and_nothing_is_stored(
    client, clean, make_user, login
) -> None:
    """A 201-character full_name gave 500; NUL gave 500 on PostgreSQL and was stored on SQLite."""
    await make_user("admin", username="admin1")
    h = await login("admin1")
    before = await _users(clean)
    for fields, code in USER_CASES:
        r = await client.post("/api/v1/users", headers=h, json=_user(**fields))
        assert r.status_code == 422, (fields, r.text)
        body = r.json()
        assert body["code"] == code and body["status"] == 422
        assert body["errors"] and body["errors"][0]["detail"]
    assert await _users(clean) == before
    # the same user, within bounds, is created
    ok = await client.post("/api/v1/users", headers=h, json=_user(full_name="a" * 200, instansi="b" * 200))
    assert ok.status_code == 201, ok.text


async def test_a_name_may_hold_any_script_but_not_a_bidi_override(client, make_user, login) -> None:
    await make_user("admin", username="admin1")
    h = await login("admin1")
    name = "Ni Luh Putu Ayu Saraswati ᬅᬬᬸ — Ṭāhā ‘Abd al-Raḥmān, عبد الرحمن"
    r = await client.post("/api/v1/users", headers=h, json=_user(full_name=name))
    assert r.status_code == 201 and r.json()["full_name"] == name


async def test_exam_fields_out_of_bounds_are_422(client, make_user, login) -> None:
    await make_user("admin", username="admin1")
    h = await login("admin1")
    session = {
        "scheme_code": "BPG",
        "title": "Ujian",
        "venue": "Kalabahi",
        "starts_at": "2026-12-01T01:00:00Z",
        "ends_at": "2026-12-01T05:00:00Z",
    }
    for fields in (
        {"title": "t" * 201},
        {"title": "Ujian\x00"},
        {"venue": "Kalabahi\u202e"},
        {"capacity": 2**31},
        {"timezone": "Asia/Makassar\x00"},
        {"proctors": ["p" * 65]},
    ):
        r = await client.post("/api/v1/sessions", headers=h, json={**session, **fields})
        assert r.status_code == 422, (fields, r.text)
    # bodies of routes whose path names nothing still have their fields checked first
    for path, body in (
        ("/api/v1/sessions/1/incidents", {"category": "technical", "description": "listrik\x00padam"}),
        ("/api/v1/attempts/1/pause", {"reason": "x\x00"}),
        ("/api/v1/attempts/1/extend", {"minutes": 2**31, "reason": "listrik padam"}),
        ("/api/v1/credentials/APKD-X/revoke", {"reason": "r" * 5000}),
    ):
        r = await client.post(path, headers=h, json=body)
        assert r.status_code == 422, (path, r.text)
    # a multi-line reason keeps its new lines and tabs
    r = await client.post("/api/v1/attempts/1/pause", headers=h, json={"reason": "baris 1\nbaris 2\tx"})
    assert r.status_code == 404


async def test_save_fields_out_of_bounds_are_422(client, make_user, login) -> None:
    await make_user("candidate", username="calon1")
    h = await login("calon1")
    for body in ({"seq": 2**63, "response": "a"}, {"seq": 1, "response": "a", "current_position": 2**31}):
        r = await client.put("/api/v1/attempts/1/responses/1", headers=h, json=body)
        assert r.status_code == 422, r.text


async def test_control_characters_in_path_and_query_never_reach_the_database(
    client, make_user, login
) -> None:
    await make_user("admin", username="admin1")
    h = await login("admin1")
    for url in (
        "/api/v1/credentials/APKD%00X",
        "/api/v1/registry/APKD%00X",
        "/api/v1/schemes/BPG%00/item-analysis",
        "/v/APKD%00X",
    ):
        r = await client.get(url, headers=h)
        assert r.status_code == 404, (url, r.text)
    r = await client.get("/api/v1/log/lookup?number=APKD%00X")
    assert r.status_code == 422 and r.json()["code"] == "forbidden_characters"


async def test_invalid_utf8_is_400(client) -> None:
    for path in ("/api/v1/auth/login", "/api/v1/registry/verify"):
        r = await client.post(
            path,
            content=b'{"username": "\xff\xfe", "password": "x", "token": "\xc3("}',
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 400 and r.json()["code"] == "invalid_utf8", r.text


async def test_json_nested_too_deep_is_400_anonymously(client) -> None:
    deep = b"[" * 1000 + b"]" * 1000
    for path, body in (
        ("/api/v1/auth/login", deep),
        ("/api/v1/registry/verify", b'{"token": ' + deep + b"}"),
        ("/api/v1/registry/verify", b'{"token": ' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"}"),
    ):
        r = await client.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["code"] == "json_too_deep", r.text
    # nesting within the bound is read as usual (the token is simply not a token)
    ok = b'{"token": ' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    r = await client.post("/api/v1/registry/verify", content=ok, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["valid"] is False


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert not json_too_deep(b'{"a": "' + b"[" * 500 + b'"}')
    assert not json_too_deep(b'["\\"' + b"[" * 500 + b'"]')
    assert json_too_deep(b"[" * 65 + b"]" * 65)
    assert not json_too_deep(b"[" * 64 + b"]" * 64)
    assert not json_too_deep(b"[" + b"[]," * 1000 + b"[]]")  # wide, not deep


async def test_request_headers_have_a_size_limit(client) -> None:
    r = await client.get("/api/v1/schemes", headers={"x-padding": "a" * MAX_HEADER_BYTES})
    assert r.status_code == 431 and r.json()["code"] == "headers_too_large"
    many = {f"x-h{i}": "1" for i in range(120)}
    assert (await client.get("/api/v1/schemes", headers=many)).status_code == 431
    assert (await client.get("/api/v1/schemes", headers={"x-padding": "a" * 1000})).status_code == 200


async def test_malformed_body_stays_400_and_wrong_type_400(client, make_user, login) -> None:
    r = await client.post(
        "/api/v1/auth/login", content=b'{"username": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "bad_request"
    await make_user("admin", username="admin1")
    h = await login("admin1")
    r = await client.post("/api/v1/users", headers=h, json={"username": 5})
    assert r.status_code == 400 and r.json()["code"] == "validation_error"
