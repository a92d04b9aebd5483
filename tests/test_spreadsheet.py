"""Issue 13 point 12: exports open correctly in Indonesian-locale Excel (NIP kept as text)."""

from __future__ import annotations

import io
import zipfile

from apkd.spreadsheet import Text, csv_bytes, xlsx_bytes

NIP = "199001012015011001"
ROWS = [[Text(NIP), "Ni Luh Putu Ayu", "=HYPERLINK(x)", 82.5, True]]
HEADER = ["NIP", "Nama", "Instansi", "Nilai", "Lulus"]


def test_plain_csv_for_scripts() -> None:
    body = csv_bytes(HEADER, ROWS)
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    assert text.splitlines()[1] == f"{NIP},Ni Luh Putu Ayu,'=HYPERLINK(x),82.5,ya"
    assert "\r\n" in text


def test_semicolon_variant_for_indonesian_excel() -> None:
    text = csv_bytes(HEADER, ROWS, excel_id=True).decode("utf-8-sig")
    assert text.splitlines()[0] == "NIP;Nama;Instansi;Nilai;Lulus"
    # the NIP stays text (="..."), the decimal mark is a comma, a formula is defused
    assert text.splitlines()[1] == f'"=""{NIP}""";Ni Luh Putu Ayu;\'=HYPERLINK(x);82,5;ya'


def test_xlsx_keeps_nip_as_text_and_scores_as_numbers() -> None:
    book = zipfile.ZipFile(io.BytesIO(xlsx_bytes(HEADER, ROWS, sheet="Hasil")))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    strings = book.read("xl/sharedStrings.xml").decode()
    assert NIP in strings and "=HYPERLINK(x)" in strings  # stored as strings, never as a formula
    assert "<f>" not in sheet and "<v>82.5</v>" in sheet
