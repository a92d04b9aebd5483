"""NIP (Nomor Induk Pegawai) of an Indonesian civil servant (PNS). Pure module.

18 digits (Peraturan Kepala BKN No. 22/2007):

    YYYYMMDD  YYYYMM  G  NNN
    birth     TMT     |  sequence 001-999
    date      CPNS    gender: 1 = laki-laki (L), 2 = perempuan (P)

Spaces are allowed in the input ("19850312 201001 1 003") and removed.

Plausibility rules, each certain for a genuine NIP:
  - the birth date is a real calendar date, year >= 1940, not after ``today``;
  - TMT CPNS is a real month, not after the month of ``today``, after the birth date, and
    no earlier than the month of the 18th birthday (the legal minimum age to apply for
    CPNS is 18 and the appointment comes after the application; compared by month, since
    the TMT carries no day).

This validates the shape of a NIP only; it says nothing about whether BKN issued it. The
NI PPPK (contract staff) is also 18 digits but differs in digits 13-14 and fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

__all__ = [
    "MIN_BIRTH_YEAR",
    "MIN_CPNS_AGE",
    "NipError",
    "NipInfo",
    "NipPart",
    "mask_nip",
    "masked_nip_or_dash",
    "validate_nip",
]

MIN_BIRTH_YEAR = 1940
MIN_CPNS_AGE = 18

NipPart = Literal["format", "birth_date", "tmt", "gender", "sequence"]

_DIGITS_RE = re.compile(r"[0-9]{18}")


class NipError(ValueError):
    """A bad NIP: ``part`` says which part is wrong, ``message`` (Indonesian) says why."""

    def __init__(self, part: NipPart, message: str) -> None:
        super().__init__(message)
        self.part: NipPart = part
        self.message = message


@dataclass(frozen=True)
class NipInfo:
    nip: str  # the 18 digits, without spaces
    birth_date: date
    tmt: tuple[int, int]  # (year, month) of appointment as CPNS
    gender: Literal["L", "P"]
    sequence: int


def validate_nip(text: str, today: date | None = None) -> NipInfo:
    """Parse and check ``text``; return its parts or raise ``NipError``."""
    if today is None:
        today = date.today()
    if not isinstance(text, str):
        raise NipError("format", "NIP harus 18 digit angka.")
    nip = "".join(text.split())
    if not _DIGITS_RE.fullmatch(nip):
        if len(nip) != 18:
            raise NipError("format", f"NIP harus 18 digit angka, tertulis {len(nip)} karakter.")
        raise NipError("format", "NIP harus 18 digit angka; hanya angka 0-9 dan spasi yang boleh dipakai.")

    birth_text, tmt_text, gender_text, sequence_text = nip[:8], nip[8:14], nip[14], nip[15:]

    try:
        birth = date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:]))
    except ValueError:
        raise NipError("birth_date", f"Tanggal lahir pada NIP tidak valid: {birth_text}.") from None
    if birth.year < MIN_BIRTH_YEAR:
        raise NipError(
            "birth_date",
            f"Tanggal lahir pada NIP tidak valid: {birth_text} (tahun lahir sebelum {MIN_BIRTH_YEAR}).",
        )
    if birth > today:
        raise NipError("birth_date", f"Tanggal lahir pada NIP tidak valid: {birth_text} (belum terjadi).")

    tmt_year, tmt_month = int(tmt_text[:4]), int(tmt_text[4:])
    if not 1 <= tmt_month <= 12:
        raise NipError("tmt", f"TMT CPNS pada NIP tidak valid: {tmt_text} (bulan {tmt_text[4:]}).")
    tmt = (tmt_year, tmt_month)
    if tmt > (today.year, today.month):
        raise NipError("tmt", f"TMT CPNS pada NIP tidak valid: {tmt_text} (belum terjadi).")
    if tmt <= (birth.year, birth.month):
        raise NipError("tmt", f"TMT CPNS pada NIP harus setelah tanggal lahir ({tmt_text}, {birth_text}).")
    if tmt < (birth.year + MIN_CPNS_AGE, birth.month):
        raise NipError(
            "tmt",
            f"TMT CPNS pada NIP tidak valid: {tmt_text} menunjukkan usia di bawah "
            f"{MIN_CPNS_AGE} tahun saat pengangkatan CPNS (lahir {birth_text}).",
        )

    if gender_text not in ("1", "2"):
        raise NipError(
            "gender",
            f"Kode jenis kelamin pada NIP harus 1 (laki-laki) atau 2 (perempuan), tertulis {gender_text}.",
        )

    sequence = int(sequence_text)
    if sequence == 0:
        raise NipError("sequence", "Nomor urut pada NIP harus 001 sampai 999, tertulis 000.")

    return NipInfo(
        nip=nip,
        birth_date=birth,
        tmt=tmt,
        gender="L" if gender_text == "1" else "P",
        sequence=sequence,
    )


def mask_nip(nip: str) -> str:
    """An 18-digit NIP as public views and the QR token show it: the first 4 and last 3
    digits, 11 '*' between ("1985***********001"). ValueError when it is not 18 digits."""
    nip = nip.strip()
    if not _DIGITS_RE.fullmatch(nip):
        raise ValueError("NIP harus 18 digit angka")
    return nip[:4] + "*" * 11 + nip[-3:]


def masked_nip_or_dash(nip: str | None) -> str:
    """mask_nip for a stored profile value: "-" when there is none, and a value that is not
    18 digits (an old or foreign identifier) keeps only its last 3 characters."""
    if not nip:
        return "-"
    try:
        return mask_nip(nip)
    except ValueError:
        return "*" * max(0, len(nip) - 3) + nip[-3:]
