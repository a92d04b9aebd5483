"""Issue 11, points 1-3: the login slowdown holds under parallel guessing and cannot be aimed at
someone; password checks run off the event loop; logins can be ended (logout, password change,
reset, deactivation) and refresh tokens are one-use."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from apkd.accounts import security
from apkd.app import create_app
from client_peer import with_peer

RIGHT = "rahasia-123"
WRONG = "salah-sekali"


@pytest.fixture
def make_client(settings: Any, clean: Any) -> Any:
    """make_client(**settings overrides) -> an async context manager of a test client."""

    def factory(**overrides: Any) -> AsyncTestClient[Any]:
        return AsyncTestClient(app=with_peer(create_app(dataclasses.replace(settings, **overrides))))

    return factory


@pytest.fixture
async def c(make_client: Any) -> AsyncIterator[Any]:
    async with make_client() as client:
        yield client


def peer(address: str) -> dict[str, str]:
    return {"x-test-peer": address}


async def attempt(client: Any, username: str, password: str, address: str = "10.1.1.1") -> Any:
    return await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}, headers=peer(address)
    )


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification made, by the password tried."""
    made: list[str] = []
    real = security.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        made.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(security, "verify_password", counting)
    return made


async def test_twenty_parallel_wrong_passwords_get_at_most_the_allowed_checks(c, make_user, checks) -> None:
    await make_user("candidate", username="peserta1")
    answers = await asyncio.gather(*(attempt(c, "peserta1", f"{WRONG}-{i}") for i in range(20)))
    codes = sorted(r.status_code for r in answers)
    assert len(checks) <= 5  # the allowed number, however the 20 interleave
    assert codes.count(401) == len(checks) and codes.count(429) == 20 - len(checks)
    for r in answers:
        if r.status_code == 429:
            assert r.json()["code"] == "too_many_login_attempts" and int(r.headers["retry-after"]) >= 1
    # and the right password, from an address the user never used, waits too
    checks.clear()
    r = await attempt(c, "peserta1", RIGHT)
    assert r.status_code == 429 and checks == []


async def test_right_password_from_the_address_in_use_still_gets_in(c, make_user) -> None:
    await make_user("candidate", username="peserta1")
    assert (await attempt(c, "peserta1", RIGHT, "10.9.9.9")).status_code == 200  # the candidate's PC
    # someone elsewhere tries to lock the candidate out at exam start
    await asyncio.gather(*(attempt(c, "peserta1", WRONG, "172.16.0.66") for _ in range(20)))
    assert (await attempt(c, "peserta1", RIGHT, "172.16.0.66")).status_code == 429
    r = await attempt(c, "peserta1", RIGHT, "10.9.9.9")
    assert r.status_code == 200, r.text


async def test_anywhere_else_the_right_password_gets_in_after_a_short_delay(make_client, make_user) -> None:
    await make_user("candidate", username="peserta1")
    async with make_client(login_max_delay_seconds=3) as c:  # delays of 0.3 s, 0.6 s, ... 3 s
        codes = [(await attempt(c, "peserta1", WRONG, "172.16.0.66")).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        r = await attempt(c, "peserta1", RIGHT, "10.2.2.2")
        assert r.status_code == 429
        wait = int(r.headers["retry-after"])
        assert wait == 1  # the first delay: a tenth of the maximum, rounded up to a second
        await asyncio.sleep(wait + 0.1)
        r = await attempt(c, "peserta1", RIGHT, "10.2.2.2")
        assert r.status_code == 200, r.text
        # a success forgets the username's failures
        assert (await attempt(c, "peserta1", WRONG, "10.3.3.3")).status_code == 401


async def test_password_spraying_is_limited_per_address(make_client, make_user, checks) -> None:
    for n in range(5):
        await make_user("candidate", username=f"target{n}")
    async with make_client(login_address_failures=3) as c:
        codes = [(await attempt(c, f"target{n}", WRONG, "203.0.113.7")).status_code for n in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        assert len(checks) == 3
        # other addresses (the test site next door) are not slowed down
        assert (await attempt(c, "target4", RIGHT, "203.0.113.8")).status_code == 200


async def counts(db: Any) -> dict[str, int]:
    rows = (await db.execute(text("SELECT key, failures FROM login_throttle"))).all()
    await db.rollback()  # SQLite: let go of the write lock the read took
    return {key: failures for key, failures in rows}


async def test_failures_are_counted_although_the_request_answers_401(c, make_user, db) -> None:
    await make_user("candidate", username="peserta1")
    assert (await attempt(c, "peserta1", WRONG, "10.4.4.4")).status_code == 401
    assert await counts(db) == {"u:peserta1": 1, "a:10.4.4.4": 1}
    assert (await attempt(c, "peserta1", RIGHT, "10.4.4.4")).status_code == 200
    assert await counts(db) == {"a:10.4.4.4": 1}  # the failure stays; the success gave its own back


async def test_unknown_usernames_cannot_grow_the_failures_table(c, db, settings) -> None:
    from apkd.accounts.throttle import UNKNOWN_BUCKETS, user_key

    keys = {user_key(settings, f"nobody{i}", known=False) for i in range(20_000)}
    assert len(keys) <= UNKNOWN_BUCKETS and all(k.startswith("x:") for k in keys)
    for i in range(6):
        assert (await attempt(c, f"tidak-ada-{i}", WRONG)).status_code == 401
    rows = list(await counts(db))
    assert not [k for k in rows if k.startswith("u:")]
    assert len(rows) <= 7


async def test_password_checks_do_not_block_other_requests(c, make_user, monkeypatch) -> None:
    await make_user("candidate", username="peserta1")
    real = security.verify_password

    def slow(password_hash: str | None, password: str) -> bool:
        time.sleep(0.4)  # a CPU-bound check, as argon2 is
        return real(password_hash, password)

    monkeypatch.setattr(security, "verify_password", slow)

    async def health() -> float:
        await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        assert (await c.get("/healthz")).status_code == 200
        return time.perf_counter() - t0

    results = await asyncio.gather(
        *(attempt(c, "peserta1", RIGHT, f"10.5.5.{i}") for i in range(4)), health()
    )
    assert all(r.status_code == 200 for r in results[:4])
    assert results[4] < 0.3


def test_argon2id_parameters_follow_owasp() -> None:
    """The defaults (tests run with a cheap cost): OWASP's m=19 MiB, t=2, p=1 for Argon2id."""
    from argon2 import extract_parameters

    from apkd.config import Settings

    defaults = Settings()
    owasp = (19 * 1024, 2, 1)
    assert (
        defaults.password_hash_memory_kib,
        defaults.password_hash_time_cost,
        defaults.password_hash_parallelism,
    ) == owasp
    params = extract_parameters(security._Hashing().hasher.hash("rahasia-123"))
    assert (params.memory_cost, params.time_cost, params.parallelism) == owasp
    assert params.type.name == "ID"


# --- ending logins ------------------------------------------------------------------------------


async def login_pair(c: Any, username: str, password: str = RIGHT) -> dict[str, Any]:
    r = await attempt(c, username, password)
    assert r.status_code == 200, r.text
    body = r.json()
    body["headers"] = {"Authorization": f"Bearer {body['access_token']}"}
    return body


async def test_logout_ends_the_login(c, make_user) -> None:
    await make_user("candidate", username="peserta1")
    first, second = await login_pair(c, "peserta1"), await login_pair(c, "peserta1")
    r = await c.post("/api/v1/auth/logout", headers=first["headers"])
    assert r.status_code == 204
    r = await c.get("/api/v1/me/credentials", headers=first["headers"])
    assert r.status_code == 401 and r.json()["code"] == "login_ended"
    r = await c.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401
    # the user's other login goes on
    assert (await c.get("/api/v1/me/credentials", headers=second["headers"])).status_code == 200


async def test_refresh_tokens_are_one_use_and_rotate(c, make_user) -> None:
    await make_user("candidate", username="peserta1")
    pair = await login_pair(c, "peserta1")
    r = await c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 200
    new = r.json()
    assert new["refresh_token"] != pair["refresh_token"] and new["refresh_expires_in"] > 0
    headers = {"Authorization": f"Bearer {new['access_token']}"}
    assert (await c.get("/api/v1/me/credentials", headers=headers)).status_code == 200
    # the spent token again: a copy exists, so the whole login ends
    r = await c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 401 and r.json()["code"] == "refresh_token_reused"
    r = await c.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert r.status_code == 401
    assert (await c.get("/api/v1/me/credentials", headers=headers)).status_code == 401
    for bad in ("", "x", "a.b", "no-dot", "z" * 500):
        r = await c.post("/api/v1/auth/refresh", json={"refresh_token": bad})
        assert r.status_code == 401, bad


async def test_concurrent_uses_of_one_refresh_token_give_one_success(c, make_user) -> None:
    await make_user("candidate", username="peserta1")
    pair = await login_pair(c, "peserta1")
    answers = await asyncio.gather(
        *(c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}) for _ in range(5))
    )
    assert sorted(r.status_code for r in answers).count(200) == 1


async def test_deactivated_users_tokens_and_refresh_fail(c, make_user) -> None:
    admin = await make_user("admin", username="admin1")
    user = await make_user("candidate", username="peserta1")
    boss, pair = await login_pair(c, "admin1"), await login_pair(c, "peserta1")
    r = await c.post(f"/api/v1/users/{user.id}/deactivate", headers=boss["headers"])
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = await c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 401
    assert (await c.post("/api/v1/auth/refresh", headers=pair["headers"])).status_code == 401
    assert (await c.get("/api/v1/me/credentials", headers=pair["headers"])).status_code == 401
    assert (await attempt(c, "peserta1", RIGHT, "10.6.6.6")).status_code == 401
    # an admin cannot lock themselves out; reactivation lets the user in again
    r = await c.post(f"/api/v1/users/{admin.id}/deactivate", headers=boss["headers"])
    assert r.status_code == 409 and r.json()["code"] == "cannot_deactivate_self"
    assert (await c.post(f"/api/v1/users/{user.id}/activate", headers=boss["headers"])).status_code == 200
    assert (await attempt(c, "peserta1", RIGHT, "10.6.6.7")).status_code == 200
    assert (await c.post("/api/v1/users/999999/deactivate", headers=boss["headers"])).status_code == 404


async def test_other_workers_see_the_change_within_seconds(make_client, make_user, db) -> None:
    await make_user("candidate", username="peserta1")
    async with make_client(auth_recheck_seconds=1) as c:
        pair = await login_pair(c, "peserta1")
        assert (await c.get("/api/v1/me/credentials", headers=pair["headers"])).status_code == 200
        # another worker deactivates the user: this one has it cached for at most a second
        await db.execute(text("UPDATE app_user SET is_active = false, token_version = token_version + 1"))
        await db.commit()
        await asyncio.sleep(1.1)
        assert (await c.get("/api/v1/me/credentials", headers=pair["headers"])).status_code == 401


async def test_password_change_ends_the_other_logins(c, make_user) -> None:
    await make_user("candidate", username="peserta1")
    here, there = await login_pair(c, "peserta1"), await login_pair(c, "peserta1")
    body = {"old_password": WRONG, "new_password": "baru-rahasia-456"}
    r = await c.post("/api/v1/auth/password", json=body, headers=here["headers"])
    assert r.status_code == 401
    body["old_password"] = RIGHT
    r = await c.post(
        "/api/v1/auth/password", json={**body, "new_password": "pendek"}, headers=here["headers"]
    )
    assert r.status_code == 422 and r.json()["code"] == "weak_password"
    r = await c.post("/api/v1/auth/password", json=body, headers=here["headers"])
    assert r.status_code == 200, r.text
    renewed = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await c.get("/api/v1/me/credentials", headers=renewed)).status_code == 200
    assert (await c.get("/api/v1/me/credentials", headers=here["headers"])).status_code == 401
    assert (await c.get("/api/v1/me/credentials", headers=there["headers"])).status_code == 401
    r = await c.post("/api/v1/auth/refresh", json={"refresh_token": there["refresh_token"]})
    assert r.status_code == 401
    assert (await attempt(c, "peserta1", RIGHT, "10.7.7.7")).status_code == 401
    assert (await attempt(c, "peserta1", "baru-rahasia-456", "10.7.7.8")).status_code == 200


async def test_admin_reset_ends_every_token(c, make_user) -> None:
    await make_user("admin", username="admin1")
    user = await make_user("candidate", username="peserta1")
    boss, pair = await login_pair(c, "admin1"), await login_pair(c, "peserta1")
    r = await c.post(f"/api/v1/users/{user.id}/password", json={"new_password": "x"}, headers=boss["headers"])
    assert r.status_code == 422
    r = await c.post(
        f"/api/v1/users/{user.id}/password", json={"new_password": "reset-2026!"}, headers=pair["headers"]
    )
    assert r.status_code == 403
    r = await c.post(
        f"/api/v1/users/{user.id}/password", json={"new_password": "reset-2026!"}, headers=boss["headers"]
    )
    assert r.status_code == 200
    assert (await c.get("/api/v1/me/credentials", headers=pair["headers"])).status_code == 401
    r = await c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 401
    assert (await attempt(c, "peserta1", "reset-2026!", "10.8.8.8")).status_code == 200
