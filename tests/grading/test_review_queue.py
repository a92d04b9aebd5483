"""Item analysis feeds the bank review: `apkd bank review-queue` lists the flagged items."""

from __future__ import annotations

import asyncio

from gradingkit import FORM_ORDER
from test_item_analysis_api import _simulate, _sit


async def test_review_queue_lists_flagged_items_with_their_review_record(
    factory, db_url, monkeypatch
) -> None:
    from click.testing import CliRunner

    from apkd import config
    from apkd.cli import main

    people = _simulate(60, seed=7, orders=[FORM_ORDER])
    _bank, es_id = await _sit(factory, people)
    monkeypatch.setenv("APKD_DATABASE_URL", db_url)
    monkeypatch.setenv("APKD_SECRET_KEY", "x" * 40)
    config.get_settings.cache_clear()
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["bank", "review-queue", "--session", str(es_id)]
        )
        bad = await asyncio.to_thread(CliRunner().invoke, main, ["bank", "review-queue"])
    finally:
        config.get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()[1:-1]}
    # A3 is very hard and A2 very easy in the simulation: both go back to the reviewer
    assert "terlalu_sukar" in rows["A3"] and "terlalu_mudah" in rows["A2"]
    assert "draft" in rows["A3"]  # the review record the reviewer starts from
    assert "perlu ditelaah ulang" in result.output.splitlines()[-1]
    assert bad.exit_code == 1
