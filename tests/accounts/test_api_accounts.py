from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from apkd.accounts.security import hash_password, verify_password

ROLES = ["admin", "proctor", "candidate", "auditor"]


def test_password_hash_is_argon2id_and_salted() -> None:
    h1, h2 = hash_password("rahasia-123"), hash_password("rahasia-123")
    assert h1.startswith("$argon2id$") and h1 != h2
    assert verify_password(h1, "rahasia-123")
    assert not verify_password(h1, "rahasia-124")
    assert not verify_password(None, "rahasia-123")
    assert not verify_password("not-a-hash", "x")


async def test_login_returns_bearer_token(client, make_user) -> None:
    await make_user("proctor", username="pengawas1")
    r = await client.post("/api/v1/auth/login", json={"username": "pengawas1", "password": "rahasia-123"})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and body["role"] == "proctor" and body["expires_in"] > 0
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "apkd" and claims["aud"] == "apkd-api" and claims["exp"] > time.time()


async def test_bad_credentials_401_problem(client, make_user) -> None:
    await make_user("admin", username="admin1")
    for payload in (
        {"username": "admin1", "password": "salah-sekali"},
        {"username": "tidakada", "password": "x"},
    ):
        r = await client.post("/api/v1/auth/login", json=payload)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "invalid_credentials"


async def test_repeated_failures_are_slowed_down_with_429(client, make_user) -> None:
    await make_user("candidate", username="peserta1")
    codes = []
    for _ in range(7):
        r = await client.post("/api/v1/auth/login", json={"username": "peserta1", "password": "salah-sekali"})
        codes.append(r.status_code)
    assert codes[:5] == [401] * 5
    assert codes[5] == 429 and "Retry-After" in r.headers and int(r.headers["Retry-After"]) > 0
    assert r.json()["code"] == "too_many_login_attempts"
    # even the right password waits out the window
    r = await client.post("/api/v1/auth/login", json={"username": "peserta1", "password": "rahasia-123"})
    assert r.status_code == 429
    # another username is not affected
    await make_user("candidate", username="peserta2")
    r = await client.post("/api/v1/auth/login", json={"username": "peserta2", "password": "rahasia-123"})
    assert r.status_code == 200


async def test_admin_creates_user_and_taken_is_409(client, make_user, login) -> None:
    await make_user("admin", username="admin1")
    h = await login("admin1")
    body = {
        "username": "bendahara1",
        "password": "rahasia-123",
        "role": "candidate",
        "full_name": "Yohanes Mau",
        "nip": "19850312 201003 1 001",
        "instansi": "Dinas Kesehatan Kab. Alor",
        "jabatan": "Bendahara Pengeluaran",
    }
    r = await client.post("/api/v1/users", json=body, headers=h)
    assert r.status_code == 201, r.text
    out = r.json()
    assert (
        out["username"] == "bendahara1" and out["role"] == "candidate" and out["nip"] == "198503122010031001"
    )
    assert "password" not in json.dumps(out) and "argon2" not in json.dumps(out)
    r = await client.post("/api/v1/users", json=body, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "username_taken"


@pytest.mark.parametrize(
    "nip,part",
    [
        ("12345", "format"),
        ("198513122010031001", "birth_date"),
        ("198503122010131001", "tmt"),
        ("198503122010033001", "gender"),
        ("198503122010031000", "sequence"),
    ],
)
async def test_bad_nip_is_422_naming_the_part(client, make_user, login, nip, part) -> None:
    await make_user("admin", username="admin1")
    h = await login("admin1")
    r = await client.post(
        "/api/v1/users",
        headers=h,
        json={
            "username": "calon",
            "password": "rahasia-123",
            "role": "candidate",
            "full_name": "Calon",
            "nip": nip,
        },
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_nip" and r.json()["nip_part"] == part
    assert "NIP" in r.json()["detail"]


async def test_bad_user_input_is_4xx_not_500(client, make_user, login) -> None:
    await make_user("admin", username="admin1")
    h = await login("admin1")
    r = await client.post("/api/v1/users", headers=h, json={"username": "x"})
    assert r.status_code == 400 and r.json()["code"] == "validation_error"
    r = await client.post(
        "/api/v1/users",
        headers=h,
        json={"username": "ok-user", "password": "rahasia-123", "role": "superuser", "full_name": "X"},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_role"
    r = await client.post("/api/v1/users", headers=h, content=b"{not json")
    assert r.status_code == 400


@pytest.mark.parametrize("role", ["proctor", "candidate", "auditor"])
async def test_only_admin_creates_users(client, make_user, login, role) -> None:
    await make_user(role, username="someone")
    h = await login("someone")
    r = await client.post(
        "/api/v1/users",
        headers=h,
        json={"username": "baru1", "password": "rahasia-123", "role": "admin", "full_name": "Baru"},
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


async def test_no_token_or_forged_token_is_401(client, make_user, login) -> None:
    body = {"username": "baru1", "password": "rahasia-123", "role": "admin", "full_name": "Baru"}
    r = await client.post("/api/v1/users", json=body)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    await make_user("candidate", username="peserta1")
    h = await login("peserta1")
    token = h["Authorization"].split()[1]
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    for bad in (
        f"{header}.{forged_payload}.{sig}",
        jwt.encode(claims, "guess-" * 8, algorithm="HS256"),
        none_header + "." + forged_payload + ".",
    ):
        r = await client.post("/api/v1/users", json=body, headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, bad


async def test_expired_token_is_401(client, make_user, settings) -> None:
    from datetime import timedelta

    from apkd.accounts.security import issue_token
    from apkd.db import utcnow

    u = await make_user("admin", username="admin1")
    old, _ = issue_token(
        settings, user_id=u.id, username=u.username, role="admin", now=utcnow() - timedelta(hours=3)
    )
    r = await client.post(
        "/api/v1/users",
        headers={"Authorization": f"Bearer {old}"},
        json={"username": "b", "password": "rahasia-123", "role": "admin", "full_name": "B"},
    )
    assert r.status_code == 401


async def test_refresh_keeps_the_same_login(client, make_user, login) -> None:
    await make_user("candidate", username="peserta1")
    h = await login("peserta1")
    r = await client.post("/api/v1/auth/refresh", headers=h)
    assert r.status_code == 200
    old = jwt.decode(h["Authorization"].split()[1], options={"verify_signature": False})
    new = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert new["sid"] == old["sid"] and new["auth_time"] == old["auth_time"]
    assert (await client.post("/api/v1/auth/refresh")).status_code == 401


async def test_healthz_and_schema(client) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200 and "/api/v1/schemes" in r.json()["paths"]


async def test_unknown_route_is_problem_404(client) -> None:
    r = await client.get("/api/v1/tidak-ada")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
