from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter

import pytest

from apkd.exams.assembly import (
    MAX_SEED,
    AssemblyError,
    FormItem,
    PoolItem,
    UnitBlueprint,
    assemble_form,
    new_seed,
)

BLUEPRINT = (UnitBlueprint("BPG.A", 4), UnitBlueprint("BPG.B", 3), UnitBlueprint("BPG.C", 2))


def make_pool() -> list[PoolItem]:
    pool = [PoolItem(100 + i, "BPG.A", "single", ("a", "b", "c", "d")) for i in range(10)]
    pool += [PoolItem(200 + i, "BPG.B", "multiple", ("a", "b", "c", "d", "e")) for i in range(6)]
    pool += [PoolItem(300 + i, "BPG.C", "numeric", ()) for i in range(5)]
    return pool


POOL = make_pool()
BY_REF = {p.ref: p for p in POOL}


def test_same_seed_rebuilds_the_identical_form():
    assert assemble_form(42, BLUEPRINT, POOL) == assemble_form(42, BLUEPRINT, POOL)


def test_neighbouring_seeds_give_different_forms():
    forms = [assemble_form(seed, BLUEPRINT, POOL) for seed in range(1000, 1050)]
    distinct = {tuple((f.ref, f.option_order) for f in form) for form in forms}
    assert len(distinct) >= 49
    # item order alone also varies between neighbours
    assert len({tuple(f.ref for f in form) for form in forms}) >= 45


def test_each_unit_gets_exactly_items_per_form_distinct_items():
    for seed in range(30):
        form = assemble_form(seed, BLUEPRINT, POOL)
        assert len(form) == 9
        assert [f.position for f in form] == list(range(1, 10))
        refs = [f.ref for f in form]
        assert len(set(refs)) == len(refs)
        per_unit = Counter(f.unit for f in form)
        assert per_unit == {"BPG.A": 4, "BPG.B": 3, "BPG.C": 2}
        for f in form:
            assert BY_REF[f.ref].unit == f.unit


def test_option_order_is_a_permutation_and_empty_for_numeric():
    form = assemble_form(7, BLUEPRINT, POOL)
    for f in form:
        item = BY_REF[f.ref]
        if item.type == "numeric":
            assert f.option_order == ()
        else:
            assert sorted(f.option_order) == sorted(item.option_ids)


def test_pool_and_blueprint_order_do_not_matter():
    shuffled = list(POOL)
    random.Random(99).shuffle(shuffled)
    # option ids arriving in another order do not change the form either
    reordered = [PoolItem(p.ref, p.unit, p.type, tuple(reversed(p.option_ids))) for p in shuffled]
    for seed in (0, 1, 123456789, MAX_SEED):
        expected = assemble_form(seed, BLUEPRINT, POOL)
        assert assemble_form(seed, BLUEPRINT, shuffled) == expected
        assert assemble_form(seed, tuple(reversed(BLUEPRINT)), reordered) == expected


def test_form_does_not_depend_on_python_hash_seed():
    code = (
        "from apkd.exams.assembly import PoolItem, UnitBlueprint, assemble_form\n"
        "pool = [PoolItem(i, 'U' + str(i % 3), 'single', ('a', 'b', 'c')) for i in range(30)]\n"
        "bp = [UnitBlueprint('U0', 3), UnitBlueprint('U1', 3), UnitBlueprint('U2', 3)]\n"
        "print(assemble_form(2024, bp, pool))\n"
    )
    outputs = set()
    for hash_seed in ("1", "2", "3"):
        run = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": hash_seed, "PATH": ""},
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1


def test_pinned_form_for_a_stored_seed():
    # A stored attempt keeps only its seed: the same seed must rebuild the same form in
    # every later release. If this fails, the assembly algorithm changed (see ASSEMBLY_VERSION).
    assert assemble_form(20260101, BLUEPRINT, POOL) == (
        FormItem(position=1, ref=203, unit="BPG.B", option_order=("a", "e", "d", "b", "c")),
        FormItem(position=2, ref=200, unit="BPG.B", option_order=("b", "a", "d", "c", "e")),
        FormItem(position=3, ref=108, unit="BPG.A", option_order=("d", "c", "a", "b")),
        FormItem(position=4, ref=300, unit="BPG.C", option_order=()),
        FormItem(position=5, ref=205, unit="BPG.B", option_order=("a", "d", "e", "c", "b")),
        FormItem(position=6, ref=104, unit="BPG.A", option_order=("d", "a", "b", "c")),
        FormItem(position=7, ref=100, unit="BPG.A", option_order=("c", "b", "a", "d")),
        FormItem(position=8, ref=109, unit="BPG.A", option_order=("b", "c", "a", "d")),
        FormItem(position=9, ref=301, unit="BPG.C", option_order=()),
    )


def test_every_item_is_drawn_and_every_option_comes_first_sometimes():
    drawn: Counter[int] = Counter()
    first: dict[int, Counter[str]] = {}
    positions: dict[int, Counter[int]] = {}
    for seed in range(400):
        for f in assemble_form(seed, BLUEPRINT, POOL):
            drawn[f.ref] += 1
            positions.setdefault(f.ref, Counter())[f.position] += 1
            if f.option_order:
                first.setdefault(f.ref, Counter())[f.option_order[0]] += 1
    # every item of the bank appears; draw rates roughly k/n (A: 4/10, B: 3/6, C: 2/5)
    assert set(drawn) == set(BY_REF)
    for ref, n in drawn.items():
        expected = 400 * {"BPG.A": 0.4, "BPG.B": 0.5, "BPG.C": 0.4}[BY_REF[ref].unit]
        assert 0.6 * expected < n < 1.4 * expected, (ref, n)
    # items of every unit reach both the first and the last positions
    for unit in ("BPG.A", "BPG.B", "BPG.C"):
        seen = Counter()
        for ref, c in positions.items():
            if BY_REF[ref].unit == unit:
                seen.update(c)
        assert seen[1] > 0 and seen[9] > 0, unit
    # every option is shown first sometimes, none hugely more than its share
    for ref, counts in first.items():
        options = BY_REF[ref].option_ids
        assert set(counts) == set(options), ref
        share = sum(counts.values()) / len(options)
        assert max(counts.values()) < 2.5 * share, (ref, counts)


def test_unit_with_too_few_items_is_refused_in_indonesian():
    with pytest.raises(AssemblyError) as exc:
        assemble_form(1, [UnitBlueprint("BPG.C", 6)], POOL)
    assert exc.value.unit == "BPG.C"
    assert "BPG.C" in str(exc.value) and "5 soal" in str(exc.value) and "6" in str(exc.value)


def test_unit_missing_from_pool_is_refused():
    with pytest.raises(AssemblyError, match="BPG.Z hanya memiliki 0 soal"):
        assemble_form(1, [UnitBlueprint("BPG.Z", 1)], POOL)


def test_items_of_units_outside_the_blueprint_are_ignored():
    form = assemble_form(5, [UnitBlueprint("BPG.B", 6)], POOL)
    assert sorted(f.ref for f in form) == [200, 201, 202, 203, 204, 205]


def test_whole_unit_can_be_drawn_and_zero_items_is_allowed():
    form = assemble_form(5, [UnitBlueprint("BPG.C", 5), UnitBlueprint("BPG.A", 0)], POOL)
    assert sorted(f.ref for f in form) == [300, 301, 302, 303, 304]


def test_duplicate_refs_and_units_are_refused():
    with pytest.raises(AssemblyError):
        assemble_form(1, BLUEPRINT, [*POOL, POOL[0]])
    with pytest.raises(AssemblyError):
        assemble_form(1, [*BLUEPRINT, UnitBlueprint("BPG.A", 1)], POOL)


@pytest.mark.parametrize("seed", [-1, 2**63, True, 1.5, "7"])
def test_bad_seeds_are_refused(seed):
    with pytest.raises(ValueError):
        assemble_form(seed, BLUEPRINT, POOL)


def test_new_seed_is_63_bit_and_fresh():
    seeds = {new_seed() for _ in range(100)}
    assert len(seeds) == 100
    assert all(0 <= s <= MAX_SEED for s in seeds)
    assert max(seeds) > 2**62  # all 63 bits are used (fails with probability 2**-100)


def test_form_from_a_new_seed_rebuilds():
    seed = new_seed()
    assert assemble_form(seed, BLUEPRINT, POOL) == assemble_form(seed, BLUEPRINT, POOL)
