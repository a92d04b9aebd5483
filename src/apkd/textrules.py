"""Rules for the short free text people type into the record: reasons and notes.

One rule for every reason field (proctor actions, key corrections, credential status changes):
surrounding whitespace goes and every inner run of whitespace (newlines, tabs, repeated
spaces) becomes one space, so what is stored, audited and printed in the minutes is one clean
line; a reason is required and at most ``MAX_REASON`` characters (after cleaning). Pure: no
database, so any package may import it.
"""

from __future__ import annotations

from apkd.errors import Unprocessable

__all__ = ["MAX_REASON", "clean_reason", "one_line", "optional_note"]

MAX_REASON = 2000


def one_line(value: str | None) -> str:
    """``"  Listrik\\n padam  "`` -> ``"Listrik padam"``: stripped, inner whitespace collapsed."""
    return " ".join((value or "").split())


def clean_reason(value: str | None, *, label: str = "Alasan", max_length: int = MAX_REASON) -> str:
    """The reason as stored, or 422 ``reason_required`` / ``reason_too_long``. ``label`` names
    the field in the message ("Alasan koreksi wajib diisi.")."""
    text = one_line(value)
    if not text:
        raise Unprocessable(f"{label} wajib diisi.", code="reason_required")
    if len(text) > max_length:
        raise Unprocessable(f"{label} paling panjang {max_length} karakter.", code="reason_too_long")
    return text


def optional_note(
    value: str | None, *, default: str, label: str = "Catatan", max_length: int = MAX_REASON
) -> str:
    """Like :func:`clean_reason` for a field that may be left empty: empty gives ``default``."""
    if not one_line(value):
        return default
    return clean_reason(value, label=label, max_length=max_length)
