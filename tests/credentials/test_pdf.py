from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
from datetime import date

import pytest
from pypdf import PdfReader
from pypdf.generic import RectangleObject

from apkd.credentials.pdf import (
    Attachment,
    CertificateData,
    pdf_safe_text,
    render_certificate,
    unicode_font_dir,
)
from apkd.credentials.qr import QRTooLarge
from apkd.credentials.qrdecode import decode_qr_image

MM = 72 / 25.4
INNER_FRAME_PT = 10.5 * MM

UNITS = [
    ("M.702000.001.01", "Menyusun Rencana Kebutuhan Kas"),
    ("M.702000.002.01", "Melaksanakan Penerimaan dan Pengeluaran Kas"),
    ("M.702000.003.01", "Menyusun Laporan Pertanggungjawaban Bendahara"),
]

SAMPLE = CertificateData(
    body_name="Lembaga Sertifikasi Profesi Pengelola Keuangan Daerah",
    holder_name="Maria Goreti Lelang",
    nip="198703122010012003",
    instansi="Badan Keuangan dan Aset Daerah Kabupaten Alor",
    jabatan="Bendahara Pengeluaran",
    scheme_code="BP-01",
    scheme_title="Bendahara Pengeluaran",
    position="Bendahara Pengeluaran Perangkat Daerah",
    units=UNITS,
    place="Kalabahi",
    issued_on=date(2027, 3, 12),
    valid_until=date(2030, 3, 12),
    signatory_name="Dr. Yohanis Maro, M.Si.",
    signatory_nip="197501012000031002",
    signatory_title="Ketua Lembaga Sertifikasi Profesi",
    number="APKD-2027-000123",
    qr_text="https://apkd.alorkab.go.id/v/APKD-2027-000123?t=" + "eyJhbGciOiJFZERTQSJ9" * 15,
    verify_url="https://apkd.alorkab.go.id/v/APKD-2027-000123",
)


def read(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, reader.pages[0].extract_text()


def text_origins(pdf: bytes) -> list[tuple[str, float, float]]:
    """(text, x, y) in points for every text run on the first page."""
    runs: list[tuple[str, float, float]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            runs.append((text, x, y))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return runs


def assert_one_a4_landscape_page(reader: PdfReader) -> None:
    assert len(reader.pages) == 1
    box: RectangleObject = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(842, abs=1)
    assert float(box.height) == pytest.approx(595, abs=1)


def assert_text_inside_frame(pdf: bytes) -> None:
    runs = text_origins(pdf)
    assert runs
    for text, x, y in runs:
        # Every line is centred or left-aligned in its box, so a start inside the frame means the
        # whole line is inside it.
        assert INNER_FRAME_PT <= x <= 842 - INNER_FRAME_PT, (text, x)
        assert INNER_FRAME_PT <= y <= 595 - INNER_FRAME_PT, (text, y)


def test_certificate_is_one_a4_landscape_page_with_the_facts() -> None:
    reader, text = read(render_certificate(SAMPLE))
    assert_one_a4_landscape_page(reader)
    for expected in [
        "SERTIFIKAT KOMPETENSI",
        "LEMBAGA SERTIFIKASI PROFESI PENGELOLA KEUANGAN DAERAH",
        "diberikan kepada",
        "Maria Goreti Lelang",
        "NIP 198703122010012003",
        "Badan Keuangan dan Aset Daerah Kabupaten Alor",
        "Kompeten",
        "Bendahara Pengeluaran (BP-01)",
        "Kalabahi, 12 Maret 2027",
        "Berlaku sejak 12 Maret 2027 s.d. 12 Maret 2030",
        "APKD-2027-000123",
        "Dr. Yohanis Maro, M.Si.",
        "NIP 197501012000031002",
        "Ketua Lembaga Sertifikasi Profesi",
        "Pindai untuk memeriksa keabsahan",
        "https://apkd.alorkab.go.id/v/APKD-2027-000123",
        *(code for code, _ in UNITS),
        *(title for _, title in UNITS),
    ]:
        assert expected in text, expected
    assert_text_inside_frame(render_certificate(SAMPLE))


def test_rendering_is_deterministic() -> None:
    assert render_certificate(SAMPLE) == render_certificate(SAMPLE)


def test_120_character_name_stays_on_one_page_inside_the_frame() -> None:
    name = (
        "Raden Ajeng Siti Nurhaliza Purwaningsih Kusumawardhani Wijayakusuma "
        "Hadiningrat Soerjosoemarno Notoprojo Mangkunegoro Ra"
    )
    assert len(name) == 120
    pdf = render_certificate(dataclasses.replace(SAMPLE, holder_name=name))
    reader, text = read(pdf)
    assert_one_a4_landscape_page(reader)
    assert " ".join(text.split()).count(name) == 1  # wrapped, not cut
    assert "Berlaku sejak 12 Maret 2027 s.d. 12 Maret 2030" in text
    assert_text_inside_frame(pdf)


def test_unbreakable_long_fields_and_many_units_never_overflow() -> None:
    data = dataclasses.replace(
        SAMPLE,
        holder_name="X" * 300,
        instansi="Badan Pengelolaan Keuangan, Pendapatan dan Aset Daerah " * 6,
        scheme_title="Skema " * 40,
        signatory_title="Kepala " * 30,
        verify_url="https://apkd.alorkab.go.id/v/" + "A" * 200,
        units=[
            (f"M.702000.{i:03d}.01", f"Unit kompetensi yang sangat panjang nomor {i} " * 3) for i in range(60)
        ],
    )
    pdf = render_certificate(data)
    reader, text = read(pdf)
    assert_one_a4_landscape_page(reader)
    assert "unit kompetensi lainnya" in text  # the overflow is said, not silently dropped
    assert "Kompeten" in text and "APKD-2027-000123" in text
    assert_text_inside_frame(pdf)


needs_dejavu = pytest.mark.skipif(
    unicode_font_dir() is None, reason="DejaVu fonts not installed (apt-get install fonts-dejavu-core)"
)


@needs_dejavu
def test_characters_outside_latin_1_render_in_the_embedded_unicode_font() -> None:
    data = dataclasses.replace(
        SAMPLE,
        holder_name="Nguy\u1ec5n Th\u1ecb \u00c1nh \u201cAnna\u201d \u0141ukasz \u0391\u03b8\u03b7\u03bd\u03ac "
        "\u0410\u043d\u043d\u0430 \u738b",
        instansi="Dinas\u00a0Pendidikan\u200b \u2013 Kab.\tAlor\n",
    )
    pdf = render_certificate(data)
    reader, text = read(pdf)
    # Vietnamese, Polish, Greek and Cyrillic letters as they are; what DejaVu lacks is "?"
    assert (
        "Nguy\u1ec5n Th\u1ecb \u00c1nh \u201cAnna\u201d \u0141ukasz \u0391\u03b8\u03b7\u03bd\u03ac \u0410\u043d\u043d\u0430 ?"
        in text
    )
    assert "Dinas Pendidikan \u2013 Kab. Alor" in text
    assert_one_a4_landscape_page(reader)
    fonts = {str(f["/BaseFont"]).split("+")[-1] for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert {"DejaVuSansBook", "DejaVuSerifBold", "DejaVuSansMonoBold"} <= fonts
    assert not any(name in fonts for name in ("Helvetica", "Times-Roman"))  # no core font
    assert b"/FontFile2" in pdf  # embedded, not referenced


def test_without_the_unicode_font_the_core_fonts_still_render(monkeypatch) -> None:
    from apkd.credentials import pdf as pdf_module

    monkeypatch.setattr(pdf_module, "unicode_font_dir", lambda: None)
    data = dataclasses.replace(
        SAMPLE,
        holder_name="Nguy\u1ec5n Th\u1ecb \u00c1nh \u201cAnna\u201d \u738b\U0001f600",
        instansi="Dinas\u00a0Pendidikan\u200b \u2013 Kab.\tAlor\n",
    )
    reader, text = read(render_certificate(data))
    assert "Nguyen Thi \u00c1nh \u201cAnna\u201d ??" in text  # accents kept where cp1252 can
    assert "Dinas Pendidikan \u2013 Kab. Alor" in text
    assert_one_a4_landscape_page(reader)


def test_pdf_safe_text() -> None:
    assert pdf_safe_text("  Ni  Luh\nPutu\u00ad ") == "Ni Luh Putu"
    assert pdf_safe_text("Pak \u2018Budi\u2019 \u2014 \u20ac5") == "Pak \u2018Budi\u2019 \u2014 \u20ac5"
    assert pdf_safe_text("\u0100d\u012b \u2212 1") == "Adi - 1"
    assert pdf_safe_text("\u4e2d") == "?"


def test_qr_text_too_long_is_refused() -> None:
    with pytest.raises(QRTooLarge):
        render_certificate(dataclasses.replace(SAMPLE, qr_text="https://x/" + "a" * 600))


def text_runs(pdf: bytes) -> list[tuple[str, str, float]]:
    """(text, font name, size in points) for every text run on the first page."""
    runs: list[tuple[str, str, float]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip() and font_dict is not None:
            runs.append((text.strip(), str(font_dict["/BaseFont"]).split("+")[-1], font_size * tm[0] * cm[0]))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return runs


def test_validity_reads_berlaku_sejak_and_the_number_is_large() -> None:
    pdf = render_certificate(SAMPLE)
    _, text = read(pdf)
    assert "Berlaku sejak 12 Maret 2027 s.d. 12 Maret 2030" in text
    (number_run,) = [r for r in text_runs(pdf) if r[0] == SAMPLE.number]
    assert number_run[2] >= 14  # large enough to read and type
    if unicode_font_dir() is not None:
        assert number_run[1] == "DejaVuSansMonoBold"  # 0 and O, 1 and l apart


def test_it_does_not_claim_a_digital_signature_it_does_not_have() -> None:
    _, text = read(render_certificate(SAMPLE))
    flat = " ".join(text.split())
    assert "ditandatangani secara digital" not in flat
    assert "Kredensial digital yang dilampirkan pada berkas PDF ini ditandatangani oleh penerbit" in flat


@pytest.mark.parametrize(
    ("status", "word", "banner"),
    [
        ("revoked", "DICABUT", "SERTIFIKAT INI TELAH DICABUT DAN TIDAK BERLAKU (SEJAK 5 JANUARI 2028)"),
        (
            "suspended",
            "DIBEKUKAN",
            "SERTIFIKAT INI SEDANG DIBEKUKAN DAN TIDAK BERLAKU (SEJAK 5 JANUARI 2028)",
        ),
    ],
)
def test_a_revoked_or_suspended_certificate_is_marked(status, word, banner) -> None:
    pdf = render_certificate(dataclasses.replace(SAMPLE, status=status, status_since=date(2028, 1, 5)))
    reader, text = read(pdf)
    assert_one_a4_landscape_page(reader)
    flat = " ".join(text.split())
    assert banner in flat
    big = [r for r in text_runs(pdf) if r[0] == word]
    assert big and big[0][2] >= 60  # the large diagonal word
    assert "Maria Goreti Lelang" in flat  # the facts are still there, under the mark


def test_a_valid_or_expired_certificate_carries_no_mark() -> None:
    for status in ("valid", "expired"):
        _, text = read(render_certificate(dataclasses.replace(SAMPLE, status=status)))
        assert "DICABUT" not in text and "DIBEKUKAN" not in text


def test_the_signed_credential_is_embedded_as_attachments() -> None:
    files = (
        Attachment("APKD-2027-000123.jwt", b"eyJ.eyJ.sig", "application/vc+jwt", "vc+jwt"),
        Attachment("APKD-2027-000123.json", b'{"proof": []}', "application/vc+ld+json", "Data Integrity"),
    )
    pdf = render_certificate(dataclasses.replace(SAMPLE, attachments=files))
    attached = PdfReader(io.BytesIO(pdf)).attachments
    assert {name: contents[0] for name, contents in attached.items()} == {
        "APKD-2027-000123.jwt": b"eyJ.eyJ.sig",
        "APKD-2027-000123.json": b'{"proof": []}',
    }
    assert render_certificate(dataclasses.replace(SAMPLE, attachments=files)) == pdf  # deterministic


def test_a_very_long_name_wraps_whole_onto_three_lines() -> None:
    name = (
        "Raden Ayu Gusti Kanjeng Ratu Siti Nurhaliza Purwaningsih Kusumawardhani Wijayakusuma "
        "Hadiningrat Soerjosoemarno Notoprojo Mangkunegoro Hamengkubuwono Pakualaman Surakarta "
        "Ngayogyakarta"
    )
    assert len(name) > 170
    pdf = render_certificate(dataclasses.replace(SAMPLE, holder_name=name))
    reader, text = read(pdf)
    assert_one_a4_landscape_page(reader)
    assert " ".join(text.split()).count(name) == 1  # wrapped, not cut
    assert "\u2026" not in text
    assert_text_inside_frame(pdf)


# The longest QR text a credential carries: 450 characters, QR version 16 at level M.
LONGEST_QR = ("https://apkd.alorkab.go.id/v/APKD-BPG-5305-2027-000123-X?t=" + "eyJhbGciOiJFZERTQSJ9" * 30)[
    :450
]


def scans_at(pdf_path, tmp_path, dpi: int) -> bool:
    """Print the page at `dpi` (pdftoppm) and read the QR back with zbarimg (an independent decoder)."""
    out = tmp_path / f"page-{dpi}"
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-singlefile", str(pdf_path), str(out)], check=True, timeout=60
    )
    read_back = subprocess.run(
        ["zbarimg", "--raw", "-q", "-Sbinary", f"{out}.png"], capture_output=True, timeout=60
    ).stdout
    return read_back.rstrip(b"\n").decode(errors="replace") == LONGEST_QR


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("zbarimg") is None,
    reason="pdftoppm (poppler-utils) or zbarimg (zbar-tools) is not installed",
)
@pytest.mark.parametrize("status", ["valid", "revoked"])
def test_qr_scans_from_a_150_dpi_print_and_the_minimum_is_measured(tmp_path, status) -> None:
    from apkd.credentials.qr import qr_version

    assert qr_version(LONGEST_QR) == 16
    pdf = tmp_path / "cert.pdf"
    data = dataclasses.replace(SAMPLE, qr_text=LONGEST_QR, status=status, status_since=date(2028, 1, 5))
    pdf.write_bytes(render_certificate(data))
    # 150 dpi: roughly what a phone camera resolves from a printed page at arm's length
    assert scans_at(pdf, tmp_path, 150)
    assert decode_qr_image((tmp_path / "page-150.png").read_bytes()) == LONGEST_QR
    scanned = [dpi for dpi in (150, 120, 100, 90, 75, 60) if scans_at(pdf, tmp_path, dpi)]
    minimum = min(scanned)
    print(f"QR version 16 on the {status} certificate: zbarimg reads it down to {minimum} dpi")
    # Measured when written: 100 dpi (the QR is 42 mm wide, 0.52 mm a module: 3.1 px at 150 dpi).
    assert minimum <= 120, scanned
