"""Indonesian formatting of dates and times, as printed on certificates and pages.

Indonesian writes the day first and the month in full ("12 Maret 2027"), and separates
hours from minutes with a dot ("14.05"). Times carry the Indonesian zone abbreviation
(WIB, WITA, WIT) when the zone is one of Indonesia's, otherwise the UTC offset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "MONTHS_ID",
    "format_date_id",
    "format_datetime_id",
    "format_place_date_id",
    "iso_utc",
    "zone_label",
]

MONTHS_ID: tuple[str, ...] = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)

# IANA zone -> Indonesian abbreviation. Asia/Pontianak is UTC+7 (WIB) since 1988.
_ZONE_ABBREVIATIONS: dict[str, str] = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Ujung_Pandang": "WITA",
    "Asia/Jayapura": "WIT",
}


def iso_utc(dt: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC to the second, "2027-03-12T06:05:00Z" (sub-seconds
    dropped): the form of every time in credentials, status lists and log events.

    Raises ValueError on a naive datetime (its instant is unknown).
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware (the server owns time, in UTC)")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_date_id(d: date) -> str:
    """`date(2027, 3, 12)` -> "12 Maret 2027". A datetime is formatted by its own date fields."""
    return f"{d.day} {MONTHS_ID[d.month - 1]} {d.year}"


def format_place_date_id(place: str, d: date) -> str:
    """("Kalabahi", date(2027, 3, 12)) -> "Kalabahi, 12 Maret 2027" (the line above a signature)."""
    place = place.strip()
    return f"{place}, {format_date_id(d)}" if place else format_date_id(d)


def _offset_label(offset: timedelta | None) -> str:
    """UTC offset as "UTC", "UTC+07.00" or "UTC-03.30" (dot, as in Indonesian times)."""
    if offset is None or offset == timedelta(0):
        return "UTC"
    total_minutes = int(offset.total_seconds() // 60)
    sign = "+" if total_minutes >= 0 else "-"
    hours, minutes = divmod(abs(total_minutes), 60)
    return f"UTC{sign}{hours:02d}.{minutes:02d}"


def zone_label(tz: str, local: datetime) -> str:
    """The label printed after a time in zone `tz`: WIB/WITA/WIT, or the UTC offset."""
    return _ZONE_ABBREVIATIONS.get(tz) or _offset_label(local.utcoffset())


def format_datetime_id(dt: datetime, tz: str = "Asia/Makassar") -> str:
    """An aware datetime in zone `tz` -> "12 Maret 2027 14.05 WITA".

    Raises ValueError on a naive datetime (its instant is unknown) and on an unknown zone.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_datetime_id needs an aware datetime (tzinfo set)")
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone: {tz!r}") from exc
    local = dt.astimezone(zone)
    return f"{format_date_id(local)} {local.hour:02d}.{local.minute:02d} {zone_label(tz, local)}"
