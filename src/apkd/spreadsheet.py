"""Tables for spreadsheets: CSV that Indonesian-locale Excel opens correctly, and .xlsx. Pure module.

Indonesian-locale Excel lists with ``;`` and writes decimals with ``,``; a plain comma CSV opens
there as one column, and an 18-digit NIP typed as a number loses its last digits (1,99E+17).
So three shapes of one table:
- ``csv_bytes(..., excel_id=False)``: comma separated, dot decimals (for scripts and any reader);
- ``csv_bytes(..., excel_id=True)``: the semicolon variant with decimal commas, for Excel set to
  Indonesian; text columns (NIP) written as ``="..."`` so Excel keeps them as text;
- ``xlsx_bytes``: an .xlsx workbook (XlsxWriter) with text columns stored as text and numbers
  as numbers; opens the same in every locale.
All CSV is UTF-8 with a byte order mark and CRLF line ends. Text cells a spreadsheet would run
as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) are prefixed with an apostrophe (OWASP).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import xlsxwriter

__all__ = [
    "BOM",
    "CSV_MEDIA_TYPE",
    "XLSX_MEDIA_TYPE",
    "csv_bytes",
    "format_number",
    "safe_text",
    "xlsx_bytes",
]

BOM = "\ufeff"
# Litestar appends "; charset=utf-8" to every text/* media type itself (a second one would be wrong).
CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Text(str):
    """A cell that must stay text in a spreadsheet even when it is all digits (a NIP)."""

    __slots__ = ()


def safe_text(value: str | None) -> str:
    """A text cell that a spreadsheet will not evaluate."""
    text = value or ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def format_number(value: float | int | None, digits: int = 2, *, decimal: str = ".") -> str:
    """A number as a CSV cell: integers without decimals, others with up to ``digits``."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits}f}".rstrip("0").rstrip(".").replace(".", decimal)


def _csv_cell(value: Any, excel_id: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, Text):
        text = safe_text(str(value))
        return f'="{text}"' if excel_id and text and text.isdigit() else text
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, int | float):
        return format_number(value, decimal="," if excel_id else ".")
    return safe_text(str(value))


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], *, excel_id: bool = False) -> bytes:
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n", delimiter=";" if excel_id else ",")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(v, excel_id) for v in row])
    return buf.getvalue().encode("utf-8")


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Data") -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False}
    )
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    text = book.add_format({"num_format": "@"})
    widths = [len(h) for h in header]
    for c, h in enumerate(header):
        ws.write_string(0, c, h, bold)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, Text):
                ws.write_string(r, c, str(value), text)
            elif isinstance(value, bool):
                ws.write_string(r, c, "ya" if value else "tidak")
            elif isinstance(value, int | float):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, str(value))
            widths[c] = max(widths[c], len(str(value)))
    for c, w in enumerate(widths):
        ws.set_column(c, c, min(60, w + 2))
    ws.freeze_panes(1, 0)
    book.close()
    return out.getvalue()
