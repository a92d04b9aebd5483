"""Numbers as Indonesians write them: the one reading rule for typed numeric answers. Pure module.

In Indonesian the dot groups thousands and the comma is the decimal separator: ``75.000`` is
seventy-five thousand, ``75,5`` is seventy-five and a half. A candidate types an answer the way
they write it on paper, so the server reads text that way, and the exam page
(``src/apkd/web/static/js/numbers.js``) applies the very same rule before sending, to show the
candidate how the answer was read (``tests/exams/test_numbers.py`` runs both on one table).

Accepted: an optional sign, an optional ``Rp``/``Rp.`` prefix, digits grouped by dots in threes
(``1.500.000``) or not grouped at all (``1500000``), and an optional decimal comma (``75,5``,
``1.500.000,25``). Refused, with a message that says what to type instead:
- a dot that does not group thousands (``2.5``, ``1.50.000``): in Indonesian it cannot be read;
- a comma followed by exactly three digits with no dot grouping (``1,500``): it reads as 1,5 to
  an Indonesian and as 1500 to someone used to English notation, so the candidate must choose;
- two commas, a dot after the comma, letters, exponents, and anything else.
"""

from __future__ import annotations

import re

__all__ = ["NumberError", "format_id", "parse_id"]

_PREFIX = re.compile(r"^rp\.?\s*", re.IGNORECASE)
_GROUPED = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+")
_PLAIN = re.compile(r"[0-9]+")
_FRACTION = re.compile(r"[0-9]+")
_MAX_TEXT = 40

EXAMPLES = "misalnya 75.000 (tujuh puluh lima ribu) atau 2,5 (dua koma lima)"


class NumberError(ValueError):
    """The text is not a number the Indonesian way (message in Indonesian, for the candidate)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_id(text: str) -> int | float | None:
    """The number ``text`` means when written the Indonesian way; ``None`` for blank text.

    An integer when there is no decimal comma, a float otherwise. Raises :class:`NumberError`.
    """
    raw = text.strip().replace("\u00a0", " ")
    if not raw:
        return None
    if len(raw) > _MAX_TEXT:
        raise NumberError("Angka jawaban terlalu besar.")
    sign = 1
    body = raw
    if body[:1] in "+-\u2212":
        sign = -1 if body[0] != "+" else 1
        body = body[1:].lstrip()
    body = _PREFIX.sub("", body, count=1)
    if body[:1] in "+-\u2212" and sign == 1 and body[:1] != "+":
        sign, body = -1, body[1:].lstrip()  # "Rp -5.000"
    whole, comma, fraction = body.partition(",")
    if comma and not _FRACTION.fullmatch(fraction):
        if "," in fraction or "." in fraction:
            raise NumberError(
                f"'{raw}' tidak dapat dibaca: koma hanya sekali, sebagai pemisah desimal, dan titik "
                f"sebagai pemisah ribuan; {EXAMPLES}."
            )
        raise NumberError(f"'{raw}' bukan angka yang sah; {EXAMPLES}.")
    if _GROUPED.fullmatch(whole):
        digits = whole.replace(".", "")
    elif _PLAIN.fullmatch(whole):
        digits = whole
        if comma and len(fraction) == 3:
            raise NumberError(
                f"'{raw}' meragukan: bisa berarti {whole},{fraction} atau {whole}.{fraction}. "
                f"Tulis {format_id(float(whole + '.' + fraction))} bila maksud Anda desimal, "
                f"atau {format_id(int(whole + fraction))} bila maksud Anda ribuan."
            )
    elif "." in whole and re.fullmatch(r"[0-9.]+", whole):
        raise NumberError(
            f"'{raw}' tidak dapat dibaca: titik dipakai sebagai pemisah ribuan (75.000) dan koma "
            f"sebagai pemisah desimal (2,5). Tulis desimal dengan koma, {EXAMPLES}."
        )
    else:
        raise NumberError(f"'{raw}' bukan angka yang sah; {EXAMPLES}.")
    if comma:
        return sign * float(f"{digits}.{fraction}") + 0.0  # never -0.0
    return sign * int(digits)


def format_id(value: int | float) -> str:
    """``75000`` -> ``"75.000"``, ``-2.5`` -> ``"-2,5"``, ``1500000.25`` -> ``"1.500.000,25"``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = str(int(value))
    else:
        text = repr(value) if isinstance(value, float) else str(value)
    if "e" in text or "E" in text:
        text = f"{value:.10f}".rstrip("0").rstrip(".")
    sign = ""
    if text.startswith("-"):
        sign, text = "-", text[1:]
    whole, _, fraction = text.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    out = sign + ".".join(groups)
    return f"{out},{fraction}" if fraction else out
