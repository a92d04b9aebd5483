"""The Indonesian reading of typed numbers: the server's rule (apkd.exams.numbers) and the exam
page's (src/apkd/web/static/js/numbers.js) agree on every case of one table."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from apkd.exams.numbers import NumberError, format_id, parse_id

NUMBERS_JS = Path(__file__).parents[2] / "src" / "apkd" / "web" / "static" / "js" / "numbers.js"

READ = [
    ("75.000", 75000),
    ("1.500.000", 1500000),
    ("75,5", 75.5),
    ("Rp 75.000", 75000),
    ("Rp75.000", 75000),
    ("rp. 1.500.000,25", 1500000.25),
    ("1500000", 1500000),
    (" 2500 ", 2500),
    ("-42", -42),
    ("+7", 7),
    ("-2,5", -2.5),
    ("Rp -5.000", -5000),
    ("0,75", 0.75),
    ("1.500", 1500),
    ("12,50", 12.5),
    ("", None),
    ("   ", None),
]
REFUSED = [
    ("2.5", "titik dipakai sebagai pemisah ribuan"),
    ("1.50.000", "titik dipakai sebagai pemisah ribuan"),
    ("1500000.00", "titik dipakai sebagai pemisah ribuan"),
    ("1,500", "meragukan"),
    ("1,500,000", "koma hanya sekali"),
    ("1.500,000.5", "koma hanya sekali"),
    ("abc", "bukan angka"),
    ("1e5", "bukan angka"),
    ("Rp", "bukan angka"),
    ("--1", "bukan angka"),
    ("1_000", "bukan angka"),
    ("nan", "bukan angka"),
    ("9" * 50, "terlalu besar"),
]
SHOWN = [(75000, "75.000"), (1500000, "1.500.000"), (75.5, "75,5"), (-2.5, "-2,5"), (999, "999"), (0, "0")]


@pytest.mark.parametrize(("text", "value"), READ)
def test_reads_the_indonesian_way(text: str, value: float | None) -> None:
    got = parse_id(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(("text", "words"), REFUSED)
def test_refuses_with_what_to_type(text: str, words: str) -> None:
    with pytest.raises(NumberError, match=words):
        parse_id(text)


def test_ambiguous_comma_offers_both_readings() -> None:
    with pytest.raises(NumberError) as caught:
        parse_id("1,500")
    assert "1,5" in caught.value.message and "1.500" in caught.value.message


@pytest.mark.parametrize(("value", "text"), SHOWN)
def test_shows_the_indonesian_way(value: float, text: str) -> None:
    assert format_id(value) == text
    assert parse_id(text) == value


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_page_reads_numbers_as_the_server_does() -> None:
    cases = [t for t, _ in READ] + [t for t, _ in REFUSED]
    script = (
        f"import {{parseId, formatId}} from {json.dumps(NUMBERS_JS.as_uri())};\n"
        f"const cases = {json.dumps(cases)};\n"
        f"const shown = {json.dumps([v for v, _ in SHOWN])};\n"
        "console.log(JSON.stringify({read: cases.map(parseId), shown: shown.map(formatId)}));\n"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    page = json.loads(out.stdout)
    for text, got in zip(cases, page["read"], strict=True):
        try:
            expected: dict[str, object] = {"value": parse_id(text)}
        except NumberError as exc:
            expected = {"error": exc.message}
        assert got == expected, text
    assert page["shown"] == [t for _, t in SHOWN]
