"""Importing banks: idempotent, versioned, never rewriting a version; GET /api/v1/schemes."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from apkd.banks.bankfile import load_banks, parse_bank
from apkd.banks.models import Item, ItemVersion
from apkd.banks.service import current_pool, import_bank

BANK = """\
scheme:
  code: TST
  version: "2026.1"
  title: Skema Uji
  position: Bendahara Uji
  duration_minutes: 30
  validity_months: 36
  pass_score: 70
  units:
    - code: TST.A
      title: Unit A
      items_per_form: 1
      min_score: 50
items:
  - id: TST-A-001
    unit: TST.A
    type: single
    stem: "Dokumen apa yang menjadi dasar penerbitan SP2D?"
    options: {a: SPM, b: SPD, c: RKA}
    answer: a
  - id: TST-A-002
    unit: TST.A
    type: numeric
    stem: "Berapa 10% dari Rp1.000.000?"
    answer: 100000
"""


def bank(text: str = BANK):
    b, errors = parse_bank(text, "tst.yaml")
    assert errors == [], errors
    return b


async def versions(db) -> list[tuple[str, int, str]]:
    rows = (
        await db.exec(
            select(Item.external_id, ItemVersion.version, ItemVersion.stem)
            .join(ItemVersion, ItemVersion.item_id == Item.id)
            .order_by(Item.external_id, ItemVersion.version)
        )
    ).all()
    return [tuple(r) for r in rows]


async def test_import_is_idempotent(db) -> None:
    first = await import_bank(db, bank(), actor="t")
    assert first.created and first.items_added == 2
    before = await versions(db)
    again = await import_bank(db, bank(), actor="t")
    assert not again.changed and again.items_unchanged == 2
    assert await versions(db) == before


async def test_edited_item_becomes_new_version_old_kept(db) -> None:
    await import_bank(db, bank(), actor="t")
    edited = BANK.replace("dasar penerbitan SP2D", "dasar penerbitan Surat Perintah Pencairan Dana")
    r = await import_bank(db, bank(edited), actor="t")
    assert r.items_versioned == 1 and r.items_added == 0 and r.items_unchanged == 1
    rows = await versions(db)
    assert [(e, v) for e, v, _ in rows] == [("TST-A-001", 1), ("TST-A-001", 2), ("TST-A-002", 1)]
    assert "SP2D?" in rows[0][2] and "Surat Perintah" in rows[1][2]
    pool = await current_pool(db, (await db.exec(select(Item.scheme_id))).first())
    assert sorted((p.stem[:8], p.version) for p in pool) == [("Berapa 1", 1), ("Dokumen ", 2)]


async def test_removed_item_is_retired_not_deleted(db) -> None:
    await import_bank(db, bank(), actor="t")
    without = BANK.split("  - id: TST-A-002")[0]
    r = await import_bank(db, bank(without), actor="t")
    assert r.items_retired == 1
    scheme_id = (await db.exec(select(Item.scheme_id))).first()
    assert [p.stem[:7] for p in await current_pool(db, scheme_id)] == ["Dokumen"]
    assert len(await versions(db)) == 2  # nothing deleted
    r = await import_bank(db, bank(), actor="t")  # back again: active, no new version
    assert r.items_versioned == 0 and len(await current_pool(db, scheme_id)) == 2


async def test_schemes_endpoint_is_public(client, db) -> None:
    await import_bank(db, bank(), actor="t")
    await db.commit()
    r = await client.get("/api/v1/schemes")
    assert r.status_code == 200
    [s] = r.json()
    assert s["code"] == "TST" and s["version"] == "2026.1" and s["duration_minutes"] == 30
    assert s["pass_score"] == 70
    assert s["units"] == [{"code": "TST.A", "title": "Unit A", "items_per_form": 1, "min_score": 50}]
    assert "answer" not in r.text


async def test_sample_banks_import(db) -> None:
    root = Path(__file__).resolve().parents[2] / "exam_banks"
    banks, errors = load_banks([root])
    assert errors == [], [str(e) for e in errors]
    codes = {b.scheme.code for b in banks}
    assert {"BPG", "BPN", "PPK"} <= codes
    for b in banks:
        assert 5 <= len(b.scheme.units) <= 6
        types = {i.type for i in b.items}
        assert types == {"single", "multiple", "numeric"}, (b.path, types)
        # issue 15: forms of at least 40 items, each unit's pool at least 2.5x what it draws,
        # at least a third of each form applying a rule, and the give-aways marked as enemies
        assert b.scheme.form_length() >= 40
        for u in b.scheme.units:
            n = sum(1 for i in b.items if i.unit == u.code)
            assert n >= 2.5 * u.items_per_form, (u.code, n)
            assert u.sources, u.code
        minimums = b.scheme.level_minimums()
        assert minimums.get("penerapan", 0) + minimums.get("penalaran", 0) >= b.scheme.form_length() / 3
        assert b.scheme.enemies
        assert all(i.reference for i in b.items)
        r = await import_bank(db, b, actor="t")
        assert r.created
