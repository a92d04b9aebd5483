from __future__ import annotations

import math
import random
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from apkd.grading.scoring import (
    AttemptScore,
    ScoringItem,
    UnitRule,
    is_correct,
    score_attempt,
)

OPTION_IDS = ("a", "b", "c", "d", "e")


def single(
    key: str, answer: str = "b", unit: str = "U1", points: int = 1, voided: bool = False
) -> ScoringItem:
    return ScoringItem(key=key, unit=unit, type="single", answer=answer, points=points, voided=voided)


def numeric(answer: float, tolerance: float = 0.0) -> ScoringItem:
    return ScoringItem(key="n", unit="U1", type="numeric", answer=answer, tolerance=tolerance)


def multiple(answer: tuple[str, ...]) -> ScoringItem:
    return ScoringItem(key="m", unit="U1", type="multiple", answer=answer)


# ---------------------------------------------------------------- is_correct


def test_single_needs_the_keyed_option_id() -> None:
    item = single("1", answer="b")
    assert is_correct(item, "b")
    assert not is_correct(item, "a")
    assert not is_correct(item, None)
    assert not is_correct(item, ["b"])  # a list is not a single choice
    assert not is_correct(item, "B")


def test_multiple_needs_the_exact_set_in_any_order() -> None:
    item = multiple(("a", "c"))
    assert is_correct(item, ["a", "c"])
    assert is_correct(item, ["c", "a"])
    assert is_correct(item, ("c", "a"))
    assert not is_correct(item, ["a"])  # subset: no partial credit
    assert not is_correct(item, ["a", "c", "d"])  # superset
    assert not is_correct(item, [])
    assert not is_correct(item, "a")
    assert not is_correct(item, None)


def test_numeric_tolerance_edges_are_inclusive_and_exact() -> None:
    item = numeric(1.0, tolerance=0.1)
    # 1.1 - 1.0 is 0.10000000000000009 in binary floats; the author meant exactly 0.1.
    assert is_correct(item, 1.1)
    assert is_correct(item, 0.9)
    assert is_correct(item, "1.1")
    assert is_correct(item, " 0.90 ")
    assert not is_correct(item, 1.1000001)
    assert not is_correct(item, 0.8999999)
    assert not is_correct(item, "1.11")


def test_numeric_zero_tolerance_accepts_the_number_in_any_spelling() -> None:
    item = numeric(1500000)
    assert is_correct(item, 1500000)
    assert is_correct(item, 1500000.0)
    assert is_correct(item, "1500000")
    assert is_correct(item, "1.5e6")
    assert not is_correct(item, 1500001)
    assert not is_correct(item, 1499999.99)


@pytest.mark.parametrize(
    "response", [None, True, False, "1,5", "1.500.000", "", "abc", "1/1", math.nan, math.inf]
)
def test_numeric_non_numbers_are_wrong(response: object) -> None:
    assert not is_correct(numeric(1.0, tolerance=1.0), response)


def test_bool_is_never_a_number() -> None:
    assert not is_correct(numeric(1), True)
    assert not is_correct(numeric(0), False)


def test_negative_numeric_answers() -> None:
    item = numeric(-250.5, tolerance=0.5)
    assert is_correct(item, -250)
    assert is_correct(item, "-251")
    assert not is_correct(item, 250.5)


# ---------------------------------------------------------------- score_attempt examples


def test_overall_pass_but_unit_below_minimum_is_belum_kompeten() -> None:
    items = [single(f"a{i}", unit="A") for i in range(5)] + [single(f"b{i}", unit="B") for i in range(5)]
    responses: dict[str, object] = {f"a{i}": "b" for i in range(5)}  # A: 5/5
    responses.update({"b0": "b", "b1": "b", "b2": "b", "b3": "x"})  # B: 3/5 = 60
    units = [UnitRule("A", min_score=60), UnitRule("B", min_score=65)]
    result = score_attempt(items, responses, units, pass_score=70)
    assert result.score == 80.0
    assert not result.passed
    assert result.outcome == "belum_kompeten"
    assert [(u.code, u.score, u.passed) for u in result.units] == [("A", 100.0, True), ("B", 60.0, False)]

    # the same answers pass once B's minimum is within reach
    units = [UnitRule("A", min_score=60), UnitRule("B", min_score=60)]
    result = score_attempt(items, responses, units, pass_score=70)
    assert result.passed and result.outcome == "kompeten"


def test_exactly_at_pass_score_passes_and_one_point_less_does_not() -> None:
    items = [single(str(i)) for i in range(10)]
    seven = {str(i): "b" for i in range(7)}
    result = score_attempt(items, seven, [UnitRule("U1")], pass_score=70)
    assert (result.score, result.passed, result.outcome) == (70.0, True, "kompeten")
    assert (result.earned, result.possible) == (7, 10)
    six = {str(i): "b" for i in range(6)}
    result = score_attempt(items, six, [UnitRule("U1")], pass_score=70)
    assert (result.score, result.passed, result.outcome) == (60.0, False, "belum_kompeten")


def test_pass_decision_is_exact_where_floats_are_not() -> None:
    # 29/50*100 is 57.99999999999999 in floats; exactly 58 in fact.
    items = [single(str(i)) for i in range(50)]
    responses = {str(i): "b" for i in range(29)}
    result = score_attempt(items, responses, [UnitRule("U1", min_score=58)], pass_score=58)
    assert result.score == 58.0
    assert result.passed
    assert result.units[0].passed


def test_reported_score_is_rounded_down_so_it_agrees_with_the_outcome() -> None:
    items = [single(str(i)) for i in range(3)]
    responses = {"0": "b", "1": "b"}  # 2/3 = 66.666...%
    failed = score_attempt(items, responses, [UnitRule("U1")], pass_score=66.67)
    assert failed.score == 66.66 and not failed.passed
    passed = score_attempt(items, responses, [UnitRule("U1")], pass_score=66.66)
    assert passed.score == 66.66 and passed.passed


def test_points_weight_the_score() -> None:
    items = [single("heavy", points=3), single("light", points=1)]
    result = score_attempt(items, {"heavy": "b"}, [UnitRule("U1")], pass_score=70)
    assert (result.earned, result.possible, result.score, result.passed) == (3, 4, 75.0, True)


def test_missing_responses_are_wrong() -> None:
    items = [single("1"), single("2")]
    result = score_attempt(items, {}, [UnitRule("U1")], pass_score=50)
    assert result.score == 0.0
    assert [i.correct for i in result.items] == [False, False]


def test_voided_item_counts_for_nobody() -> None:
    items = [single("1"), single("2"), single("3", voided=True)]
    result = score_attempt(items, {"1": "b", "3": "b"}, [UnitRule("U1")], pass_score=50)
    assert (result.earned, result.possible, result.score) == (1, 2, 50.0)
    voided = result.items[2]
    assert voided.voided and voided.correct and voided.earned == 0 and voided.points == 1


def test_unit_with_every_item_voided_scores_100_and_passes() -> None:
    items = [single("a1", unit="A"), single("b1", unit="B", voided=True), single("b2", unit="B", voided=True)]
    units = [UnitRule("A"), UnitRule("B", min_score=80)]
    result = score_attempt(items, {"a1": "b"}, units, pass_score=70)
    unit_b = result.units[1]
    assert (unit_b.score, unit_b.passed, unit_b.earned, unit_b.possible) == (100.0, True, 0, 0)
    assert result.passed


def test_voiding_an_item_the_candidate_got_right_can_lower_their_score() -> None:
    # Not a bug: removing a question they had right removes a point they had.
    items = [single("1"), single("2")]
    before = score_attempt(items, {"1": "b"}, [UnitRule("U1")], pass_score=50)
    after = score_attempt([replace(items[0], voided=True), items[1]], {"1": "b"}, [UnitRule("U1")], 50)
    assert (before.score, before.passed) == (50.0, True)
    assert (after.score, after.passed) == (0.0, False)


def test_a_form_with_nothing_scorable_is_refused() -> None:
    with pytest.raises(ValueError):
        score_attempt([single("1", voided=True)], {"1": "b"}, [UnitRule("U1")], pass_score=70)


def test_units_follow_the_order_given_and_unit_without_minimum_passes() -> None:
    items = [single("z", unit="Z"), single("a", unit="A")]
    result = score_attempt(items, {"a": "b"}, [UnitRule("Z"), UnitRule("A")], pass_score=50)
    assert [(u.code, u.score, u.passed) for u in result.units] == [("Z", 0.0, True), ("A", 100.0, True)]
    assert result.passed


@pytest.mark.parametrize(
    ("items", "units"),
    [
        ([single("1"), single("1")], [UnitRule("U1")]),  # duplicate item key
        ([single("1", unit="X")], [UnitRule("U1")]),  # unit not in the scheme
        ([single("1")], [UnitRule("U1"), UnitRule("U1")]),  # duplicate unit
        ([ScoringItem("1", "U1", "essay", "x")], [UnitRule("U1")]),  # unknown type
        ([single("1", points=-1), single("2")], [UnitRule("U1")]),  # negative points
    ],
)
def test_inconsistent_forms_are_refused(items: list[ScoringItem], units: list[UnitRule]) -> None:
    with pytest.raises(ValueError):
        score_attempt(items, {}, units, pass_score=70)


# ---------------------------------------------------------------- properties

UNIT_CODES = ("A", "B", "C")
two_decimals = st.integers(min_value=0, max_value=10000).map(lambda c: c / 100)


@st.composite
def scoring_items(draw: st.DrawFn, key: str, units: tuple[str, ...]) -> ScoringItem:
    kind = draw(st.sampled_from(["single", "multiple", "numeric"]))
    unit = draw(st.sampled_from(units))
    points = draw(st.integers(min_value=1, max_value=5))
    voided = draw(st.integers(0, 4)) == 0
    answer: str | tuple[str, ...] | float
    tolerance = 0.0
    if kind == "single":
        answer = draw(st.sampled_from(OPTION_IDS))
    elif kind == "multiple":
        answer = tuple(sorted(draw(st.sets(st.sampled_from(OPTION_IDS), min_size=1, max_size=4))))
    else:
        answer = draw(st.integers(-1000, 10**7) | st.integers(-(10**4), 10**4).map(lambda c: c / 100))
        tolerance = draw(st.sampled_from([0.0, 0.01, 0.5, 1.0, 100.0]))
    return ScoringItem(key, unit, kind, answer, tolerance, points, voided)


def right_response(item: ScoringItem) -> object:
    if item.type == "multiple":
        assert isinstance(item.answer, tuple)
        return list(item.answer)
    return item.answer


@st.composite
def responses_for(draw: st.DrawFn, item: ScoringItem) -> object:
    choice = draw(st.sampled_from(["right", "none", "other"]))
    if choice == "right":
        return right_response(item)
    if choice == "none":
        return None
    if item.type == "single":
        return draw(st.sampled_from(OPTION_IDS))
    if item.type == "multiple":
        return sorted(draw(st.sets(st.sampled_from(OPTION_IDS), min_size=1, max_size=5)))
    return draw(
        st.floats(-1e7, 1e7)
        | st.integers(-(10**7), 10**7)
        | st.text(alphabet="0123456789.,-+e x", max_size=8)
    )


@st.composite
def attempts(draw: st.DrawFn) -> tuple[list[ScoringItem], dict[str, object], list[UnitRule], float]:
    unit_codes = UNIT_CODES[: draw(st.integers(1, len(UNIT_CODES)))]
    units = [UnitRule(code, draw(st.none() | two_decimals)) for code in unit_codes]
    n = draw(st.integers(1, 15))
    items = [draw(scoring_items(f"i{k}", unit_codes)) for k in range(n)]
    assume(any(not item.voided for item in items))
    responses = {item.key: draw(responses_for(item)) for item in items}
    return items, responses, units, draw(two_decimals)


def exact_percents(result: AttemptScore) -> tuple[Fraction, list[Fraction]]:
    def pct(earned: int, possible: int) -> Fraction:
        return Fraction(100) if possible == 0 else Fraction(100 * earned, possible)

    return pct(result.earned, result.possible), [pct(u.earned, u.possible) for u in result.units]


@settings(max_examples=300)
@given(attempts())
def test_scores_stay_within_0_and_100_and_agree_with_the_outcome(
    attempt: tuple[list[ScoringItem], dict[str, object], list[UnitRule], float],
) -> None:
    items, responses, units, pass_score = attempt
    result = score_attempt(items, responses, units, pass_score)
    assert 0 <= result.score <= 100
    assert all(0 <= u.score <= 100 for u in result.units)
    assert result.outcome == ("kompeten" if result.passed else "belum_kompeten")
    units_ok = all(u.passed for u in result.units)
    # the reported (rounded-down) score tells the same story as the exact decision
    assert result.passed == (units_ok and result.score >= pass_score)
    for unit, rule in zip(result.units, units, strict=True):
        assert unit.passed == (rule.min_score is None or unit.score >= rule.min_score)
    assert result.earned == sum(i.earned for i in result.items)
    assert result.possible == sum(i.points for i in result.items if not i.voided)


@settings(max_examples=300)
@given(attempts(), st.data())
def test_turning_a_wrong_response_right_never_lowers_a_score(
    attempt: tuple[list[ScoringItem], dict[str, object], list[UnitRule], float], data: st.DataObject
) -> None:
    items, responses, units, pass_score = attempt
    before = score_attempt(items, responses, units, pass_score)
    wrong = [i for i, s in zip(items, before.items, strict=True) if not s.correct]
    assume(wrong)
    item = data.draw(st.sampled_from(wrong))
    after = score_attempt(items, {**responses, item.key: right_response(item)}, units, pass_score)
    assert after.score >= before.score
    assert all(a.score >= b.score for a, b in zip(after.units, before.units, strict=True))
    assert after.passed or not before.passed
    overall_before, units_before = exact_percents(before)
    overall_after, units_after = exact_percents(after)
    assert overall_after >= overall_before
    assert all(a >= b for a, b in zip(units_after, units_before, strict=True))


@settings(max_examples=300)
@given(attempts(), st.randoms(use_true_random=False))
def test_item_order_and_option_order_do_not_change_the_score(
    attempt: tuple[list[ScoringItem], dict[str, object], list[UnitRule], float], rnd: random.Random
) -> None:
    items, responses, units, pass_score = attempt
    before = score_attempt(items, responses, units, pass_score)
    # Another presentation: items in another order, and every item's options in another
    # order, so a multiple-choice response arrives listed in that presentation order.
    shuffled_items = list(items)
    rnd.shuffle(shuffled_items)
    presented = list(OPTION_IDS)
    shuffled_responses: dict[str, object] = {}
    for key, response in responses.items():
        if isinstance(response, list):
            rnd.shuffle(presented)
            response = [o for o in presented if o in response]
        shuffled_responses[key] = response
    after = score_attempt(shuffled_items, shuffled_responses, units, pass_score)
    assert (after.score, after.passed, after.earned, after.possible) == (
        before.score,
        before.passed,
        before.earned,
        before.possible,
    )
    assert after.units == before.units
    assert sorted(after.items, key=lambda s: s.key) == sorted(before.items, key=lambda s: s.key)


@settings(max_examples=300)
@given(attempts(), st.data())
def test_voiding_an_item_the_candidate_got_wrong_never_lowers_their_score(
    attempt: tuple[list[ScoringItem], dict[str, object], list[UnitRule], float], data: st.DataObject
) -> None:
    # The theorem behind key corrections: dropping a question someone missed can only help
    # them (the converse is false, see the example test above).
    items, responses, units, pass_score = attempt
    before = score_attempt(items, responses, units, pass_score)
    candidates = [
        k for k, (i, s) in enumerate(zip(items, before.items, strict=True)) if not i.voided and not s.correct
    ]
    assume(candidates)
    index = data.draw(st.sampled_from(candidates))
    assume(before.possible > items[index].points)  # something must stay scorable
    voided_items = [replace(i, voided=True) if k == index else i for k, i in enumerate(items)]
    after = score_attempt(voided_items, responses, units, pass_score)
    overall_before, units_before = exact_percents(before)
    overall_after, units_after = exact_percents(after)
    assert overall_after >= overall_before
    assert all(a >= b for a, b in zip(units_after, units_before, strict=True))
    assert after.score >= before.score
    assert after.passed or not before.passed
