"""Attempts started through the API honour the scheme's enemies and level shares."""

from __future__ import annotations

from sqlmodel import select

from apkd.banks.bankfile import parse_bank
from apkd.banks.models import Item, ItemVersion
from apkd.banks.service import import_bank
from apkd.db import session_factory
from apkd.exams.models import Attempt


def ruled_bank(text: str) -> str:
    text = text.replace("  pass_score: 70\n", "  pass_score: 70\n  level_shares: {penalaran: 0.1}\n")
    text = text.replace(
        '    stem: "Soal A4: berapa dan apa?"\n',
        '    stem: "Soal A4: berapa dan apa?"\n    level: penalaran\n',
    )
    return text + "enemies:\n  - [UJI-A-001, UJI-A-002, UJI-A-003]\n"


async def test_started_forms_keep_enemies_apart_and_meet_level_shares(world, bank_source) -> None:
    bank, errors = parse_bank(ruled_bank(bank_source), "uji.yaml")
    assert bank is not None, errors
    async with session_factory(world.engine)() as s:
        await import_bank(s, bank, actor="test")
        await s.commit()
    views = []
    for cand in world.candidates:
        await world.register(cand)
        await world.admit(cand)
        views.append(await world.start(cand))
    async with session_factory(world.engine)() as s:
        names = dict(
            (
                await s.exec(
                    select(ItemVersion.id, Item.external_id).join(Item, Item.id == ItemVersion.item_id)
                )
            ).all()
        )
        attempts = [await s.get(Attempt, v["id"]) for v in views]
    for attempt in attempts:
        drawn = {names[i["item_version_id"]] for i in attempt.form["items"]}
        assert len(drawn & {"UJI-A-001", "UJI-A-002", "UJI-A-003"}) <= 1, drawn
        assert "UJI-A-004" in drawn, drawn  # the only penalaran item: one is required per form
        assert attempt.form["assembly_version"] == 2
