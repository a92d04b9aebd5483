"""The drawer's rules beyond units: enemies never share a form; level minimums always hold."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest

from apkd.banks.bankfile import load_banks
from apkd.exams.assembly import AssemblyError, PoolItem, UnitBlueprint, assemble_form

ROOT = Path(__file__).resolve().parents[2]
FORMS = 10_000


def test_without_rules_a_seed_draws_what_version_1_drew() -> None:
    pool = [PoolItem(i, "U", "single", ("a", "b", "c", "d")) for i in range(20)]
    blueprint = [UnitBlueprint("U", 5)]
    assert assemble_form(7, blueprint, pool) == assemble_form(7, blueprint, pool, enemies=(), level_shares={})


def test_made_up_enemies_never_share_a_form_across_10000_forms() -> None:
    pool = [PoolItem(i, "A" if i < 12 else "B", "single", ("a", "b", "c")) for i in range(24)]
    blueprint = [UnitBlueprint("A", 5), UnitBlueprint("B", 5)]
    groups = [(0, 1, 2), (3, 12), (4, 13, 14), (0, 15)]  # 0 sits in two groups
    pairs = {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}
    seen_members: Counter[int] = Counter()
    for seed in range(FORMS):
        refs = {f.ref for f in assemble_form(seed, blueprint, pool, enemies=groups)}
        assert not any(p <= refs for p in pairs), (seed, refs)
        seen_members.update(r for g in groups for r in g if r in refs)
    # every grouped item is still drawn sometimes: enemies exclude pairs, not items
    assert all(seen_members[r] > 100 for g in groups for r in g)


def test_level_minimums_hold_and_other_items_still_rotate() -> None:
    pool = [PoolItem(i, "A", "single", ("a", "b"), "penerapan" if i % 5 == 0 else None) for i in range(30)]
    pool += [PoolItem(100 + i, "B", "numeric", (), "penalaran" if i < 3 else None) for i in range(10)]
    blueprint = [UnitBlueprint("A", 6), UnitBlueprint("B", 4)]
    shares = {"penerapan": 0.3, "penalaran": 0.1}
    by_ref = {p.ref: p for p in pool}
    drawn: Counter[int] = Counter()
    for seed in range(2000):
        form = assemble_form(seed, blueprint, pool, level_shares=shares)
        levels = Counter(by_ref[f.ref].cognitive_level for f in form)
        assert levels["penerapan"] >= 3 and levels["penalaran"] >= 1
        drawn.update(f.ref for f in form)
    assert len(drawn) == len(pool)


def test_impossible_levels_are_refused() -> None:
    pool = [PoolItem(i, "A", "single", ("a", "b")) for i in range(10)]
    with pytest.raises(AssemblyError, match="tingkat penerapan"):
        assemble_form(1, [UnitBlueprint("A", 4)], pool, level_shares={"penerapan": 0.5})


@pytest.mark.parametrize("name", ["bpg.yaml", "bpn.yaml", "ppk.yaml"])
def test_exam_bank_enemies_and_levels_across_10000_forms(name: str) -> None:
    banks, errors = load_banks([ROOT / "exam_banks" / name])
    assert errors == []
    bank = banks[0]
    ref_of = {item.id: n for n, item in enumerate(bank.items)}
    pool = [
        PoolItem(ref_of[i.id], i.unit, i.type, tuple(o for o, _ in i.options), i.level) for i in bank.items
    ]
    level_of = {p.ref: p.cognitive_level for p in pool}
    groups = [tuple(ref_of[i] for i in g) for g in bank.scheme.enemies]
    assert groups, "the scheme marks the items that give each other away"
    pairs = {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}
    blueprint = [UnitBlueprint(u.code, u.items_per_form) for u in bank.scheme.units]
    minimums = bank.scheme.level_minimums()
    for seed in range(FORMS):
        form = assemble_form(
            seed, blueprint, pool, enemies=groups, level_shares=dict(bank.scheme.level_shares)
        )
        refs = {f.ref for f in form}
        assert not any(p <= refs for p in pairs), seed
        levels = Counter(level_of[r] for r in refs)
        assert all(levels[level] >= need for level, need in minimums.items()), seed
