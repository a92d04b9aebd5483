"""Bounded types for every request field: what a column can hold is checked before the database.

One set, used by every ``schemas.py``: an integer fits its column (``INTEGER`` is 32-bit on
PostgreSQL, ``BIGINT`` 64-bit), a text has its column's length and holds no control character
(PostgreSQL refuses NUL with a 500 today, SQLite stores it), and a name holds no
bidirectional-override character (so it cannot read backwards on the public page or the
certificate). msgspec checks the constraints while decoding, in C; they also appear in the
OpenAPI document (``maxLength``, ``pattern``, ``minimum``/``maximum``).

A violated constraint is a 422 (``apkd.httperrors.validation_handler`` tells it from a malformed
request, which stays 400). Pure module: no database, no Litestar.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# C0 and C1 control characters, DEL. Tab, line feed and carriage return are allowed in
# multi-line texts (descriptions, reasons) only.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_CONTROLS_BUT_NEWLINES = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Bidirectional embeddings/overrides (U+202A..U+202E) and isolates (U+2066..U+2069).
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = r"\u202a-\u202e\u2066-\u2069"

# The patterns are written so that Python's `re` and ECMA-262 (JSON Schema) read them alike.
LINE_PATTERN = rf"^[^{_CONTROLS}]*$"
MULTILINE_PATTERN = rf"^[^{_CONTROLS_BUT_NEWLINES}]*$"
NAME_PATTERN = rf"^[^{_CONTROLS}{_BIDI}]*$"

Int32 = Annotated[int, Meta(ge=INT32_MIN, le=INT32_MAX)]
Int64 = Annotated[int, Meta(ge=INT64_MIN, le=INT64_MAX)]
Id = Annotated[int, Meta(ge=1, le=INT32_MAX)]

# Texts, by what they hold. A Name is shown to others (a person, an institution, a position, a
# session, a venue): one line, no control character, no bidirectional override.
Username = Annotated[str, Meta(max_length=64, pattern=LINE_PATTERN)]
Password = Annotated[str, Meta(max_length=256)]
Role = Annotated[str, Meta(max_length=16, pattern=LINE_PATTERN)]
FullName = Annotated[str, Meta(max_length=200, pattern=NAME_PATTERN)]
OrgName = Annotated[str, Meta(max_length=200, pattern=NAME_PATTERN)]
NipInput = Annotated[str, Meta(max_length=32, pattern=LINE_PATTERN)]  # 18 digits, spaces allowed
RegionCode = Annotated[str, Meta(max_length=8, pattern=LINE_PATTERN)]
SchemeCode = Annotated[str, Meta(max_length=16, pattern=LINE_PATTERN)]
Title = Annotated[str, Meta(max_length=200, pattern=NAME_PATTERN)]
Timezone = Annotated[str, Meta(max_length=64, pattern=LINE_PATTERN)]
Keyword = Annotated[str, Meta(max_length=32, pattern=LINE_PATTERN)]  # a category, an action
Reason = Annotated[str, Meta(max_length=4000, pattern=MULTILINE_PATTERN)]
Description = Annotated[str, Meta(max_length=10000, pattern=MULTILINE_PATTERN)]
PROCTORS_MAX = 100


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    """The rule of the patterns, for texts that do not go through a schema (path, query)."""
    for ch in value:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o <= 0x9F:
            if multiline and ch in "\t\n\r":
                continue
            return True
    return False


__all__ = [
    "BIDI_CONTROLS",
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "LINE_PATTERN",
    "MULTILINE_PATTERN",
    "NAME_PATTERN",
    "PROCTORS_MAX",
    "Description",
    "FullName",
    "Id",
    "Int32",
    "Int64",
    "Keyword",
    "NipInput",
    "OrgName",
    "Password",
    "Reason",
    "RegionCode",
    "Role",
    "SchemeCode",
    "Timezone",
    "Title",
    "Username",
    "has_control_characters",
]
