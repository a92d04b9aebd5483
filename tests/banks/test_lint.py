"""`apkd bank lint`: each check on small made-up banks, passing and failing."""

from __future__ import annotations

import pytest
from banktext import balanced_items, distinct_stem, parse, single, text, unit

from apkd.banks.lint import Thresholds, chi_square_sf, format_report, lint_bank

# A clean bank: one unit drawing 4 of 12 items (ratio 3), keys spread a..d, never the longest.
UNITS = unit("TST.A", 4)
LOOSE = Thresholds(min_form_items=4, min_applied_share=0)


def checks(source: str, limits: Thresholds = LOOSE) -> dict[str, object]:
    result = lint_bank(parse(source), limits)
    return {c.code: c for c in result.checks}


def test_clean_bank_passes_every_check() -> None:
    result = lint_bank(parse(text(UNITS, balanced_items("TST.A", 12))), LOOSE)
    assert result.ok, format_report([result])
    assert "semua lulus" in format_report([result])


def test_longest_option_key_rate() -> None:
    items = balanced_items("TST.A", 8)
    cue = {"a": "kunci yang jauh lebih panjang dan terinci daripada opsi lain", "b": "x", "c": "y", "d": "z"}
    items += "".join(
        single(f"TST-A-1{n:02d}", "TST.A", f"Stem isyarat {n} {'abcdefgh'[n]}", cue, "a") for n in range(4)
    )
    c = checks(text(UNITS, items))["kunci_terpanjang"]
    assert not c.ok and c.value == "4/12 = 33%"
    assert "TST-A-100" in c.details[0]
    assert checks(
        text(UNITS, items), Thresholds(min_form_items=4, min_applied_share=0, max_longest_key=0.34)
    )["kunci_terpanjang"].ok


def test_key_positions_chi_square() -> None:
    skewed = "".join(
        single(
            f"TST-A-{n:03d}",
            "TST.A",
            distinct_stem(f"skew-{n}"),
            {
                "a": "kunci",
                "b": "pengecoh panjang sekali",
                "c": "pengecoh panjang juga",
                "d": "pengecoh panjang lagi",
            },
            "a",
        )
        for n in range(20)
    )
    c = checks(text(UNITS, skewed))["posisi_kunci"]
    assert not c.ok and "a:20 b:0 c:0 d:0" in c.details[0] and "p=0.000" in c.details[0]
    assert checks(text(UNITS, balanced_items("TST.A", 20)))["posisi_kunci"].ok
    # too few items to test: reported, not failed
    few = checks(text(UNITS, skewed.split("  - id: TST-A-012")[0]))["posisi_kunci"]
    assert few.ok and "terlalu sedikit" in few.details[0]


def test_chi_square_survival_matches_known_values() -> None:
    assert chi_square_sf(7.815, 3) == pytest.approx(0.05, abs=1e-3)
    assert chi_square_sf(5.991, 2) == pytest.approx(0.05, abs=1e-3)
    assert chi_square_sf(3.841, 1) == pytest.approx(0.05, abs=1e-3)
    assert chi_square_sf(9.488, 4) == pytest.approx(0.05, abs=1e-3)
    assert chi_square_sf(0, 3) == 1.0


def test_unemphasised_negative_stem() -> None:
    opts = {"a": "SPM", "b": "SPP", "c": "SPD", "d": "DPA pengecoh panjang"}
    weak = single("TST-A-100", "TST.A", "Berikut dokumen penatausahaan, kecuali ...", opts, "a")
    strong = single("TST-A-101", "TST.A", "Berikut dokumen pencairan, KECUALI ...", opts, "b")
    strong2 = single(
        "TST-A-102", "TST.A", "Dokumen yang TIDAK diterbitkan oleh PPK-SKPD adalah ...", opts, "c"
    )
    c = checks(text(UNITS, balanced_items("TST.A", 9) + weak + strong + strong2))["stem_negatif"]
    assert not c.ok and c.value == "1" and c.details == ["TST-A-100"]


def test_all_of_the_above_options() -> None:
    opts = {"a": "SPM", "b": "SPP", "c": "SPD", "d": "Semua jawaban benar"}
    bad = single("TST-A-100", "TST.A", "Dokumen yang diterbitkan di SKPD adalah ...", opts, "d")
    opts2 = {"a": "SPM", "b": "SPP", "c": "a dan b benar", "d": "SPD pengecoh panjang"}
    bad2 = single("TST-A-101", "TST.A", "Dokumen permintaan pembayaran adalah ...", opts2, "c")
    c = checks(text(UNITS, balanced_items("TST.A", 10) + bad + bad2))["opsi_semua"]
    assert not c.ok and c.value == "2"
    assert "TST-A-100 (d)" in c.details[0] and "TST-A-101 (c)" in c.details[0]


def test_pool_ratio_per_unit() -> None:
    units = unit("TST.A", 4) + unit("TST.B", 4)
    c = checks(text(units, balanced_items("TST.A", 10) + balanced_items("TST.B", 9)))["rasio_pool"]
    assert not c.ok and c.value == "2.25"
    assert any(d == "TST.B: 9 soal / 4 per paket = 2.25  <-- kurang" for d in c.details)
    assert any(d.startswith("TST.A: 10 soal") and "kurang" not in d for d in c.details)


def test_reference_without_article() -> None:
    opts = {"a": "SPM", "b": "SPP pengecoh", "c": "SPD pengecoh", "d": "DPA pengecoh"}
    bare = single(
        "TST-A-100", "TST.A", "Dokumen dasar penerbitan SP2D adalah ...", opts, "a", reference="PP 12/2019"
    )
    annex = single(
        "TST-A-101",
        "TST.A",
        "Dokumen dasar pengajuan SPM adalah ...",
        opts,
        "a",
        reference="Permendagri 77/2020 Lampiran Bab VI",
    )
    c = checks(text(UNITS, balanced_items("TST.A", 10) + bare + annex))["rujukan_pasal"]
    assert not c.ok and c.details == ["TST-A-100"]


def test_near_duplicate_stems_unless_enemies() -> None:
    opts = {"a": "SPM", "b": "SPP pengecoh", "c": "SPD pengecoh", "d": "DPA pengecoh"}
    one = single(
        "TST-A-100",
        "TST.A",
        "Dokumen yang menjadi dasar penerbitan SP2D oleh Kuasa BUD adalah ...",
        opts,
        "a",
    )
    two = single(
        "TST-A-101", "TST.A", "Dokumen yang menjadi dasar penerbitan SP2D oleh kuasa BUD ialah ...", opts, "b"
    )
    source = text(UNITS, balanced_items("TST.A", 10) + one + two)
    c = checks(source)["stem_mirip"]
    assert not c.ok and c.details[0].startswith("TST-A-100 ~ TST-A-101")
    assert checks(source + "enemies:\n  - [TST-A-100, TST-A-101]\n")["stem_mirip"].ok


def test_form_length_and_applied_share() -> None:
    units = unit("TST.A", 4)
    items = balanced_items("TST.A", 8) + balanced_items("TST.A", 4, prefix="APL", level="penerapan")
    strict = Thresholds(min_form_items=4)
    c = checks(text(units, items), strict)
    assert c["panjang_paket"].ok
    assert not c["porsi_penerapan"].ok  # no level_shares: nothing guarantees application
    shares = "  level_shares: {penerapan: 0.5}\n"
    c = checks(text(units, items, scheme_extra=shares), strict)
    assert c["porsi_penerapan"].ok and c["porsi_penerapan"].value == "2/4 = 50%"
    assert not checks(text(units, items), Thresholds(min_form_items=5, min_applied_share=0))[
        "panjang_paket"
    ].ok
