from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
from datetime import date

import pytest
from pypdf import PdfReader
from pypdf.generic import RectangleObject

from apkd.credentials.pdf import CertificateData, pdf_safe_text, render_certificate
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
        "Berlaku sampai 12 Maret 2030",
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
    assert "Berlaku sampai 12 Maret 2030" in text
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


def test_characters_outside_the_core_fonts_never_break_rendering() -> None:
    data = dataclasses.replace(
        SAMPLE,
        holder_name="Nguy\u1ec5n Th\u1ecb \u00c1nh \u201cAnna\u201d \u738b\U0001f600",
        instansi="Dinas\u00a0Pendidikan\u200b \u2013 Kab.\tAlor\n",
    )
    reader, text = read(render_certificate(data))
    assert "Nguyen Thi \u00c1nh \u201cAnna\u201d ??" in text  # accents kept where possible
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


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_qr_on_the_printed_page_scans(tmp_path) -> None:
    qr_text = "https://apkd.alorkab.go.id/v/APKD-2027-000123?t=" + "eyJhbGciOiJFZERTQSJ9" * 20
    pdf = tmp_path / "cert.pdf"
    pdf.write_bytes(render_certificate(dataclasses.replace(SAMPLE, qr_text=qr_text)))
    # 150 dpi: roughly what a phone camera resolves from a printed page at arm's length
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", str(pdf), str(tmp_path / "page")], check=True, timeout=60
    )
    (page,) = tmp_path.glob("page*.png")
    assert decode_qr_image(page.read_bytes()) == qr_text
