"""Tests of the pure exam-bank parser/validator: every error kind at its exact line."""

from __future__ import annotations

from pathlib import Path

import pytest

from apkd.banks.bankfile import (
    BankError,
    BankFile,
    ItemSpec,
    format_errors,
    load_bank,
    load_banks,
    parse_bank,
)

# Line numbers of VALID are relied upon below (see the right-hand comments).
VALID = """\
scheme:
  code: BPG
  version: "2026.1"
  title: Bendahara Pengeluaran
  position: Bendahara Pengeluaran SKPD
  duration_minutes: 90
  validity_months: 36
  pass_score: 70
  units:
    - code: BPG.A
      title: Regulasi dan Kelembagaan
      items_per_form: 2
      min_score: 60
    - code: BPG.B
      title: Penatausahaan
      items_per_form: 1
items:
  - id: BPG-A-001
    unit: BPG.A
    type: single
    stem: "Apa dasar hukum pengelolaan keuangan daerah?"
    options: {a: "PP 12/2019", b: "UU 1/2004", c: "Permendagri 77/2020"}
    answer: a
    reference: "PP 12/2019 Pasal 1"
  - id: BPG-A-002
    unit: BPG.A
    type: multiple
    stem: Pilih dua dokumen pencairan.
    options:
      a: SPP
      b: Kuitansi palsu
      c: SPM
    answer: [c, a]
    points: 2
  - id: BPG-B-001
    unit: BPG.B
    type: numeric
    stem: Hitung PPN 11% dari Rp10.000.000.
    answer: 1100000
    tolerance: 0.5
"""
# 1 scheme | 2 code | 3 version | 4 title | 5 position | 6 duration | 7 validity | 8 pass_score
# 9 units | 10 - code BPG.A | 11 title | 12 items_per_form | 13 min_score | 14 - code BPG.B
# 15 title | 16 items_per_form | 17 items | 18 - id BPG-A-001 | 19 unit | 20 type | 21 stem
# 22 options | 23 answer | 24 reference | 25 - id BPG-A-002 | 26 unit | 27 type | 28 stem
# 29 options | 30 a | 31 b | 32 c | 33 answer | 34 points | 35 - id BPG-B-001 | 36 unit
# 37 type | 38 stem | 39 answer | 40 tolerance


def line_text(text: str, number: int) -> str:
    return text.splitlines()[number - 1]


def replace_line(text: str, number: int, *new_lines: str) -> str:
    """Replace line `number` (1-based) with `new_lines` (none = delete it)."""
    lines = text.splitlines()
    lines[number - 1 : number] = list(new_lines)
    return "\n".join(lines) + "\n"


def insert_after(text: str, number: int, *new_lines: str) -> str:
    lines = text.splitlines()
    lines[number:number] = list(new_lines)
    return "\n".join(lines) + "\n"


def errors_of(text: str) -> list[BankError]:
    bank, errors = parse_bank(text, "bank.yaml")
    assert errors, "expected errors, got a valid bank"
    assert bank is None
    return errors


def only_error(text: str) -> BankError:
    errors = errors_of(text)
    assert len(errors) == 1, format_errors(errors)
    return errors[0]


def test_line_map_of_fixture_is_right() -> None:
    assert line_text(VALID, 2) == "  code: BPG"
    assert line_text(VALID, 14) == "    - code: BPG.B"
    assert line_text(VALID, 25) == "  - id: BPG-A-002"
    assert line_text(VALID, 40) == "    tolerance: 0.5"


# --------------------------------------------------------------------------- valid file


def test_valid_file_parses_to_specs() -> None:
    bank, errors = parse_bank(VALID, "exam_banks/bpg.yaml")
    assert errors == []
    assert isinstance(bank, BankFile)
    assert bank.path == "exam_banks/bpg.yaml"
    s = bank.scheme
    assert (s.code, s.version, s.title, s.position) == (
        "BPG",
        "2026.1",
        "Bendahara Pengeluaran",
        "Bendahara Pengeluaran SKPD",
    )
    assert (s.duration_minutes, s.validity_months, s.pass_score, s.line) == (90, 36, 70.0, 1)
    assert [(u.code, u.title, u.items_per_form, u.min_score, u.line) for u in s.units] == [
        ("BPG.A", "Regulasi dan Kelembagaan", 2, 60.0, 10),
        ("BPG.B", "Penatausahaan", 1, None, 14),
    ]
    single, multiple, numeric = bank.items
    assert single == ItemSpec(
        id="BPG-A-001",
        unit="BPG.A",
        type="single",
        stem="Apa dasar hukum pengelolaan keuangan daerah?",
        options=(("a", "PP 12/2019"), ("b", "UU 1/2004"), ("c", "Permendagri 77/2020")),
        answer="a",
        tolerance=0.0,
        points=1,
        reference="PP 12/2019 Pasal 1",
        line=18,
    )
    assert multiple.options == (("a", "SPP"), ("b", "Kuitansi palsu"), ("c", "SPM"))
    assert multiple.answer == ("a", "c")  # sorted
    assert (multiple.points, multiple.reference, multiple.line) == (2, None, 25)
    assert numeric.options == ()
    assert numeric.answer == 1100000.0 and isinstance(numeric.answer, float)
    assert (numeric.tolerance, numeric.points, numeric.line) == (0.5, 1, 35)


def test_content_is_json_ready_and_has_no_line() -> None:
    bank, _ = parse_bank(VALID, "b.yaml")
    assert bank is not None
    content = bank.items[1].content()
    assert content == {
        "id": "BPG-A-002",
        "unit": "BPG.A",
        "type": "multiple",
        "stem": "Pilih dua dokumen pencairan.",
        "options": [["a", "SPP"], ["b", "Kuitansi palsu"], ["c", "SPM"]],
        "answer": ["a", "c"],
        "tolerance": 0.0,
        "points": 2,
        "reference": None,
    }


def test_unquoted_version_keeps_its_text() -> None:
    bank, errors = parse_bank(replace_line(VALID, 3, "  version: 2026.10"), "b.yaml")
    assert errors == []
    assert bank is not None and bank.scheme.version == "2026.10"


def test_yaml_boolean_words_as_option_ids_stay_strings() -> None:
    options = "    options: {y: Ya, n: Tidak, on: Hidup, off: Mati, yes: Benar, no: Salah}"
    text = replace_line(VALID, 22, options)
    text = replace_line(text, 23, "    answer: no")
    bank, errors = parse_bank(text, "b.yaml")
    assert errors == [], format_errors(errors)
    assert bank is not None
    item = bank.items[0]
    assert [oid for oid, _ in item.options] == ["y", "n", "on", "off", "yes", "no"]
    assert item.answer == "no"
    assert all(isinstance(oid, str) for oid, _ in item.options)


def test_option_text_and_stem_keep_what_was_written() -> None:
    text = replace_line(VALID, 22, "    options: {a: 1.000, b: yes, c: 0x10}")
    bank, errors = parse_bank(text, "b.yaml")
    assert errors == []
    assert bank is not None
    assert bank.items[0].options == (("a", "1.000"), ("b", "yes"), ("c", "0x10"))


def test_min_score_null_means_none() -> None:
    bank, errors = parse_bank(replace_line(VALID, 13, "      min_score: null"), "b.yaml")
    assert errors == []
    assert bank is not None and bank.scheme.units[0].min_score is None


# --------------------------------------------------------------------------- file level


def test_yaml_syntax_error_is_one_error_at_pyyaml_line() -> None:
    text = replace_line(VALID, 11, "       title: Regulasi")  # deeper indentation than the unit's keys
    error = only_error(text)
    assert error.line == 11
    assert "sintaks YAML tidak valid" in error.message


def test_unclosed_quote_names_where_it_started() -> None:
    text = replace_line(VALID, 40, '    tolerance: "0.5')  # quote never closed: the file ends first
    error = only_error(text)
    assert error.line == 41  # where PyYAML hits the end of the file
    assert "sintaks YAML" in error.message
    assert "baris 40" in error.message


@pytest.mark.parametrize(
    "text",
    ["", "# hanya komentar\n", "- a\n- b\n", "hanya teks\n"],
)
def test_not_a_mapping_is_error_at_line_1(text: str) -> None:
    error = only_error(text)
    assert error.line == 1
    assert "'scheme'" in error.message and "'items'" in error.message


def test_missing_items_is_error_at_line_1() -> None:
    text = VALID.split("items:\n")[0]
    error = only_error(text)
    assert error.line == 1
    assert "'items'" in error.message


def test_missing_scheme_is_error_at_line_1() -> None:
    text = "items:\n" + VALID.split("items:\n")[1]
    errors = errors_of(text)
    assert [e.line for e in errors] == [1]
    assert "'scheme'" in errors[0].message


def test_unknown_top_level_key() -> None:
    error = only_error(VALID + "catatan: draf\n")
    assert error.line == 41
    assert "'catatan'" in error.message and "tidak dikenal" in error.message


# --------------------------------------------------------------------------- scheme fields


@pytest.mark.parametrize("code", ["bpg", "B", "BPG_1", "B P G", "ABCDEFGHIJKLMNOPQ", '""'])
def test_bad_scheme_code(code: str) -> None:
    error = only_error(replace_line(VALID, 2, f"  code: {code}"))
    assert error.line == 2
    assert "kode" in error.message or "'code'" in error.message


@pytest.mark.parametrize("code", ["BPG-2", "AB", "ABCDEFGHIJKLMNOP", "2026"])
def test_good_scheme_codes(code: str) -> None:
    _, errors = parse_bank(replace_line(VALID, 2, f"  code: {code}"), "b.yaml")
    assert errors == []


@pytest.mark.parametrize("value", ['""', "", "[2026, 1]"])
def test_bad_version(value: str) -> None:
    error = only_error(replace_line(VALID, 3, f"  version: {value}"))
    assert error.line == 3
    assert "'version'" in error.message


def test_empty_title_and_position_each_reported() -> None:
    text = replace_line(VALID, 4, "  title:")
    text = replace_line(text, 5, '  position: "   "')
    errors = errors_of(text)
    assert [(e.line, "'title'" in e.message, "'position'" in e.message) for e in errors] == [
        (4, True, False),
        (5, False, True),
    ]
    assert all("tidak boleh kosong" in e.message for e in errors)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0", "1..600"),
        ("601", "1..600"),
        ("90.5", "bilangan bulat"),
        ('"90"', "tanda kutip"),
        ("yes", "boolean"),
        ("true", "boolean"),
        ("sembilan puluh", "bilangan bulat"),
    ],
)
def test_bad_duration(value: str, words: str) -> None:
    error = only_error(replace_line(VALID, 6, f"  duration_minutes: {value}"))
    assert error.line == 6
    assert "'duration_minutes'" in error.message and words in error.message


@pytest.mark.parametrize("value", ["0", "121", "on"])
def test_bad_validity(value: str) -> None:
    error = only_error(replace_line(VALID, 7, f"  validity_months: {value}"))
    assert error.line == 7
    assert "'validity_months'" in error.message


@pytest.mark.parametrize("value", ["-1", "100.5", "true", "'70'", "70%"])
def test_bad_pass_score(value: str) -> None:
    error = only_error(replace_line(VALID, 8, f"  pass_score: {value}"))
    assert error.line == 8
    assert "'pass_score'" in error.message


@pytest.mark.parametrize(("value", "expected"), [("72.5", 72.5), ("0", 0.0), ("100", 100.0)])
def test_pass_score_accepts_numbers_in_range(value: str, expected: float) -> None:
    bank, errors = parse_bank(replace_line(VALID, 8, f"  pass_score: {value}"), "b.yaml")
    assert errors == []
    assert bank is not None and bank.scheme.pass_score == expected


def test_missing_scheme_field_points_at_scheme_key() -> None:
    error = only_error(replace_line(VALID, 5))  # drop position
    assert error.line == 1
    assert "'position'" in error.message and "wajib" in error.message


def test_unknown_scheme_field() -> None:
    error = only_error(insert_after(VALID, 8, "  passing_grade: 70"))
    assert error.line == 9
    assert "'passing_grade'" in error.message and "tidak dikenal" in error.message


def test_duplicate_scheme_key_points_at_second() -> None:
    error = only_error(insert_after(VALID, 8, "  pass_score: 75"))
    assert error.line == 9
    assert "'pass_score'" in error.message and "baris 8" in error.message


# --------------------------------------------------------------------------- units


def test_missing_unit_code() -> None:
    errors = errors_of(replace_line(VALID, 14, "    - kode: BPG.B"))
    assert {e.line for e in errors} == {14}
    messages = " | ".join(e.message for e in errors)
    assert "'kode'" in messages and "tidak dikenal" in messages
    assert "kolom wajib 'code'" in messages


def test_duplicate_unit_code_points_at_second_and_names_first() -> None:
    errors = errors_of(replace_line(VALID, 14, "    - code: BPG.A"))
    dup = [e for e in errors if e.line == 14]
    assert len(dup) == 1
    assert "ganda" in dup[0].message and "baris 10" in dup[0].message
    # the item that used the vanished unit BPG.B is reported too
    assert any(e.line == 36 and "BPG.B" in e.message for e in errors)


@pytest.mark.parametrize("value", ["0", "-2", "yes", "1.5"])
def test_bad_items_per_form(value: str) -> None:
    error = only_error(replace_line(VALID, 16, f"      items_per_form: {value}"))
    assert error.line == 16
    assert "'items_per_form'" in error.message


@pytest.mark.parametrize("value", ["101", "-5", "no"])
def test_bad_min_score(value: str) -> None:
    error = only_error(replace_line(VALID, 13, f"      min_score: {value}"))
    assert error.line == 13
    assert "'min_score'" in error.message


def test_empty_units_list() -> None:
    text = replace_line(VALID, 9, "  units: []")
    for _ in range(10, 17):
        text = replace_line(text, 10)
    errors = errors_of(text)
    assert [e.line for e in errors] == [9]
    assert "'units'" in errors[0].message


def test_unknown_unit_field() -> None:
    error = only_error(insert_after(VALID, 13, "      bobot: 40"))
    assert error.line == 14
    assert "'bobot'" in error.message


def test_too_few_items_for_unit_points_at_unit() -> None:
    error = only_error(replace_line(VALID, 12, "      items_per_form: 5"))
    assert error.line == 10
    assert "BPG.A" in error.message
    assert "hanya punya 2 soal" in error.message and "meminta 5" in error.message


def test_unit_with_no_items() -> None:
    text = insert_after(VALID, 16, "    - code: BPG.C", "      title: Pelaporan", "      items_per_form: 3")
    error = only_error(text)
    assert error.line == 17
    assert "'BPG.C'" in error.message and "0 soal" in error.message and "meminta 3" in error.message


# --------------------------------------------------------------------------- items


def test_unknown_unit_on_item() -> None:
    errors = errors_of(replace_line(VALID, 19, "    unit: BPG.Z"))
    # BPG.A lost one of its two items as well, reported at the unit (line 10)
    assert [e.line for e in errors] == [10, 19]
    assert "'BPG.Z'" in errors[1].message and "BPG.A, BPG.B" in errors[1].message


def test_duplicate_item_id_points_at_second_and_names_first() -> None:
    errors = errors_of(replace_line(VALID, 25, "  - id: BPG-A-001"))
    dup = [e for e in errors if e.line == 25]
    assert len(dup) == 1
    assert "BPG-A-001" in dup[0].message and "baris 18" in dup[0].message


def test_unknown_type() -> None:
    error = only_error(replace_line(VALID, 20, "    type: essay"))
    assert error.line == 20
    assert "'essay'" in error.message and "single, multiple, numeric" in error.message


def test_missing_stem_points_at_item() -> None:
    error = only_error(replace_line(VALID, 21))
    assert error.line == 18
    assert "'stem'" in error.message


@pytest.mark.parametrize("value", ['"   "', "", "~"])
def test_empty_stem(value: str) -> None:
    error = only_error(replace_line(VALID, 21, f"    stem: {value}"))
    assert error.line == 21
    assert "'stem'" in error.message and "kosong" in error.message


def test_missing_options_for_single_points_at_item() -> None:
    errors = errors_of(replace_line(VALID, 22))
    assert errors[0].line == 18
    assert "'options'" in errors[0].message


def test_missing_options_for_multiple_points_at_item() -> None:
    text = VALID
    for _ in range(4):
        text = replace_line(text, 29)
    errors = errors_of(text)
    assert errors[0].line == 25
    assert "'options'" in errors[0].message


def test_single_option_is_too_few() -> None:
    error = only_error(replace_line(VALID, 22, '    options: {a: "PP 12/2019"}'))
    assert error.line == 22
    assert "minimal 2" in error.message


def test_options_as_list_rejected() -> None:
    error = only_error(replace_line(VALID, 22, "    options: [PP, UU]"))
    assert error.line == 22
    assert "pemetaan" in error.message


@pytest.mark.parametrize("bad_id", ["A", "1", "opsi_panjang", "a b", "'-'"])
def test_bad_option_id(bad_id: str) -> None:
    errors = errors_of(replace_line(VALID, 30, f"      {bad_id}: SPP"))
    assert errors[0].line == 30
    assert "id opsi" in errors[0].message


def test_empty_option_text() -> None:
    error = only_error(replace_line(VALID, 31, '      b: ""'))
    assert error.line == 31
    assert "teks opsi 'b'" in error.message and "kosong" in error.message


def test_duplicate_option_id() -> None:
    errors = errors_of(replace_line(VALID, 32, "      a: SPM"))
    assert errors[0].line == 32
    assert "'a'" in errors[0].message and "baris 30" in errors[0].message


def test_options_given_for_numeric() -> None:
    error = only_error(insert_after(VALID, 38, "    options: {a: '1100000', b: '1000000'}"))
    assert error.line == 39
    assert "numeric" in error.message and "'options'" in error.message


@pytest.mark.parametrize("value", ["d", "A", "[a]"])
def test_single_answer_not_an_option(value: str) -> None:
    error = only_error(replace_line(VALID, 23, f"    answer: {value}"))
    assert error.line == 23
    assert "answer" in error.message or "jawaban" in error.message


def test_single_answer_message_lists_options() -> None:
    error = only_error(replace_line(VALID, 23, "    answer: d"))
    assert "'d'" in error.message and "a, b, c" in error.message


def test_missing_answer_points_at_item() -> None:
    error = only_error(replace_line(VALID, 23))
    assert error.line == 18
    assert "'answer'" in error.message


@pytest.mark.parametrize("value", ["[]", "a", "~"])
def test_multiple_answer_must_be_non_empty_list(value: str) -> None:
    error = only_error(replace_line(VALID, 33, f"    answer: {value}"))
    assert error.line == 33
    assert "daftar" in error.message


def test_multiple_answer_repeated_option() -> None:
    error = only_error(replace_line(VALID, 33, "    answer: [a, a]"))
    assert error.line == 33
    assert "dua kali" in error.message


def test_multiple_answer_unknown_option_points_at_element_line() -> None:
    error = only_error(replace_line(VALID, 33, "    answer:", "      - a", "      - z"))
    assert error.line == 35
    assert "'z'" in error.message and "a, b, c" in error.message


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('"1100000"', "tanda kutip"),
        ("1.100.000", "pemisah ribuan"),
        ("1100000,5", "pemisah desimal"),
        ("true", "boolean"),
        ("[1100000]", "angka"),
        (".inf", "angka"),
    ],
)
def test_numeric_answer_not_a_number(value: str, words: str) -> None:
    error = only_error(replace_line(VALID, 39, f"    answer: {value}"))
    assert error.line == 39
    assert words in error.message


def test_tolerance_zero_on_non_numeric_is_accepted_as_in_contract_sample() -> None:
    bank, errors = parse_bank(insert_after(VALID, 23, "    tolerance: 0"), "bank.yaml")
    assert errors == [] and bank is not None


def test_tolerance_only_for_numeric() -> None:
    error = only_error(insert_after(VALID, 23, "    tolerance: 0.5"))
    assert error.line == 24
    assert "'tolerance'" in error.message and "numeric" in error.message


@pytest.mark.parametrize("value", ["-0.5", "yes", "kecil"])
def test_bad_tolerance(value: str) -> None:
    error = only_error(replace_line(VALID, 40, f"    tolerance: {value}"))
    assert error.line == 40
    assert "'tolerance'" in error.message


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "yes", "true"])
def test_bad_points(value: str) -> None:
    error = only_error(replace_line(VALID, 34, f"    points: {value}"))
    assert error.line == 34
    assert "'points'" in error.message


def test_unknown_item_field() -> None:
    error = only_error(insert_after(VALID, 24, "    kunci: a"))
    assert error.line == 25
    assert "'kunci'" in error.message and "tidak dikenal" in error.message


def test_duplicate_item_key_points_at_second() -> None:
    error = only_error(insert_after(VALID, 23, "    answer: b"))
    assert error.line == 24
    assert "'answer'" in error.message and "baris 23" in error.message


def test_item_that_is_not_a_mapping() -> None:
    error = only_error(VALID.replace("items:\n", "items:\n  - BPG-A-000\n", 1))
    assert error.line == 18
    assert "pemetaan" in error.message


def test_every_mistake_is_reported_in_line_order() -> None:
    text = VALID
    text = replace_line(text, 2, "  code: bpg")
    text = replace_line(text, 6, "  duration_minutes: 0")
    text = replace_line(text, 20, "    type: essay")
    text = replace_line(text, 33, "    answer: [a, z]")
    text = replace_line(text, 39, "    answer: banyak")
    errors = errors_of(text)
    assert [e.line for e in errors] == [2, 6, 20, 33, 39]


# --------------------------------------------------------------------------- content hash


def _items(text: str) -> dict[str, ItemSpec]:
    bank, errors = parse_bank(text, "b.yaml")
    assert errors == [], format_errors(errors)
    assert bank is not None
    return {item.id: item for item in bank.items}


REFORMATTED = """\
# Berkas yang sama, ditulis dengan gaya lain.
scheme:
    units:
    -   title: Penatausahaan
        items_per_form: 1
        code: BPG.B
    -   {code: BPG.A, title: Regulasi dan Kelembagaan, items_per_form: 2, min_score: 60}
    pass_score: 70
    validity_months: 36
    duration_minutes: 90
    position: Bendahara Pengeluaran SKPD
    title: Bendahara Pengeluaran
    version: '2026.1'
    code: BPG

items:
-   stem: >-
        Hitung PPN 11% dari Rp10.000.000.
    tolerance: 0.50
    answer: 1.1e6
    type: numeric
    unit: BPG.B
    id: BPG-B-001

# soal pilihan ganda kompleks
-   id: BPG-A-002
    points: 2
    answer:
    - a
    - c
    options: {a: SPP, b: "Kuitansi palsu", c: 'SPM'}
    stem: "Pilih dua dokumen pencairan.\\n"
    type: multiple
    unit: BPG.A
-   options:
        a: "PP 12/2019"
        b: "UU 1/2004"
        c: "Permendagri 77/2020"
    stem: |
        Apa dasar hukum pengelolaan keuangan daerah?
    reference: PP 12/2019 Pasal 1
    answer: a
    type: single
    unit: BPG.A
    id: BPG-A-001
"""


def test_content_hash_ignores_layout_key_order_and_lines() -> None:
    original = _items(VALID)
    moved = _items(REFORMATTED)
    assert set(original) == set(moved)
    for item_id, item in original.items():
        other = moved[item_id]
        assert other.line != item.line
        assert other.content() == item.content(), item_id
        assert other.content_hash() == item.content_hash(), item_id


def test_content_hash_is_sha256_hex_and_stable() -> None:
    first = _items(VALID)["BPG-A-001"].content_hash()
    again = _items(VALID)["BPG-A-001"].content_hash()
    assert first == again
    assert len(first) == 64 and int(first, 16) >= 0


@pytest.mark.parametrize(
    ("line", "new"),
    [
        (21, '    stem: "Apa dasar hukum keuangan daerah?"'),
        (23, "    answer: b"),
        (22, '    options: {a: "PP 12/2019", b: "UU 1/2004", c: "Permendagri 77/2021"}'),
        (22, '    options: {a: "PP 12/2019", b: "UU 1/2004", c: "Permendagri 77/2020", d: "UU 23/2014"}'),
        (22, '    options: {a: "PP 12/2019", c: "Permendagri 77/2020", b: "UU 1/2004"}'),  # order shown
        (24, '    reference: "PP 12/2019 Pasal 2"'),
        (19, "    unit: BPG.B"),
    ],
)
def test_content_hash_changes_with_content(line: int, new: str) -> None:
    before = _items(VALID)["BPG-A-001"].content_hash()
    text = replace_line(VALID, line, new)
    if line == 19:  # keep BPG.A's items_per_form satisfiable
        text = replace_line(text, 12, "      items_per_form: 1")
    assert _items(text)["BPG-A-001"].content_hash() != before


@pytest.mark.parametrize(
    ("line", "new", "item_id"),
    [
        (33, "    answer: [a, b]", "BPG-A-002"),
        (34, "    points: 3", "BPG-A-002"),
        (39, "    answer: 1100001", "BPG-B-001"),
        (40, "    tolerance: 1", "BPG-B-001"),
    ],
)
def test_content_hash_changes_with_answer_points_tolerance(line: int, new: str, item_id: str) -> None:
    before = _items(VALID)[item_id].content_hash()
    assert _items(replace_line(VALID, line, new))[item_id].content_hash() != before


def test_numeric_answer_written_as_int_or_float_hashes_the_same() -> None:
    a = _items(VALID)["BPG-B-001"]
    b = _items(replace_line(VALID, 39, "    answer: 1100000.0"))["BPG-B-001"]
    assert a.content_hash() == b.content_hash()


def test_scheme_content_hash_ignores_lines() -> None:
    a, _ = parse_bank(VALID, "a.yaml")
    b, _ = parse_bank(REFORMATTED, "b.yaml")
    assert a is not None and b is not None
    # unit order differs between the two files, and unit order is content
    assert a.scheme.content_hash() != b.scheme.content_hash()
    c, _ = parse_bank("\n\n" + VALID, "c.yaml")
    assert c is not None
    assert c.scheme.line == 3
    assert c.scheme.content_hash() == a.scheme.content_hash()


# --------------------------------------------------------------------------- files on disk


def test_load_bank_reads_file_and_reports_its_path(tmp_path: Path) -> None:
    good = tmp_path / "bpg.yaml"
    good.write_text(VALID, encoding="utf-8")
    bank, errors = load_bank(good)
    assert errors == [] and bank is not None
    assert bank.path == str(good)

    bad = tmp_path / "rusak.yaml"
    bad.write_text(replace_line(VALID, 6, "  duration_minutes: 0"), encoding="utf-8")
    bank, errors = load_bank(str(bad))
    assert bank is None
    assert [str(e) for e in errors] == [f"{bad}:6: {errors[0].message}"]


def test_load_bank_accepts_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    bank, errors = load_bank(path)
    assert errors == [] and bank is not None


def test_load_bank_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(replace_line(VALID, 4, "  title: Bendahara Pengeluaran Daerah \xe9").encode("latin-1"))
    bank, errors = load_bank(path)
    assert bank is None
    assert [e.line for e in errors] == [4]
    assert "UTF-8" in errors[0].message


def test_load_bank_missing_file(tmp_path: Path) -> None:
    bank, errors = load_bank(tmp_path / "tidak-ada.yaml")
    assert bank is None
    assert len(errors) == 1 and "tidak ditemukan" in errors[0].message


def _other_scheme(code: str) -> str:
    return replace_line(replace_line(VALID, 2, f"  code: {code}"), 4, f"  title: Skema {code}")


def test_load_banks_expands_directories_sorted(tmp_path: Path) -> None:
    (tmp_path / "b.yml").write_text(_other_scheme("BPN"), encoding="utf-8")
    (tmp_path / "a.yaml").write_text(_other_scheme("APD"), encoding="utf-8")
    (tmp_path / "catatan.txt").write_text("bukan bank soal", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text("tidak: dibaca\n", encoding="utf-8")
    banks, errors = load_banks([tmp_path])
    assert errors == []
    assert [b.scheme.code for b in banks] == ["APD", "BPN"]
    assert [Path(b.path).name for b in banks] == ["a.yaml", "b.yml"]


def test_load_banks_same_file_twice_loaded_once(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(VALID, encoding="utf-8")
    banks, errors = load_banks([tmp_path, path])
    assert errors == []
    assert len(banks) == 1


def test_load_banks_duplicate_scheme_code_across_files(tmp_path: Path) -> None:
    first = tmp_path / "1-bpg.yaml"
    second = tmp_path / "2-bpg-lagi.yaml"
    first.write_text(VALID, encoding="utf-8")
    second.write_text("# salinan\n" + VALID, encoding="utf-8")
    banks, errors = load_banks([tmp_path])
    assert [b.path for b in banks] == [str(first)]
    assert len(errors) == 1
    error = errors[0]
    assert (error.path, error.line) == (str(second), 3)
    assert f"{first}:2" in error.message and "'BPG'" in error.message


def test_load_banks_duplicate_code_reported_even_when_file_has_other_errors(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(replace_line(VALID, 6, "  duration_minutes: 0"), encoding="utf-8")
    banks, errors = load_banks([tmp_path])
    assert len(banks) == 1
    assert sorted((Path(e.path).name, e.line) for e in errors) == [("b.yaml", 2), ("b.yaml", 6)]


def test_load_banks_collects_errors_of_every_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(replace_line(VALID, 7, "  validity_months: 0"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(_other_scheme("BPN"), encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        replace_line(_other_scheme("PPK"), 20, "    type: pilihan"), encoding="utf-8"
    )
    banks, errors = load_banks([tmp_path, tmp_path / "hilang.yaml"])
    assert [b.scheme.code for b in banks] == ["BPN"]
    assert [(Path(e.path).name, e.line) for e in errors] == [
        ("a.yaml", 7),
        ("c.yaml", 20),
        ("hilang.yaml", 1),
    ]


def test_load_banks_empty_directory_is_an_error(tmp_path: Path) -> None:
    banks, errors = load_banks([tmp_path])
    assert banks == []
    assert len(errors) == 1 and ".yaml" in errors[0].message


# --------------------------------------------------------------------------- formatting


def test_bank_error_str() -> None:
    assert str(BankError("exam_banks/bpg.yaml", 12, "pesan")) == "exam_banks/bpg.yaml:12: pesan"


def test_format_errors_sorted_by_path_then_line() -> None:
    errors = [
        BankError("b.yaml", 3, "ketiga"),
        BankError("a.yaml", 10, "kedua"),
        BankError("a.yaml", 2, "pertama"),
        BankError("b.yaml", 1, "satu"),
    ]
    assert format_errors(errors) == "a.yaml:2: pertama\na.yaml:10: kedua\nb.yaml:1: satu\nb.yaml:3: ketiga"
    assert format_errors([]) == ""
