"""The registry API's light read path (reads.read_public) gives exactly what the ORM-session
path gives, and falls back to it when it cannot be used."""

from __future__ import annotations

from typing import Any

from apkd.db import session_factory
from apkd.registry import reads


async def test_light_read_matches_session_read(issue, change_status, clean) -> None:
    cred, _ = await issue()
    other, _ = await issue()
    await change_status(cred.number, "revoke")
    factory = session_factory(clean)
    for number in (cred.number, other.number, "APKD-BPG-5305-2026-999999-X"):
        expected, ok = await reads.guard(factory, lambda s, n=number: reads.public_fields(s, n))
        assert ok
        got, ok = await reads.read_public(factory, number)
        assert ok and got == expected
        if expected is not None:
            assert expected[0]["valid_from"].tzinfo is not None
    revoked, _ = await reads.read_public(factory, cred.number)
    assert revoked is not None and revoked[0]["revoked_at"] is not None


async def test_other_factories_use_the_session_path(issue, clean) -> None:
    cred, _ = await issue()
    real = session_factory(clean)

    def wrapped() -> Any:
        return real()

    got, ok = await reads.read_public(wrapped, cred.number)
    assert ok and got is not None and got[0]["number"] == cred.number

    def broken() -> Any:
        raise ConnectionError("database is gone")

    assert await reads.read_public(broken, cred.number) == (None, False)
