"""Small made-up bank files for tests: a scheme header and items written as YAML text."""

from __future__ import annotations

import random

from apkd.banks.bankfile import BankFile, parse_bank

WORDS = ["anggaran", "kas", "belanja", "pajak", "kuitansi", "bendahara", "rekening", "daerah", "kontrak", "retensi", "denda", "uang", "muka", "pendapatan", "retribusi", "penyetoran", "jurnal", "neraca", "laporan", "semester", "pergeseran", "pengawasan", "SPJ", "SP2D", "SPM", "tagihan", "meterai", "billing", "potongan", "iuran", "gaji", "honor", "perjalanan", "persediaan"]


def distinct_stem(seed: str) -> str:
    """A stem of random words: no two seeds give near-duplicate stems."""
    rng = random.Random(seed)
    return "Bagaimana " + " ".join(rng.sample(WORDS, 12)) + "?"


HEADER = """\
scheme:
  code: TST
  version: "2026.1"
  title: Skema Uji
  position: Bendahara Uji
  duration_minutes: 60
  validity_months: 36
  pass_score: 70
{extra}  units:
{units}items:
"""


def unit(code: str, per_form: int) -> str:
    return f"    - code: {code}\n      title: Unit {code}\n      items_per_form: {per_form}\n"


def single(
    item_id: str,
    unit_code: str,
    stem: str,
    options: dict[str, str],
    answer: str,
    *,
    reference: str = "PP 12/2019 Pasal 1",
    extra: str = "",
) -> str:
    opts = "".join(f'      {k}: "{v}"\n' for k, v in options.items())
    return (
        f"  - id: {item_id}\n    unit: {unit_code}\n    type: single\n"
        f'    stem: "{stem}"\n    options:\n{opts}    answer: {answer}\n'
        f'    reference: "{reference}"\n{extra}'
    )


def text(units: str, items: str, *, scheme_extra: str = "", tail: str = "") -> str:
    return HEADER.format(extra=scheme_extra, units=units) + items + tail


def parse(source: str) -> BankFile:
    bank, errors = parse_bank(source, "tst.yaml")
    assert errors == [], errors
    assert bank is not None
    return bank


def balanced_items(unit_code: str, count: int, *, prefix: str = "TST", level: str | None = None) -> str:
    """``count`` distinct items whose keys rotate a..d and are never the longest option."""
    out = []
    for n in range(count):
        key = "abcd"[n % 4]
        options = {k: ("opsi pengecoh yang panjang sekali" if k != key else "kunci") for k in "abcd"}
        extra = f"    level: {level}\n" if level else ""
        out.append(
            single(
                f"{prefix}-{unit_code[-1]}-{n:03d}",
                unit_code,
                distinct_stem(f"{unit_code}-{n}"),
                options,
                key,
                extra=extra,
            )
        )
    return "".join(out)
