"""Bank format additions: enemies, levels and level shares, the review record, and hostile files."""

from __future__ import annotations

from datetime import date

import pytest
from banktext import balanced_items, parse, single, text, unit

from apkd.banks.bankfile import MAX_BANK_BYTES, load_bank, parse_bank

UNITS = unit("TST.A", 2) + unit("TST.B", 2)
ITEMS = balanced_items("TST.A", 5) + balanced_items("TST.B", 5)


def errors_of(source: str) -> list[str]:
    bank, errors = parse_bank(source, "tst.yaml")
    assert bank is None
    return [f"{e.line}: {e.message}" for e in errors]


def test_old_files_stay_valid_and_new_keys_are_optional() -> None:
    bank = parse(text(UNITS, ITEMS))
    assert bank.scheme.enemies == () and bank.scheme.level_shares == ()
    item = bank.items[0]
    assert (item.level, item.cognitive_level, item.review, item.reviewer) == (
        None,
        "pengetahuan",
        "draft",
        None,
    )
    assert "level" not in item.content()  # an old item's content hash does not move


def test_enemies_parse_and_are_validated() -> None:
    ok = parse(text(UNITS, ITEMS, tail="enemies:\n  - [TST-A-001, TST-B-002]\n  - [TST-A-001, TST-A-003]\n"))
    # an item may sit in two groups: each group is a set of pairs that exclude each other
    assert ok.scheme.enemies == (("TST-A-001", "TST-A-003"), ("TST-A-001", "TST-B-002"))
    msgs = errors_of(
        text(
            UNITS,
            ITEMS,
            tail="enemies:\n  - [TST-A-001, TST-X-999]\n  - [TST-A-002]\n  - [TST-A-003, TST-A-003]\n",
        )
    )
    assert any("tidak ada di berkas ini: TST-X-999" in m for m in msgs)
    assert any("minimal 2 id soal" in m for m in msgs)
    assert any("ditulis dua kali" in m for m in msgs)
    assert any(
        "'enemies' harus berupa daftar" in m
        for m in errors_of(text(UNITS, ITEMS, tail="enemies: TST-A-001\n"))
    )


def test_enemies_that_starve_a_unit_are_refused() -> None:
    units = unit("TST.A", 3)
    items = balanced_items("TST.A", 4)
    tail = "enemies:\n  - [TST-A-000, TST-A-001]\n  - [TST-A-002, TST-A-003]\n"
    msgs = errors_of(text(units, items, tail=tail))
    assert any("dijamin mendapat 2 soal" in m and "meminta 3" in m for m in msgs), msgs


def test_levels_and_level_shares() -> None:
    items = balanced_items("TST.A", 4, level="penerapan") + balanced_items("TST.B", 5, prefix="X")
    bank = parse(text(UNITS, items, scheme_extra="  level_shares: {penerapan: 0.5}\n"))
    assert bank.scheme.level_shares == (("penerapan", 0.5),)
    assert bank.scheme.level_minimums() == {"penerapan": 2}
    assert bank.items[0].content()["level"] == "penerapan"
    # impossible: 3 of 4 must apply a rule, but only unit A (drawing 2) has such items
    msgs = errors_of(text(UNITS, items, scheme_extra="  level_shares: {penerapan: 0.75}\n"))
    assert any(
        "minimal 3 soal tingkat penerapan" in m and "paling banyak dapat memberi 2" in m for m in msgs
    ), msgs
    msgs = errors_of(text(UNITS, items, scheme_extra="  level_shares: {penerapan: 0.7, penalaran: 0.6}\n"))
    assert any("melebihi 1" in m for m in msgs)
    msgs = errors_of(text(UNITS, items, scheme_extra="  level_shares: {analisis: 0.2}\n"))
    assert any("'analisis' tidak dikenal" in m for m in msgs)
    bad_level = ITEMS.replace("    answer: a\n", "    answer: a\n    level: hafalan\n", 1)
    assert any(
        "pilih salah satu: pengetahuan, penerapan, penalaran" in m for m in errors_of(text(UNITS, bad_level))
    )


def test_review_record() -> None:
    reviewed = "    review: reviewed\n    reviewer: Dra. Welmince Ndun\n    reviewed_at: 2026-10-02\n"
    items = ITEMS.replace("    answer: a\n", "    answer: a\n" + reviewed, 1)
    item = parse(text(UNITS, items)).items[0]
    assert (item.review, item.reviewer, item.reviewed_at) == (
        "reviewed",
        "Dra. Welmince Ndun",
        date(2026, 10, 2),
    )
    assert "review" not in item.content() and "reviewer" not in item.content()
    missing = ITEMS.replace("    answer: a\n", "    answer: a\n    review: reviewed\n", 1)
    assert any("wajib mencatat 'reviewer'" in m for m in errors_of(text(UNITS, missing)))
    bad_date = ITEMS.replace(
        "    answer: a\n", "    answer: a\n" + reviewed.replace("2026-10-02", "2026-02-30"), 1
    )
    assert any("bukan tanggal yang ada" in m for m in errors_of(text(UNITS, bad_date)))
    bad_status = ITEMS.replace("    answer: a\n", "    answer: a\n    review: approved\n", 1)
    assert any("pilih salah satu: draft, reviewed" in m for m in errors_of(text(UNITS, bad_status)))


# --- hostile files: every one is a clear error, none a traceback (issue 11 point 11)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda s: s.replace("title: Skema Uji", "title: " + "x" * 201),
            "'title' terlalu panjang (201 karakter)",
        ),
        (
            lambda s: s.replace('version: "2026.1"', 'version: "' + "9" * 33 + '"'),
            "'version' terlalu panjang",
        ),
        (
            lambda s: s.replace("items_per_form: 2", "items_per_form: 2147483648", 1),
            "'items_per_form' harus bilangan bulat 1..500",
        ),
        (
            lambda s: s.replace("    answer: a\n", "    answer: a\n    points: 99999999999\n", 1),
            "'points' harus bilangan bulat 1..100",
        ),
        (
            lambda s: s.replace(
                '    reference: "PP 12/2019 Pasal 1"', '    reference: "' + "P" * 501 + '"', 1
            ),
            "'reference' terlalu panjang",
        ),
        (lambda s: s.replace('      a: "', '      a: "' + "o" * 1001, 1), "teks opsi 'a' terlalu panjang"),
        (lambda s: s.replace('    stem: "', '    stem: "' + "s" * 4001, 1), "'stem' terlalu panjang"),
        (
            lambda s: s.replace("    answer: a\n", "    answer: a\n    reviewer: " + "r" * 101 + "\n", 1),
            "'reviewer' terlalu panjang",
        ),
        (lambda s: s + "enemies: " + "[" * 1000 + "]" * 1000 + "\n", "bersarang terlalu dalam"),
        (
            lambda s: s.replace("title: Skema Uji", "title: &t Skema Uji").replace(
                "position: Bendahara Uji", "position: *t"
            ),
            "alias YAML",
        ),
        (lambda s: s.replace("title: Skema Uji", "title: Skema\x00Uji"), "karakter yang tidak boleh ada"),
    ],
)
def test_hostile_bank_files_give_clear_errors(mutate, expected) -> None:
    msgs = errors_of(mutate(text(UNITS, ITEMS)))
    assert any(expected in m for m in msgs), msgs


def test_oversized_file_is_refused_before_reading(tmp_path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(text(UNITS, ITEMS) + "#" * (MAX_BANK_BYTES + 1))
    bank, errors = load_bank(big)
    assert bank is None and "terlalu besar" in errors[0].message


def test_many_units_and_items_within_bounds_still_parse() -> None:
    opts = {"a": "satu", "b": "dua pengecoh", "c": "tiga pengecoh", "d": "empat pengecoh"}
    items = "".join(single(f"TST-A-{n:04d}", "TST.A", f"Soal {n}", opts, "a") for n in range(300))
    assert len(parse(text(unit("TST.A", 40), items)).items) == 300
