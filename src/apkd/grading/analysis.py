"""Item and form analysis, classical test theory. Pure module (stdlib only, no database).

Item statistics (``item_statistics``) work on records, one per (candidate, item seen):
candidates sit different random forms, so every statistic of an item is taken over only the
candidates who saw it.

* ``p`` (tingkat kesukaran): the mean item score, where an item score is ``earned / points``
  (0 or 1 for the all-or-nothing scoring of this system).
* ``point_biserial`` (daya beda): the corrected item-rest correlation, i.e. the Pearson
  correlation between the item score and the candidate's REST score. The rest score is the
  candidate's proportion correct on the OTHER items they saw:
  ``(total earned - this item's earned) / (total possible - this item's points)``, totals
  taken over the candidate's records. A proportion rather than raw points, because random
  forms need not carry equal points; when every form carries the same points it is a
  constant rescaling of the raw rest score and gives the same correlation. A candidate with
  no other item has no rest score and is left out of the correlation (but counts for ``p``).
  Undefined correlations (fewer than 2 candidates, or no variance in either variable) are
  None, never NaN.

Flags (stable codes, Indonesian-readable; ``FLAG_LABELS`` has the text for reports):

* ``terlalu_sukar``    p < 0.20 (almost nobody gets it right: too hard, or a wrong key)
* ``terlalu_mudah``    p > 0.95 (almost everybody gets it right: tells nobody apart)
* ``daya_beda_rendah`` corrected point-biserial < 0.10 (the strong do not beat the weak on it;
                       negative often means a wrong key). Not raised when it is None.

Form statistics (``form_statistics``) take a complete 0/1 matrix (rows candidates, columns
items, every candidate answered every column): mean and POPULATION standard deviation
(divisor n) of the total scores, KR-20 with population variances throughout, and the
standard error of measurement ``sd * sqrt(1 - KR-20)``. With random forms, pass a matrix
whose rows share the same items (e.g. one fixed form), or accept that columns are positions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from numbers import Rational

__all__ = [
    "FLAG_LABELS",
    "FLAG_LOW_DISCRIMINATION",
    "FLAG_TOO_EASY",
    "FLAG_TOO_HARD",
    "P_MAX",
    "P_MIN",
    "RPB_MIN",
    "FormStats",
    "ItemRecord",
    "ItemStats",
    "form_statistics",
    "item_statistics",
    "pearson",
]

FLAG_TOO_HARD = "terlalu_sukar"
FLAG_TOO_EASY = "terlalu_mudah"
FLAG_LOW_DISCRIMINATION = "daya_beda_rendah"
FLAG_LABELS: dict[str, str] = {
    FLAG_TOO_HARD: "Terlalu sukar (p < 0,20): periksa kunci jawaban dan kejelasan soal.",
    FLAG_TOO_EASY: "Terlalu mudah (p > 0,95): soal hampir tidak membedakan peserta.",
    FLAG_LOW_DISCRIMINATION: (
        "Daya beda rendah (korelasi point-biserial terkoreksi < 0,10): periksa kunci dan pengecoh."
    ),
}
P_MIN = Fraction(20, 100)
P_MAX = Fraction(95, 100)
RPB_MIN = 0.10


@dataclass(frozen=True)
class ItemRecord:
    """One candidate's result on one item they saw.

    ``earned`` and ``points`` are the points as scored (voided items: pass them as the
    caller wants them analysed, typically scored against the key). ``choice`` is the
    response, for option counts: an option id (single), a list/tuple of option ids
    (multiple), a number (numeric) or None when left unanswered.
    """

    candidate: str  # e.g. str(attempt_id)
    item: str  # e.g. str(item_version_id): the same item across candidates
    earned: float
    points: float = 1
    choice: object = None


@dataclass(frozen=True)
class ItemStats:
    key: str
    n: int  # candidates who saw the item
    p: float | None  # None only when n == 0
    point_biserial: float | None  # corrected (item-rest); None when undefined
    option_counts: dict[str, int]  # option id -> candidates who chose it
    flags: tuple[str, ...]
    omitted: int = 0  # candidates who saw it and left it unanswered


@dataclass(frozen=True)
class FormStats:
    n: int  # candidates
    k: int  # items
    mean: float  # mean total score (items right)
    sd: float  # population standard deviation of total scores (divisor n)
    kr20: float | None  # None when k < 2, n < 2 or the totals have no variance
    sem: float | None  # sd * sqrt(1 - kr20); None when kr20 is None


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation of two equally long samples; None when undefined (fewer than two
    pairs or a constant sample). Clamped to [-1, 1] against rounding."""
    if len(xs) != len(ys):
        raise ValueError("samples differ in length")
    n = len(xs)
    if n < 2 or min(xs) == max(xs) or min(ys) == max(ys):
        return None
    mx = math.fsum(xs) / n
    my = math.fsum(ys) / n
    dx = [x - mx for x in xs]
    dy = [y - my for y in ys]
    sxx = math.fsum(d * d for d in dx)
    syy = math.fsum(d * d for d in dy)
    if sxx <= 0.0 or syy <= 0.0:
        return None
    r = math.fsum(a * b for a, b in zip(dx, dy, strict=True)) / math.sqrt(sxx * syy)
    return max(-1.0, min(1.0, r))


def _exact(value: object, what: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, float | Rational):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return Fraction(value)


def item_statistics(
    records: Sequence[ItemRecord],
    options: Mapping[str, Sequence[str]] | None = None,
) -> list[ItemStats]:
    """Statistics per item, over only the candidates who saw it.

    ``options`` (optional) maps an item key to its option ids, so that options nobody chose
    appear with count 0 and items nobody saw appear with n = 0. Items are listed in the
    order they first appear in ``records``, then those only in ``options``. Raises
    ValueError for a repeated (candidate, item) pair, points <= 0 or earned outside
    [0, points].
    """
    # Per candidate totals over their records (exact), for the rest score.
    total_earned: dict[str, Fraction] = {}
    total_possible: dict[str, Fraction] = {}
    seen: set[tuple[str, str]] = set()
    order: dict[str, list[ItemRecord]] = {}
    for rec in records:
        pair = (rec.candidate, rec.item)
        if pair in seen:
            raise ValueError(f"candidate {rec.candidate!r} has item {rec.item!r} twice")
        seen.add(pair)
        earned = _exact(rec.earned, "earned")
        points = _exact(rec.points, "points")
        if points <= 0:
            raise ValueError(f"item {rec.item!r}: points must be positive")
        if not 0 <= earned <= points:
            raise ValueError(f"item {rec.item!r}: earned must be within [0, points]")
        total_earned[rec.candidate] = total_earned.get(rec.candidate, Fraction(0)) + earned
        total_possible[rec.candidate] = total_possible.get(rec.candidate, Fraction(0)) + points
        order.setdefault(rec.item, []).append(rec)

    keys = list(order)
    if options is not None:
        keys.extend(k for k in options if k not in order)

    out: list[ItemStats] = []
    for key in keys:
        recs = order.get(key, [])
        counts: dict[str, int] = dict.fromkeys(options.get(key, ()) if options else (), 0)
        omitted = 0
        score_sum = Fraction(0)
        item_scores: list[float] = []
        rest_scores: list[float] = []
        for rec in recs:
            earned = Fraction(rec.earned)
            points = Fraction(rec.points)
            score = earned / points
            score_sum += score
            rest_possible = total_possible[rec.candidate] - points
            if rest_possible > 0:
                item_scores.append(float(score))
                rest_scores.append(float((total_earned[rec.candidate] - earned) / rest_possible))
            omitted += _count_choice(rec.choice, counts)
        n = len(recs)
        p_exact = score_sum / n if n else None
        rpb = pearson(item_scores, rest_scores)
        flags: list[str] = []
        if p_exact is not None and p_exact < P_MIN:
            flags.append(FLAG_TOO_HARD)
        if p_exact is not None and p_exact > P_MAX:
            flags.append(FLAG_TOO_EASY)
        if rpb is not None and rpb < RPB_MIN:
            flags.append(FLAG_LOW_DISCRIMINATION)
        out.append(
            ItemStats(
                key=key,
                n=n,
                p=float(p_exact) if p_exact is not None else None,
                point_biserial=rpb,
                option_counts=counts,
                flags=tuple(flags),
                omitted=omitted,
            )
        )
    return out


def _count_choice(choice: object, counts: dict[str, int]) -> int:
    """Add the chosen option(s) to ``counts``; return 1 when the item was left unanswered."""
    if choice is None or choice == "" or (isinstance(choice, list | tuple) and not choice):
        return 1
    if isinstance(choice, str):
        counts[choice] = counts.get(choice, 0) + 1
    elif isinstance(choice, list | tuple | set | frozenset):
        for option in set(choice):
            if isinstance(option, str):
                counts[option] = counts.get(option, 0) + 1
    return 0


def form_statistics(matrix: Sequence[Sequence[float]]) -> FormStats:
    """Mean, population SD, KR-20 and SEM of a complete 0/1 matrix (rows candidates,
    columns items). Raises ValueError on an empty matrix, ragged rows or a value other
    than 0/1."""
    n = len(matrix)
    if n == 0:
        raise ValueError("no candidates")
    k = len(matrix[0])
    totals: list[int] = []
    right = [0] * k
    for row in matrix:
        if len(row) != k:
            raise ValueError("rows differ in length")
        total = 0
        for j, value in enumerate(row):
            if isinstance(value, str) or value not in (0, 1):
                raise ValueError(f"item scores must be 0 or 1, got {value!r}")
            if value == 1:
                total += 1
                right[j] += 1
        totals.append(total)

    mean = Fraction(sum(totals), n)
    variance = sum(((t - mean) ** 2 for t in totals), Fraction(0)) / n  # population
    kr20: Fraction | None = None
    if k >= 2 and n >= 2 and variance > 0:
        sum_pq = sum((Fraction(r, n) * (1 - Fraction(r, n)) for r in right), Fraction(0))
        kr20 = Fraction(k, k - 1) * (1 - sum_pq / variance)
    sd = math.sqrt(variance)
    sem = sd * math.sqrt(1 - kr20) if kr20 is not None else None
    return FormStats(
        n=n,
        k=k,
        mean=float(mean),
        sd=sd,
        kr20=float(kr20) if kr20 is not None else None,
        sem=sem,
    )
