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


async def test_lookups_of_one_loop_turn_share_one_statement(issue, change_status, clean, monkeypatch) -> None:
    """PostgreSQL: concurrent lookups (different numbers, the same number twice, an unknown one)
    go out as one statement and each gets its own record, as read alone."""
    import asyncio

    if clean.dialect.name != "postgresql":
        return  # SQLite reads inline, one by one
    first, _ = await issue()
    second, _ = await issue()
    await change_status(second.number, "revoke")
    factory = session_factory(clean)
    numbers = [first.number, second.number, first.number, "APKD-BPG-5305-2026-999999-X"]
    alone = [await reads.read_public(factory, n) for n in numbers]

    sent: list[list[str]] = []
    real_send = reads._Batcher._send

    async def counting(self: Any, batch: dict[str, Any]) -> None:
        sent.append(list(batch))
        await real_send(self, batch)

    monkeypatch.setattr(reads._Batcher, "_send", counting)
    together = await asyncio.gather(*(reads.read_public(factory, n) for n in numbers))
    assert list(together) == alone
    assert together[1][0] is not None and together[1][0][0]["status"] == "revoked"
    assert together[3] == (None, True)  # unknown: no record, the database answered
    assert len(sent) == 1 and sorted(sent[0]) == sorted(set(numbers))
