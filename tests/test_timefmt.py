from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from apkd.timefmt import format_date_id, format_datetime_id, format_place_date_id


def test_date_in_indonesian() -> None:
    assert format_date_id(date(2027, 3, 12)) == "12 Maret 2027"
    assert format_date_id(date(2030, 1, 5)) == "5 Januari 2030"  # no leading zero on the day


def test_every_month_name() -> None:
    names = [format_date_id(date(2027, m, 1)).split(" ")[1] for m in range(1, 13)]
    assert names == [
        "Januari", "Februari", "Maret", "April", "Mei", "Juni",
        "Juli", "Agustus", "September", "Oktober", "November", "Desember",
    ]  # fmt: skip


def test_place_and_date_line() -> None:
    assert format_place_date_id("Kalabahi", date(2027, 3, 12)) == "Kalabahi, 12 Maret 2027"
    assert format_place_date_id("  ", date(2027, 3, 12)) == "12 Maret 2027"


INSTANT = datetime(2027, 3, 12, 6, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("Asia/Makassar", "12 Maret 2027 14.05 WITA"),
        ("Asia/Jakarta", "12 Maret 2027 13.05 WIB"),
        ("Asia/Pontianak", "12 Maret 2027 13.05 WIB"),
        ("Asia/Jayapura", "12 Maret 2027 15.05 WIT"),
        ("Asia/Kolkata", "12 Maret 2027 11.35 UTC+05.30"),
        ("America/Sao_Paulo", "12 Maret 2027 03.05 UTC-03.00"),
        ("UTC", "12 Maret 2027 06.05 UTC"),
    ],
)
def test_datetime_in_zone(tz: str, expected: str) -> None:
    assert format_datetime_id(INSTANT, tz) == expected


def test_default_zone_is_wita() -> None:
    assert format_datetime_id(INSTANT) == "12 Maret 2027 14.05 WITA"


def test_converts_from_any_offset_and_crosses_midnight() -> None:
    wib_evening = datetime(2027, 3, 12, 23, 30, tzinfo=timezone(timedelta(hours=7)))
    assert format_datetime_id(wib_evening, "Asia/Jayapura") == "13 Maret 2027 01.30 WIT"
    assert format_datetime_id(wib_evening, "Asia/Jakarta") == "12 Maret 2027 23.30 WIB"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_datetime_id(datetime(2027, 3, 12, 14, 5))


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        format_datetime_id(INSTANT, "Asia/Atlantis")
