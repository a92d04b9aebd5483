"""Scoring of one attempt against its form. Pure module (no database).

Rules (docs/contract.md, "Exam bank files"):

* An item earns its points only when the response is exactly right: ``single`` = the option
  id; ``multiple`` = the exact set of option ids (order irrelevant); ``numeric`` =
  ``|response - answer| <= tolerance``. Anything else (None, a missing response, a value of
  the wrong shape) earns nothing.
* A unit's score is the percent of its form points earned; the overall score is the percent
  of all form points. ``passed`` = overall >= ``pass_score`` and every unit with a
  ``min_score`` reaches it. ``outcome`` is ``kompeten`` or ``belum_kompeten``.
* A voided item (key correction) counts for nobody: neither earned nor possible. A unit whose
  items are all voided (or that has no items on the form) scores 100 and passes.

Exactness: every decision is taken on exact rationals (``fractions.Fraction``). Floats coming
from bank files or JSON (answers, tolerances, pass and minimum scores) are read as the
decimal their shortest ``repr`` shows, i.e. what the author wrote: ``0.1`` is 1/10, not the
binary float nearest to it. So 1.1 against 1.0 with tolerance 0.1 is within tolerance, and
69.999...% never passes a pass score of 70.

Reported scores are rounded DOWN to 2 decimals. With pass and minimum scores of at most two
decimals (as bank files give them) the reported number therefore agrees with the decision:
a reported 70.00 always passes ``pass_score: 70`` and 69.99 never does, whereas rounding half
up could show 70.00 next to ``belum_kompeten``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from numbers import Rational

__all__ = [
    "AttemptScore",
    "ItemScore",
    "Outcome",
    "ScoringItem",
    "UnitRule",
    "UnitScore",
    "exact_number",
    "is_correct",
    "score_attempt",
]


class Outcome(StrEnum):
    """A result's outcome (stored and sent as its value)."""

    KOMPETEN = "kompeten"
    BELUM_KOMPETEN = "belum_kompeten"


_ITEM_TYPES = frozenset({"single", "multiple", "numeric"})
# A numeric response typed as text: integer or decimal, optional exponent (as bank files allow).
_NUMBER_TEXT_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]{1,4})?")
_MAX_NUMBER_TEXT = 64


@dataclass(frozen=True)
class ScoringItem:
    """One item of an attempt's form, with what it is scored against."""

    key: str  # stable id of the item within the attempt, e.g. str(item_version_id) or position
    unit: str
    type: str  # single | multiple | numeric
    answer: str | tuple[str, ...] | float  # multiple: tuple of option ids
    tolerance: float = 0.0
    points: int = 1
    voided: bool = False  # dropped from scoring for everyone (key correction)


@dataclass(frozen=True)
class UnitRule:
    code: str
    min_score: float | None = None


@dataclass(frozen=True)
class ItemScore:
    """How one item was scored. ``points`` is the item's nominal points even when voided;
    ``earned`` is 0 for a voided item. ``correct`` tells whether the response matches the key
    (also for a voided item, for the record)."""

    key: str
    unit: str
    earned: int
    points: int
    correct: bool
    voided: bool


@dataclass(frozen=True)
class UnitScore:
    """``passed`` is True when the unit has no ``min_score`` (it sets no requirement)."""

    code: str
    score: float  # percent, rounded down to 2 decimals
    passed: bool
    earned: int  # voided items excluded
    possible: int  # voided items excluded


@dataclass(frozen=True)
class AttemptScore:
    score: float  # overall percent, rounded down to 2 decimals
    passed: bool
    outcome: Outcome
    units: tuple[UnitScore, ...]  # in the order of the ``units`` argument
    items: tuple[ItemScore, ...]  # in the order of the ``items`` argument
    earned: int  # voided items excluded
    possible: int  # voided items excluded


def exact_number(value: object) -> Fraction | None:
    """``value`` as an exact rational, or None when it is not a finite number.

    Accepts int, float (read as the decimal its repr shows), Decimal, Fraction and numeric
    text (``"1500000"``, ``" -2.5 "``, ``"1e3"``; no thousands separators, dot as the decimal
    mark). ``bool`` is never a number.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return Fraction(repr(value))
    if isinstance(value, Decimal):
        return Fraction(value) if value.is_finite() else None
    if isinstance(value, Rational):
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_NUMBER_TEXT or not _NUMBER_TEXT_RE.fullmatch(text):
            return None
        return Fraction(text)
    return None


def _option_set(value: object) -> frozenset[str] | None:
    if not isinstance(value, list | tuple | set | frozenset):
        return None
    if not all(isinstance(v, str) for v in value):
        return None
    return frozenset(value)


def is_correct(item: ScoringItem, response: object) -> bool:
    """Whether ``response`` is exactly right for ``item`` (voiding is not considered here)."""
    if response is None:
        return False
    if item.type == "single":
        return isinstance(response, str) and isinstance(item.answer, str) and response == item.answer
    if item.type == "multiple":
        chosen = _option_set(response)
        key = _option_set(item.answer)
        return chosen is not None and key is not None and len(chosen) > 0 and chosen == key
    if item.type == "numeric":
        given = exact_number(response)
        answer = exact_number(item.answer)
        tolerance = exact_number(item.tolerance)
        if given is None or answer is None or tolerance is None:
            return False
        return abs(given - answer) <= tolerance
    raise ValueError(f"unknown item type: {item.type!r}")


def _percent(earned: int, possible: int) -> Fraction:
    """Exact percent; 100 when nothing is possible (all voided or no items)."""
    if possible == 0:
        return Fraction(100)
    return Fraction(earned * 100, possible)


def _report(percent: Fraction) -> float:
    """Round down to 2 decimals (percent is never negative)."""
    return math.floor(percent * 100) / 100


def _reaches(percent: Fraction, threshold: float | int) -> bool:
    exact = exact_number(threshold)
    if exact is None:
        raise ValueError(f"threshold is not a finite number: {threshold!r}")
    return percent >= exact


def score_attempt(
    items: Sequence[ScoringItem],
    responses: Mapping[str, object],
    units: Sequence[UnitRule],
    pass_score: float,
) -> AttemptScore:
    """Score one attempt.

    ``items`` is the attempt's form; ``responses`` maps an item key to the candidate's
    response (a missing key is no response); ``units`` are the scheme's units, in the order
    the result lists them. Raises ValueError on inconsistent input: a duplicate item key or
    unit code, an item of a unit not in ``units``, negative points, an unknown item type, or a
    form with no scorable points at all (every item voided), which cannot decide competence.
    """
    unit_codes = [u.code for u in units]
    if len(set(unit_codes)) != len(unit_codes):
        raise ValueError("duplicate unit code")
    known_units = set(unit_codes)

    earned_by_unit: dict[str, int] = dict.fromkeys(unit_codes, 0)
    possible_by_unit: dict[str, int] = dict.fromkeys(unit_codes, 0)
    seen_keys: set[str] = set()
    item_scores: list[ItemScore] = []
    for item in items:
        if item.key in seen_keys:
            raise ValueError(f"duplicate item key: {item.key!r}")
        seen_keys.add(item.key)
        if item.unit not in known_units:
            raise ValueError(f"item {item.key!r} belongs to unit {item.unit!r}, not in the scheme's units")
        if item.type not in _ITEM_TYPES:
            raise ValueError(f"unknown item type: {item.type!r}")
        if isinstance(item.points, bool) or not isinstance(item.points, int) or item.points < 0:
            raise ValueError(f"item {item.key!r}: points must be a non-negative integer")
        correct = is_correct(item, responses.get(item.key))
        earned = item.points if correct and not item.voided else 0
        if not item.voided:
            earned_by_unit[item.unit] += earned
            possible_by_unit[item.unit] += item.points
        item_scores.append(
            ItemScore(
                key=item.key,
                unit=item.unit,
                earned=earned,
                points=item.points,
                correct=correct,
                voided=item.voided,
            )
        )

    total_earned = sum(earned_by_unit.values())
    total_possible = sum(possible_by_unit.values())
    if total_possible == 0:
        raise ValueError("the form has no scorable points (every item voided or worth 0)")

    unit_scores: list[UnitScore] = []
    units_pass = True
    for rule in units:
        percent = _percent(earned_by_unit[rule.code], possible_by_unit[rule.code])
        unit_passed = rule.min_score is None or _reaches(percent, rule.min_score)
        units_pass = units_pass and unit_passed
        unit_scores.append(
            UnitScore(
                code=rule.code,
                score=_report(percent),
                passed=unit_passed,
                earned=earned_by_unit[rule.code],
                possible=possible_by_unit[rule.code],
            )
        )

    overall = _percent(total_earned, total_possible)
    passed = _reaches(overall, pass_score) and units_pass
    return AttemptScore(
        score=_report(overall),
        passed=passed,
        outcome=Outcome.KOMPETEN if passed else Outcome.BELUM_KOMPETEN,
        units=tuple(unit_scores),
        items=tuple(item_scores),
        earned=total_earned,
        possible=total_possible,
    )
