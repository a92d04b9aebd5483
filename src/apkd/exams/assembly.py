"""Form assembly: draw one exam form per attempt from a scheme's item bank.

Pure module (no database). For every attempt the server stores a seed; the form is a
function of that seed, the blueprint and the pool of item versions, so it can be rebuilt
exactly at any later time (review, grading, appeal) without storing the form itself.

The draw uses ``random.Random(seed)`` (Mersenne Twister). It is NOT meant for secrecy: the
seed never leaves the server and a candidate gains nothing from predicting the order. Its
job is reproducibility, which is why the exact sequence of calls below is part of the
stored-attempt contract: changing it (or the canonical sorting) changes the form rebuilt
from every seed already stored. Bump ``ASSEMBLY_VERSION`` and keep the old algorithm if
that is ever needed.

Version 2 adds two rules of the blueprint: ``enemies`` (groups of items that give each other
away and never share a form) and minimum shares per cognitive level. When neither applies the
sequence of calls is exactly version 1's, so a seed draws the same form under both.
"""

from __future__ import annotations

import math
import random
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ASSEMBLY_VERSION",
    "CHOICE_TYPES",
    "DEFAULT_LEVEL",
    "ITEM_TYPES",
    "MAX_SEED",
    "AssemblyError",
    "FormItem",
    "PoolItem",
    "UnitBlueprint",
    "assemble_form",
    "new_seed",
]

ASSEMBLY_VERSION = 2
MAX_SEED = 2**63 - 1  # fits a signed 64-bit column
ITEM_TYPES = frozenset({"single", "multiple", "numeric"})
CHOICE_TYPES = frozenset({"single", "multiple"})
DEFAULT_LEVEL = "pengetahuan"  # an item without a cognitive level counts as recall


class AssemblyError(ValueError):
    """The bank cannot yield a form for this blueprint (message in Indonesian)."""

    def __init__(self, message: str, unit: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.unit = unit


@dataclass(frozen=True)
class PoolItem:
    """One item version available to the draw."""

    ref: int  # item version id
    unit: str
    type: str  # single | multiple | numeric
    option_ids: tuple[str, ...] = ()
    level: str | None = None  # cognitive level; None counts as DEFAULT_LEVEL

    @property
    def cognitive_level(self) -> str:
        return self.level or DEFAULT_LEVEL


@dataclass(frozen=True)
class UnitBlueprint:
    code: str
    items_per_form: int


@dataclass(frozen=True)
class FormItem:
    position: int  # 1-based
    ref: int
    unit: str
    option_order: tuple[str, ...]  # () for numeric items


def new_seed() -> int:
    """A fresh seed for a new attempt: 63 random bits, 0 <= seed <= MAX_SEED."""
    return secrets.randbits(63)


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        # random.Random(n) treats n and -n alike, so negative seeds are refused outright.
        raise ValueError(f"seed must be an int in [0, 2**63 - 1], got {seed!r}")


def assemble_form(
    seed: int,
    blueprint: Sequence[UnitBlueprint],
    pool: Sequence[PoolItem],
    *,
    enemies: Sequence[Sequence[int]] = (),
    level_shares: Mapping[str, float] | None = None,
) -> tuple[FormItem, ...]:
    """Draw the form for ``seed``.

    Steps, all from one ``random.Random(seed)``:
      1. for each unit (blueprint sorted by code), sample ``items_per_form`` items without
         repeats from that unit's pool (sorted by ref);
      2. shuffle the order of all drawn items;
      3. for each item in final order, shuffle its option ids (sorted first) when it is a
         ``single`` or ``multiple`` item.
    The result depends only on the seed and the *contents* of blueprint and pool, never on
    the order they arrive in nor on Python's hash seed. Pool items of units outside the
    blueprint are ignored.

    With ``enemies`` (groups of refs) or ``level_shares`` (level -> minimum share of the form),
    step 1 becomes: for each unit, shuffle its pool and take items in that order, skipping an
    item whose enemy is already on the form; then, while a level is below its minimum
    (ceil(share x form length)), swap a drawn item of a level above its own minimum for the
    first unused item of the missing level of the same unit in its shuffled order (when no
    swap is left, step 1 is drawn again from the same generator; see ``_constrained_draw``).
    """
    _check_seed(seed)

    units = sorted(blueprint, key=lambda u: u.code)
    seen_units: set[str] = set()
    for u in units:
        if u.code in seen_units:
            raise AssemblyError(f"Unit {u.code} tercantum lebih dari sekali pada skema.", u.code)
        seen_units.add(u.code)
        if isinstance(u.items_per_form, bool) or not isinstance(u.items_per_form, int):
            raise AssemblyError(f"Jumlah soal per paket unit {u.code} harus bilangan bulat.", u.code)
        if u.items_per_form < 0:
            raise AssemblyError(f"Jumlah soal per paket unit {u.code} tidak boleh negatif.", u.code)

    by_unit: dict[str, list[PoolItem]] = {code: [] for code in seen_units}
    seen_refs: set[int] = set()
    for item in sorted(pool, key=lambda i: (i.unit, i.ref)):
        if item.ref in seen_refs:
            raise AssemblyError(f"Soal dengan versi {item.ref} muncul lebih dari sekali.", item.unit)
        seen_refs.add(item.ref)
        if item.unit not in by_unit:
            continue
        if item.type not in ITEM_TYPES:
            raise AssemblyError(f"Jenis soal tidak dikenal pada versi {item.ref}: {item.type!r}.", item.unit)
        if len(set(item.option_ids)) != len(item.option_ids):
            raise AssemblyError(f"Pilihan jawaban ganda pada soal versi {item.ref}.", item.unit)
        by_unit[item.unit].append(item)

    rng = random.Random(seed)

    for u in units:
        available = by_unit[u.code]
        if len(available) < u.items_per_form:
            raise AssemblyError(
                f"Unit {u.code} hanya memiliki {len(available)} soal, "
                f"kurang dari {u.items_per_form} soal yang diperlukan per paket.",
                u.code,
            )
    conflicts: dict[int, set[int]] = {}
    for group in enemies:
        members = [ref for ref in group if ref in seen_refs]
        for ref in members:
            conflicts.setdefault(ref, set()).update(other for other in members if other != ref)
    length = sum(u.items_per_form for u in units)
    minimums = {
        level: math.ceil(share * length - 1e-9)
        for level, share in sorted((level_shares or {}).items())
        if share > 0
    }

    drawn: list[PoolItem] = []
    if not conflicts and not minimums:
        for u in units:
            drawn.extend(rng.sample(by_unit[u.code], u.items_per_form))
    else:
        drawn = _constrained_draw(rng, units, by_unit, conflicts, minimums)

    rng.shuffle(drawn)

    form: list[FormItem] = []
    for position, item in enumerate(drawn, start=1):
        if item.type in CHOICE_TYPES:
            options = sorted(item.option_ids)
            rng.shuffle(options)
            option_order = tuple(options)
        else:
            option_order = ()
        form.append(FormItem(position=position, ref=item.ref, unit=item.unit, option_order=option_order))
    return tuple(form)


CONSTRAINED_TRIES = 64


def _constrained_draw(
    rng: random.Random,
    units: Sequence[UnitBlueprint],
    by_unit: dict[str, list[PoolItem]],
    conflicts: dict[int, set[int]],
    minimums: dict[str, int],
) -> list[PoolItem]:
    """Step 1 under enemies and level minimums (see :func:`assemble_form`).

    A draw whose swaps cannot reach a level minimum (enemies can block the only swaps left)
    is drawn again from the same generator, up to ``CONSTRAINED_TRIES`` times; the result is
    still a function of the seed.
    """
    for _ in range(CONSTRAINED_TRIES - 1):
        try:
            return _constrained_once(rng, units, by_unit, conflicts, minimums)
        except AssemblyError:
            continue
    return _constrained_once(rng, units, by_unit, conflicts, minimums)


def _constrained_once(
    rng: random.Random,
    units: Sequence[UnitBlueprint],
    by_unit: dict[str, list[PoolItem]],
    conflicts: dict[int, set[int]],
    minimums: dict[str, int],
) -> list[PoolItem]:
    orders: dict[str, list[PoolItem]] = {}
    picked: dict[str, list[PoolItem]] = {}
    taken: set[int] = set()
    for u in units:
        order = list(by_unit[u.code])
        rng.shuffle(order)
        orders[u.code] = order
        chosen: list[PoolItem] = []
        for item in order:
            if len(chosen) == u.items_per_form:
                break
            if conflicts.get(item.ref, set()) & taken:
                continue
            chosen.append(item)
            taken.add(item.ref)
        if len(chosen) < u.items_per_form:
            raise AssemblyError(
                f"Unit {u.code} tidak dapat mengisi {u.items_per_form} soal tanpa memasangkan soal yang "
                "saling membocorkan (enemies).",
                u.code,
            )
        picked[u.code] = chosen

    counts = Counter(item.cognitive_level for chosen in picked.values() for item in chosen)
    while True:
        missing = [level for level, need in minimums.items() if counts[level] < need]
        if not missing:
            break
        level = missing[0]
        if not _swap_in(level, units, orders, picked, taken, conflicts, counts, minimums):
            raise AssemblyError(
                f"Paket tidak dapat memuat minimal {minimums[level]} soal tingkat {level} "
                "sesuai porsi pada skema."
            )
    return [item for u in units for item in picked[u.code]]


def _swap_in(
    level: str,
    units: Sequence[UnitBlueprint],
    orders: dict[str, list[PoolItem]],
    picked: dict[str, list[PoolItem]],
    taken: set[int],
    conflicts: dict[int, set[int]],
    counts: Counter[str],
    minimums: dict[str, int],
) -> bool:
    """Replace one drawn item of a level with room to spare by an unused item of ``level``."""
    for u in units:
        chosen = picked[u.code]
        for index in range(len(chosen) - 1, -1, -1):
            out = chosen[index]
            out_level = out.cognitive_level
            if out_level == level or counts[out_level] - 1 < minimums.get(out_level, 0):
                continue
            others = taken - {out.ref}
            for candidate in orders[u.code]:
                if candidate.ref in taken or candidate.cognitive_level != level:
                    continue
                if conflicts.get(candidate.ref, set()) & others:
                    continue
                chosen[index] = candidate
                taken.discard(out.ref)
                taken.add(candidate.ref)
                counts[out_level] -= 1
                counts[level] += 1
                return True
    return False
