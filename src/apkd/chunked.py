"""``column IN (...)`` over many values, the one way apkd does it.

PostgreSQL takes the whole list as ONE array parameter (``column = ANY(:values)``: one
statement, one plan, however many values). Other databases get the values in chunks of
:data:`CHUNK` (SQLite caps the bound parameters of a statement), one statement per chunk.
Pure SQL building: no session, no domain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ARRAY, Integer, any_, bindparam

__all__ = ["CHUNK", "chunks", "in_values", "parts"]

T = TypeVar("T")

CHUNK = 2000


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size``."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def parts(values: Sequence[T], postgres: bool) -> Iterable[Sequence[T]]:
    """The groups to query ``values`` in: all at once on PostgreSQL, chunks elsewhere."""
    return [values] if postgres else chunks(values)


def in_values(column: Any, values: Sequence[int], postgres: bool) -> Any:
    """``column IN values`` for integer ids: ``= ANY(:array)`` on PostgreSQL (one parameter)."""
    if postgres:
        return column == any_(bindparam(None, list(values), type_=ARRAY(Integer)))
    return column.in_(values)
