"""Exports of results and item analysis: the table shapes of :mod:`apkd.spreadsheet` (UTF-8 with a
byte order mark; a comma CSV for scripts, a semicolon CSV with decimal commas for Indonesian-locale
Excel, and .xlsx), with NIPs kept as text and formula-like text defused. Pure module."""

from __future__ import annotations

from apkd.spreadsheet import (
    BOM,
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    Text,
    csv_bytes,
    format_number,
    safe_text,
    xlsx_bytes,
)

__all__ = [
    "BOM",
    "CSV_MEDIA_TYPE",
    "XLSX_MEDIA_TYPE",
    "Text",
    "csv_bytes",
    "format_number",
    "safe_text",
    "xlsx_bytes",
]
