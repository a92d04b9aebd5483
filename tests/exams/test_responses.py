from __future__ import annotations

import math

import pytest

from apkd.exams.responses import ResponseError, validate_response

OPTS = ("a", "b", "c", "d")


@pytest.mark.parametrize("item_type", ["single", "multiple", "numeric"])
def test_none_clears_for_every_type(item_type):
    assert validate_response(item_type, OPTS, None) is None


# single


def test_single_accepts_an_option_id():
    assert validate_response("single", OPTS, "c") == "c"


def test_single_rejects_an_unknown_option_with_its_id():
    with pytest.raises(ResponseError) as exc:
        validate_response("single", OPTS, "e")
    assert "'e'" in exc.value.message and "tidak ada" in exc.value.message


@pytest.mark.parametrize("response", [["a"], 1, True, {"id": "a"}, ""])
def test_single_rejects_what_is_not_one_option(response):
    with pytest.raises(ResponseError):
        validate_response("single", OPTS, response)


# multiple


def test_multiple_returns_sorted_distinct_ids():
    assert validate_response("multiple", OPTS, ["d", "a", "c"]) == ["a", "c", "d"]
    assert validate_response("multiple", OPTS, ["b"]) == ["b"]


def test_multiple_accepts_a_tuple():
    assert validate_response("multiple", OPTS, ("b", "a")) == ["a", "b"]


def test_multiple_empty_list_clears():
    assert validate_response("multiple", OPTS, []) is None


def test_multiple_rejects_duplicates():
    with pytest.raises(ResponseError, match="lebih dari sekali"):
        validate_response("multiple", OPTS, ["a", "a"])


def test_multiple_rejects_unknown_option():
    with pytest.raises(ResponseError, match="'z' tidak ada"):
        validate_response("multiple", OPTS, ["a", "z"])


@pytest.mark.parametrize("response", ["a", "ab", 3, {"a": True}, ["a", 1], [None]])
def test_multiple_rejects_what_is_not_a_list_of_ids(response):
    with pytest.raises(ResponseError):
        validate_response("multiple", OPTS, response)


# numeric


@pytest.mark.parametrize("value", [0, 1500000, -250, 1.5, -0.25, 999_999_999_999_999])
def test_numeric_accepts_numbers_unchanged(value):
    out = validate_response("numeric", (), value)
    assert out == value and type(out) is type(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1500000", 1500000),
        (" 1500000 ", 1500000),
        ("-42", -42),
        ("+7", 7),
        ("1,5", 1.5),
        ("-0,75", -0.75),
        ("75.000", 75000),
        ("Rp 1.500.000", 1500000),
        ("1.500.000,00", 1500000.0),
    ],
)
def test_numeric_parses_numeric_strings(text, expected):
    out = validate_response("numeric", (), text)
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize("text", ["", "   "])
def test_numeric_empty_string_clears(text):
    assert validate_response("numeric", (), text) is None


@pytest.mark.parametrize("text", ["1.5", "2.", "1500000.00", "1.50.000"])
def test_numeric_explains_separators(text):
    with pytest.raises(ResponseError, match="titik dipakai sebagai pemisah ribuan"):
        validate_response("numeric", (), text)


@pytest.mark.parametrize(
    "text", ["abc", "1e5", "Rp", "1,500", "1_000", "٣", "0x10", "nan", "inf", "--1", "."]
)
def test_numeric_rejects_non_numeric_strings(text):
    with pytest.raises(ResponseError):
        validate_response("numeric", (), text)


@pytest.mark.parametrize("value", [True, False, [1], {"v": 1}, b"1"])
def test_numeric_rejects_non_numbers(value):
    with pytest.raises(ResponseError, match="harus berupa angka"):
        validate_response("numeric", (), value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_numeric_rejects_non_finite(value):
    with pytest.raises(ResponseError):
        validate_response("numeric", (), value)


@pytest.mark.parametrize("value", [10**15, -(10**15), 1e15, 1e300, "1000000000000000", "9" * 5000])
def test_numeric_rejects_too_large(value):
    with pytest.raises(ResponseError, match="terlalu besar"):
        validate_response("numeric", (), value)


def test_response_error_is_a_value_error_with_message():
    with pytest.raises(ValueError) as exc:
        validate_response("single", OPTS, "x")
    assert isinstance(exc.value, ResponseError)
    assert str(exc.value) == exc.value.message


def test_unknown_item_type_is_a_programming_error_not_a_response_error():
    with pytest.raises(ValueError) as exc:
        validate_response("essay", OPTS, "a")
    assert not isinstance(exc.value, ResponseError)
