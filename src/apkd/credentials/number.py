"""Credential numbers: ``APKD-<scheme>-<region>-<year>-<serial>-<check>``.

Example: ``APKD-BPG-5305-2026-000123-T``

- ``APKD``    fixed prefix
- scheme      the scheme code, ``[A-Z0-9-]{2,16}`` as in bank files; it may itself contain
              hyphens, so a number is parsed from the right: the last four fields are fixed
- region      4 digits, the BPS/Kemendagri code of the holder's kabupaten/kota (5305 = Alor)
- year        4 digits, the year of issue
- serial      6 digits, per (scheme, year), from 000001
- check       one character, ISO/IEC 7064 MOD 37,36 (hybrid system, alphabet 0-9A-Z)
              over every letter and digit before it, hyphens left out

What MOD 37,36 catches: every single substitution (one character replaced by any
other), and every adjacent transposition of two characters whose values (0-9 = 0-9,
A-Z = 10-35) are not consecutive mod 36. A hybrid system misses a swap of two
value-consecutive characters (e.g. "12" <-> "21") at about 1 position state in 36;
that is inherent to the ISO hybrid systems (the pure system MOD 37-2 catches all adjacent
transpositions, but its check character can be "*").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "PREFIX",
    "NumberError",
    "ParsedNumber",
    "check_character",
    "format_number",
    "is_valid_number",
    "parse_number",
]

PREFIX = "APKD"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}
_M = 36
_SCHEME_RE = re.compile(r"[A-Z0-9-]{2,16}")
_REGION_RE = re.compile(r"[0-9]{4}")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})


class NumberError(ValueError):
    """Not a well-formed credential number (the message says which part is wrong)."""


@dataclass(frozen=True)
class ParsedNumber:
    scheme: str
    region: str
    year: int
    serial: int
    check: str

    @property
    def text(self) -> str:
        """The canonical spelling."""
        return f"{PREFIX}-{self.scheme}-{self.region}-{self.year:04d}-{self.serial:06d}-{self.check}"

    def __str__(self) -> str:
        return self.text


def _mod37_36_state(chars: str, p: int = _M) -> int:
    """The MOD 37,36 running state after `chars`, continuing from state `p`."""
    for c in chars:
        s = (p + _VALUE[c]) % _M
        p = (2 * (s or _M)) % (_M + 1)
    return p


def check_character(data: str) -> str:
    """ISO/IEC 7064 MOD 37,36 check character over the letters and digits of `data`."""
    chars = "".join(c for c in data.upper() if c != "-")
    if not all(c in _VALUE for c in chars):
        raise NumberError("hanya huruf A-Z, angka dan '-' yang dapat diberi karakter cek")
    return _ALPHABET[(_M + 1 - _mod37_36_state(chars)) % _M]


def _check_ok(data_with_check: str) -> bool:
    chars = data_with_check.replace("-", "")
    if not chars or not all(c in _VALUE for c in chars):
        return False
    return (_mod37_36_state(chars[:-1]) + _VALUE[chars[-1]]) % _M == 1


def _validate_parts(scheme: str, region: str, year: int, serial: int) -> None:
    if not _SCHEME_RE.fullmatch(scheme) or not any(c.isalnum() for c in scheme):
        raise NumberError(f"kode skema {scheme!r} tidak sah (A-Z, 0-9 dan '-', 2-16 karakter)")
    if not _REGION_RE.fullmatch(region):
        raise NumberError(f"kode wilayah {region!r} harus 4 digit")
    if not 1000 <= year <= 9999:
        raise NumberError(f"tahun {year} harus 4 digit")
    if not 1 <= serial <= 999_999:
        raise NumberError(f"nomor urut {serial} harus 1..999999")


class NumberSeries:
    """The numbers of one (scheme, region, year): the parts checked and the check state of
    the prefix computed once, so a batch of serials costs six digits each."""

    def __init__(self, scheme: str, region: str | int, year: int) -> None:
        region_text = f"{region:04d}" if isinstance(region, int) else region
        _validate_parts(scheme, region_text, year, 1)
        self.prefix = f"{PREFIX}-{scheme}-{region_text}-{year:04d}-"
        chars = self.prefix.upper().replace("-", "")
        if not all(c in _VALUE for c in chars):
            raise NumberError("hanya huruf A-Z, angka dan '-' yang dapat diberi karakter cek")
        self._state = _mod37_36_state(chars)

    def format(self, serial: int) -> str:
        if not 1 <= serial <= 999_999:
            raise NumberError(f"nomor urut {serial} harus 1..999999")
        digits = f"{serial:06d}"
        check = _ALPHABET[(_M + 1 - _mod37_36_state(digits, self._state)) % _M]
        return f"{self.prefix}{digits}-{check}"


def format_number(scheme: str, region: str | int, year: int, serial: int) -> str:
    """The number for these parts, check character included."""
    return NumberSeries(scheme, region, year).format(serial)


def parse_number(text: str) -> ParsedNumber:
    """Parse a number typed or scanned by a person: case and surrounding spaces don't matter,
    nor do typographic dashes. NumberError (Indonesian message) when it is not a valid one."""
    if not isinstance(text, str):
        raise NumberError("nomor sertifikat harus berupa teks")
    norm = text.strip().upper().translate(_DASHES)
    parts = norm.split("-")
    if len(parts) < 6 or parts[0] != PREFIX:
        raise NumberError("nomor sertifikat harus berbentuk APKD-SKEMA-WILAYAH-TAHUN-NOMOR-CEK")
    scheme = "-".join(parts[1:-4])
    region, year_text, serial_text, check = parts[-4:]
    if not (year_text.isascii() and year_text.isdigit() and len(year_text) == 4):
        raise NumberError(f"tahun {year_text!r} harus 4 digit")
    if not (serial_text.isascii() and serial_text.isdigit() and len(serial_text) == 6):
        raise NumberError(f"nomor urut {serial_text!r} harus 6 digit")
    if len(check) != 1 or check not in _VALUE:
        raise NumberError("karakter cek harus satu huruf atau angka")
    _validate_parts(scheme, region, int(year_text), int(serial_text))
    if not _check_ok(norm):
        raise NumberError("karakter cek tidak cocok: periksa kembali nomor sertifikat")
    return ParsedNumber(scheme, region, int(year_text), int(serial_text), check)


def is_valid_number(text: str) -> bool:
    try:
        parse_number(text)
    except NumberError:
        return False
    return True
