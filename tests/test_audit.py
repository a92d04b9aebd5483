from __future__ import annotations

from sqlalchemy import text

from apkd import audit


async def test_chain_verifies_and_catches_altered_row(db) -> None:
    for i in range(5):
        await audit.record(db, "test.event", "thing", i, actor="tester", details={"i": i})
    await db.commit()
    report = await audit.verify_chain(db)
    assert report.ok and report.checked == 5

    await db.execute(text("UPDATE audit_event SET details = :d WHERE seq = 3"), {"d": '{"i":99}'})
    await db.commit()
    report = await audit.verify_chain(db)
    assert not report.ok
    assert report.broken_at == 3
    assert "diubah" in str(report)


async def test_chain_catches_deleted_row(db) -> None:
    for i in range(4):
        await audit.record(db, "test.event", "thing", i, actor=None)
    await db.commit()
    await db.execute(text("DELETE FROM audit_event WHERE seq = 2"))
    await db.commit()
    report = await audit.verify_chain(db)
    assert not report.ok and report.broken_at == 2


async def test_chain_catches_deleted_tail_link_rewritten(db) -> None:
    """Rewriting a row's hash to hide an edit breaks the next row's prev_hash."""
    for i in range(3):
        await audit.record(db, "test.event", "thing", i, actor="x")
    await db.commit()
    await db.execute(text("UPDATE audit_event SET hash = :h WHERE seq = 1"), {"h": "f" * 64})
    await db.commit()
    report = await audit.verify_chain(db)
    assert not report.ok and report.broken_at == 1
