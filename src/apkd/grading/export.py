"""CSV exports of results and item analysis. Pure module (no database).

Excel-friendly: UTF-8 with a byte order mark (so that Excel reads names like "Ni Luh Putu
Ayu Wiraningsih" or "Maria Goreti Lány" correctly instead of as Latin-1), CRLF line ends, a
comma as separator and a dot as the decimal mark (what every CSV reader accepts). Text
cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return) are prefixed with an apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["BOM", "CSV_MEDIA_TYPE", "csv_bytes", "format_number", "safe_text"]

BOM = "\ufeff"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str | None) -> str:
    """A text cell that a spreadsheet will not evaluate."""
    text = value or ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def format_number(value: float | int | None, digits: int = 2) -> str:
    """A number as a CSV cell: integers without decimals, others with up to ``digits``."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return buf.getvalue().encode("utf-8")
