from __future__ import annotations

from datetime import date

import pytest

from apkd.accounts.nip import NipError, NipInfo, validate_nip

TODAY = date(2026, 3, 15)


def check(text: str) -> NipInfo:
    return validate_nip(text, today=TODAY)


def fail(text: str) -> NipError:
    with pytest.raises(NipError) as exc:
        check(text)
    return exc.value


def test_good_nip_is_parsed_into_its_parts():
    info = check("198503122010011003")
    assert info == NipInfo(
        nip="198503122010011003", birth_date=date(1985, 3, 12), tmt=(2010, 1), gender="L", sequence=3
    )


@pytest.mark.parametrize("text", ["19801230 201001 2 005", " 19801230  201001\t2 005 ", "198012302010012005"])
def test_spaces_are_allowed_and_removed(text):
    info = check(text)
    assert info.nip == "198012302010012005"
    assert info.gender == "P"
    assert info.sequence == 5
    assert info.birth_date == date(1980, 12, 30)


def test_sequence_999_and_leap_day_birth():
    info = check("199202292015032999")
    assert info.birth_date == date(1992, 2, 29)
    assert info.tmt == (2015, 3)
    assert info.sequence == 999


def test_tmt_in_the_current_month_is_accepted():
    assert check("199001012026031001").tmt == (2026, 3)


def test_tmt_in_the_month_of_the_18th_birthday_is_accepted():
    assert check("199005152008051001").tmt == (2008, 5)


def test_default_today_is_the_real_date():
    assert validate_nip("19850312 201001 1 003").gender == "L"
    with pytest.raises(NipError) as exc:
        validate_nip(f"19850312 {date.today().year + 1}01 1 003")
    assert exc.value.part == "tmt"


@pytest.mark.parametrize(
    "text",
    [
        "19850312201001100",  # 17 digits
        "1985031220100110031",  # 19 digits
        "19850312-201001-1-003",
        "19850312.201001.1.003",
        "1985031220100110O3",  # letter O
        "１９８５０３１２２０１００１１００３",  # full-width digits
        "",
    ],
)
def test_format_errors(text):
    err = fail(text)
    assert err.part == "format"
    assert "NIP harus 18 digit angka" in err.message


def test_format_error_says_how_many_characters_were_given():
    assert "tertulis 17 karakter" in fail("19850312201001100").message


def test_non_string_is_a_format_error():
    with pytest.raises(NipError) as exc:
        validate_nip(198503122010011003, today=TODAY)  # type: ignore[arg-type]
    assert exc.value.part == "format"


@pytest.mark.parametrize(
    "birth",
    [
        "19851332",  # day 32
        "19851301",  # month 13
        "19850001",  # month 00
        "19850200",  # day 00
        "19930229",  # not a leap year
        "19850431",  # April has 30 days
    ],
)
def test_birth_date_must_be_a_real_date(birth):
    err = fail(f"{birth}2015011003")
    assert err.part == "birth_date"
    assert err.message.startswith(f"Tanggal lahir pada NIP tidak valid: {birth}")


def test_birth_year_before_1940_is_refused():
    err = fail("193912311960011001")
    assert err.part == "birth_date"
    assert "1940" in err.message
    assert check("194001011960011001").birth_date == date(1940, 1, 1)


def test_birth_date_in_the_future_is_refused():
    err = fail("202603162026031001")
    assert err.part == "birth_date"


@pytest.mark.parametrize("tmt", ["201000", "201013", "201099"])
def test_tmt_month_must_be_real(tmt):
    err = fail(f"19850312{tmt}1003")
    assert err.part == "tmt"
    assert f"TMT CPNS pada NIP tidak valid: {tmt}" in err.message


def test_tmt_in_the_future_is_refused():
    err = fail("199001012026041001")
    assert err.part == "tmt"
    assert "belum terjadi" in err.message


def test_tmt_must_be_after_the_birth_date():
    err = fail("198503121980011003")
    assert err.part == "tmt"
    assert "TMT CPNS pada NIP harus setelah tanggal lahir" in err.message
    assert fail("198503121985031003").part == "tmt"  # same month as birth


def test_tmt_before_age_18_is_refused():
    err = fail("199005152008041001")  # 17 years 11 months
    assert err.part == "tmt"
    assert "di bawah 18 tahun" in err.message
    assert fail("199005152000011001").part == "tmt"


@pytest.mark.parametrize("digit", ["0", "3", "9"])
def test_gender_digit_must_be_1_or_2(digit):
    err = fail(f"19850312201001{digit}003")
    assert err.part == "gender"
    assert "jenis kelamin" in err.message and digit in err.message


def test_sequence_000_is_refused():
    err = fail("198503122010011000")
    assert err.part == "sequence"
    assert "001 sampai 999" in err.message


def test_nip_error_is_a_value_error_with_the_message():
    err = fail("19851332 201001 1 003")
    assert isinstance(err, ValueError)
    assert str(err) == err.message
