from __future__ import annotations

import math

import numpy as np
import pytest

from apkd.grading.analysis import (
    FLAG_LABELS,
    FLAG_LOW_DISCRIMINATION,
    FLAG_TOO_EASY,
    FLAG_TOO_HARD,
    ItemRecord,
    form_statistics,
    item_statistics,
    pearson,
)

# A hand-computed Guttman matrix: 5 candidates, 4 items, totals 4, 3, 2, 1, 0.
GUTTMAN = [
    [1, 1, 1, 1],
    [1, 1, 1, 0],
    [1, 1, 0, 0],
    [1, 0, 0, 0],
    [0, 0, 0, 0],
]


def records_from_matrix(
    matrix: list[list[int]], seen: list[list[bool]] | None = None, points: list[int] | None = None
) -> list[ItemRecord]:
    records = []
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if seen is not None and not seen[i][j]:
                continue
            pts = points[j] if points else 1
            records.append(ItemRecord(candidate=f"c{i}", item=f"q{j}", earned=value * pts, points=pts))
    return records


# ---------------------------------------------------------------- worked example


def test_form_statistics_of_the_worked_example() -> None:
    # totals 4,3,2,1,0: mean 2, population variance (4+1+0+1+4)/5 = 2;
    # p = .8,.6,.4,.2 so sum(pq) = .16+.24+.24+.16 = .8;
    # KR-20 = 4/3 * (1 - .8/2) = 0.8;  SEM = sqrt(2) * sqrt(1 - .8) = sqrt(.4).
    stats = form_statistics(GUTTMAN)
    assert (stats.n, stats.k) == (5, 4)
    assert stats.mean == 2.0
    assert stats.sd == pytest.approx(math.sqrt(2), abs=1e-12)
    assert stats.kr20 == pytest.approx(0.8, abs=1e-12)
    assert stats.sem == pytest.approx(math.sqrt(0.4), abs=1e-12)


def test_item_statistics_of_the_worked_example() -> None:
    # Item 1: x = 1,1,1,1,0; rest = 3,2,1,0,0. Deviations give sxy = 1.2, sxx = .8,
    # syy = 6.8, so r = 1.2 / sqrt(5.44) = 3 / sqrt(34). Item 4 mirrors item 1.
    # Item 2: x = 1,1,1,0,0; rest = 3,2,1,1,0: sxy = 1.8, sxx = 1.2, syy = 5.2,
    # r = 1.8 / sqrt(6.24) = 4.5 / sqrt(39). Item 3 mirrors item 2.
    stats = item_statistics(records_from_matrix(GUTTMAN))
    assert [s.key for s in stats] == ["q0", "q1", "q2", "q3"]
    assert [s.n for s in stats] == [5, 5, 5, 5]
    assert [s.p for s in stats] == [0.8, 0.6, 0.4, 0.2]
    expected = [3 / math.sqrt(34), 4.5 / math.sqrt(39), 4.5 / math.sqrt(39), 3 / math.sqrt(34)]
    assert [s.point_biserial for s in stats] == pytest.approx(expected, abs=1e-12)
    # p = 0.20 exactly is on the boundary: not "too hard"
    assert [s.flags for s in stats] == [(), (), (), ()]


# ---------------------------------------------------------------- flags


def test_flags_for_too_hard_too_easy_and_miskeyed_items() -> None:
    # 21 candidates with abilities 0..20 on 20 ordinary items (candidate i gets the first i
    # right), plus: an item nobody gets right, one everybody gets right, and one only the
    # weakest get right (what a wrong key looks like).
    n, k = 21, 20
    matrix = [[1 if j < i else 0 for j in range(k)] for i in range(n)]
    for i, row in enumerate(matrix):
        row.append(0)  # hard
        row.append(1)  # easy
        row.append(1 if i < 5 else 0)  # miskeyed
    stats = {s.key: s for s in item_statistics(records_from_matrix(matrix))}
    hard, easy, miskeyed = stats["q20"], stats["q21"], stats["q22"]

    assert hard.p == 0.0 and hard.point_biserial is None  # no variance: None, not NaN
    assert hard.flags == (FLAG_TOO_HARD,)
    assert easy.p == 1.0 and easy.point_biserial is None
    assert easy.flags == (FLAG_TOO_EASY,)
    assert miskeyed.point_biserial is not None and miskeyed.point_biserial < 0
    assert FLAG_LOW_DISCRIMINATION in miskeyed.flags
    assert stats["q10"].flags == ()
    assert set(FLAG_LABELS) == {FLAG_TOO_HARD, FLAG_TOO_EASY, FLAG_LOW_DISCRIMINATION}


def test_p_boundaries_are_strict() -> None:
    def p_flags(right: int, n: int) -> tuple[str, ...]:
        records = [ItemRecord(f"c{i}", "q", 1 if i < right else 0) for i in range(n)]
        return item_statistics(records)[0].flags

    assert p_flags(19, 20) == ()  # p = 0.95 exactly
    assert p_flags(20, 21) == (FLAG_TOO_EASY,)  # 0.952
    assert p_flags(1, 5) == ()  # p = 0.20 exactly
    assert p_flags(1, 6) == (FLAG_TOO_HARD,)  # 0.167


# ---------------------------------------------------------------- option counts


def test_option_counts_and_omissions() -> None:
    records = [
        ItemRecord("c1", "s", 1, choice="b"),
        ItemRecord("c2", "s", 0, choice="a"),
        ItemRecord("c3", "s", 1, choice="b"),
        ItemRecord("c4", "s", 0, choice=None),
        ItemRecord("c1", "m", 1, choice=["a", "c"]),
        ItemRecord("c2", "m", 0, choice=["a"]),
        ItemRecord("c3", "m", 0, choice=[]),
        ItemRecord("c1", "n", 1, choice=1500000),
        ItemRecord("c2", "n", 0, choice=None),
    ]
    options = {"s": ["a", "b", "c", "d"], "m": ["a", "b", "c"], "unseen": ["a", "b"]}
    stats = {s.key: s for s in item_statistics(records, options)}
    assert stats["s"].option_counts == {"a": 1, "b": 2, "c": 0, "d": 0}
    assert stats["s"].omitted == 1
    assert stats["s"].n == 4 and stats["s"].p == 0.5
    assert stats["m"].option_counts == {"a": 2, "b": 0, "c": 1}
    assert stats["m"].omitted == 1
    assert stats["n"].option_counts == {} and stats["n"].omitted == 1
    unseen = stats["unseen"]
    assert (unseen.n, unseen.p, unseen.point_biserial, unseen.flags) == (0, None, None, ())
    assert unseen.option_counts == {"a": 0, "b": 0}
    assert list(stats) == ["s", "m", "n", "unseen"]


def test_repeated_or_impossible_records_are_refused() -> None:
    with pytest.raises(ValueError):
        item_statistics([ItemRecord("c1", "q", 1), ItemRecord("c1", "q", 0)])
    with pytest.raises(ValueError):
        item_statistics([ItemRecord("c1", "q", 2, points=1)])
    with pytest.raises(ValueError):
        item_statistics([ItemRecord("c1", "q", 0, points=0)])


# ---------------------------------------------------------------- against numpy


def random_matrix(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """0/1 responses with a latent ability, so items correlate as in a real exam."""
    ability = rng.normal(size=(n, 1))
    difficulty = rng.normal(size=(1, k))
    prob = 1 / (1 + np.exp(-(ability - difficulty) * 1.5))
    return (rng.random((n, k)) < prob).astype(int)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_full_matrix_agrees_with_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = random_matrix(rng, 200, 30)
    stats = item_statistics(records_from_matrix(m.tolist()))
    totals = m.sum(axis=1)
    for j, s in enumerate(stats):
        assert s.key == f"q{j}"
        assert s.n == 200
        assert s.p == pytest.approx(m[:, j].mean(), abs=1e-12)
        expected = np.corrcoef(m[:, j], totals - m[:, j])[0, 1]
        assert s.point_biserial == pytest.approx(expected, abs=1e-9)

    form = form_statistics(m.tolist())
    p = m.mean(axis=0)
    var_total = totals.var()  # population (ddof=0)
    kr20 = 30 / 29 * (1 - (p * (1 - p)).sum() / var_total)
    assert (form.n, form.k) == (200, 30)
    assert form.mean == pytest.approx(totals.mean(), abs=1e-12)
    assert form.sd == pytest.approx(totals.std(ddof=0), abs=1e-12)
    assert form.kr20 == pytest.approx(kr20, abs=1e-12)
    assert form.sem == pytest.approx(totals.std(ddof=0) * math.sqrt(1 - kr20), abs=1e-12)


@pytest.mark.parametrize("seed", [4, 5])
def test_random_forms_use_only_the_candidates_who_saw_the_item(seed: int) -> None:
    # Each candidate sees a random subset of 40 items; items carry 1-3 points. The rest
    # score is the proportion of the candidate's other points earned.
    rng = np.random.default_rng(seed)
    n, k = 300, 40
    m = random_matrix(rng, n, k)
    seen = rng.random((n, k)) < 0.4
    seen[:, 0] = True  # item 0 is on every form; some candidates see nothing else
    points = rng.integers(1, 4, size=k)
    stats = item_statistics(records_from_matrix(m.tolist(), seen.tolist(), points.tolist()))
    earned = m * points * seen
    possible = points * seen
    for s in stats:
        j = int(s.key[1:])
        rows = seen[:, j]
        rest_possible = possible[rows].sum(axis=1) - points[j]
        keep = rest_possible > 0
        x = m[rows, j][keep]
        rest = (earned[rows].sum(axis=1) - earned[rows, j])[keep] / rest_possible[keep]
        assert s.n == rows.sum()
        assert s.p == pytest.approx(m[rows, j].mean(), abs=1e-12)
        assert s.point_biserial == pytest.approx(np.corrcoef(x, rest)[0, 1], abs=1e-9)


# ---------------------------------------------------------------- undefined cases


def test_undefined_reliability_is_none() -> None:
    one_item = form_statistics([[1], [0], [1]])
    assert (one_item.kr20, one_item.sem) == (None, None)
    assert one_item.mean == pytest.approx(2 / 3)
    assert one_item.sd == pytest.approx(math.sqrt(2 / 9))
    same_totals = form_statistics([[1, 0], [0, 1], [1, 0]])
    assert (same_totals.sd, same_totals.kr20, same_totals.sem) == (0.0, None, None)
    one_candidate = form_statistics([[1, 0, 1]])
    assert (one_candidate.mean, one_candidate.kr20, one_candidate.sem) == (2.0, None, None)


def test_form_statistics_refuses_bad_matrices() -> None:
    with pytest.raises(ValueError):
        form_statistics([])
    with pytest.raises(ValueError):
        form_statistics([[1, 0], [1]])
    with pytest.raises(ValueError):
        form_statistics([[1, 0.5], [1, 0]])


def test_pearson_is_none_not_nan_when_undefined() -> None:
    assert pearson([1, 1, 1], [1, 2, 3]) is None
    assert pearson([1, 2, 3], [0.5, 0.5, 0.5]) is None
    assert pearson([1], [1]) is None
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
