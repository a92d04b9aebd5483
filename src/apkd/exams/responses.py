"""Validation and normalisation of a candidate's response to one item. Pure module.

Normalised forms (what is stored and what scoring compares):
  single   -> the option id (str)
  multiple -> a sorted list of distinct option ids; an empty list clears the answer (None)
  numeric  -> int or float; a JSON number as it is; text as Indonesians write numbers
              (:mod:`apkd.exams.numbers`: "75.000" is 75000, "2,5" is 2.5, "Rp 1.500.000"),
              to int without a decimal comma, to float with one; an empty string clears (None)
  None     -> None for every type (clears the answer)
Anything else raises ``ResponseError`` with an Indonesian message fit for the candidate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from apkd.exams.numbers import NumberError, parse_id

__all__ = ["MAX_NUMERIC_ABS", "Response", "ResponseError", "validate_response"]

Response = str | list[str] | int | float | None

MAX_NUMERIC_ABS = 1e15  # |x| must be strictly below this


class ResponseError(ValueError):
    """The response does not fit the item (message in Indonesian, shown to the candidate)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate_response(item_type: str, option_ids: Sequence[str], response: object) -> Response:
    """Return the normalised ``response`` for an item of ``item_type`` or raise ResponseError.

    ``option_ids`` are the item's option ids (ignored for numeric items). An unknown
    ``item_type`` is a programming error and raises a plain ValueError.
    """
    if item_type == "single":
        return _single(option_ids, response)
    if item_type == "multiple":
        return _multiple(option_ids, response)
    if item_type == "numeric":
        return _numeric(response)
    raise ValueError(f"unknown item type: {item_type!r}")


def _single(option_ids: Sequence[str], response: object) -> str | None:
    if response is None:
        return None
    if not isinstance(response, str):
        raise ResponseError("Jawaban soal ini harus berupa satu pilihan.")
    if response not in option_ids:
        raise ResponseError(f"Pilihan '{response}' tidak ada pada soal ini.")
    return response


def _multiple(option_ids: Sequence[str], response: object) -> list[str] | None:
    if response is None:
        return None
    if not isinstance(response, list | tuple):
        raise ResponseError("Jawaban soal ini harus berupa daftar pilihan.")
    if not response:
        return None
    chosen: list[str] = []
    for value in response:
        if not isinstance(value, str):
            raise ResponseError("Setiap pilihan jawaban harus berupa kode pilihan.")
        if value not in option_ids:
            raise ResponseError(f"Pilihan '{value}' tidak ada pada soal ini.")
        if value in chosen:
            raise ResponseError(f"Pilihan '{value}' disebut lebih dari sekali.")
        chosen.append(value)
    return sorted(chosen)


def _numeric(response: object) -> int | float | None:
    if response is None:
        return None
    value: int | float
    if isinstance(response, bool):
        raise ResponseError("Jawaban soal ini harus berupa angka.")
    if isinstance(response, int | float):
        value = response
    elif isinstance(response, str):
        try:
            parsed = parse_id(response)
        except NumberError as exc:
            raise ResponseError(exc.message) from exc
        if parsed is None:
            return None
        value = parsed
    else:
        raise ResponseError("Jawaban soal ini harus berupa angka.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ResponseError("Jawaban soal ini harus berupa angka yang terhingga.")
    if abs(value) >= MAX_NUMERIC_ABS:
        raise ResponseError("Angka jawaban terlalu besar.")
    return value
