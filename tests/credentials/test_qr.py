from __future__ import annotations

import io
import random
import re
import shutil
import string
import subprocess
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from apkd.credentials.qr import MAX_VERSION, QRTooLarge, qr_matrix, qr_png, qr_svg, qr_version
from apkd.credentials.qrdecode import QRDecodeError, decode_qr_image

BASE = "https://apkd.alorkab.go.id/v/APKD-2027-000123?t="
TOKEN_CHARS = string.ascii_letters + string.digits + "-_."


def url_of_length(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return BASE + "".join(rng.choice(TOKEN_CHARS) for _ in range(n - len(BASE)))


@pytest.mark.parametrize("seed", range(5))
def test_450_character_url_round_trips(seed: int) -> None:
    text = url_of_length(450, seed)
    assert len(text) == 450
    assert qr_version(text) <= MAX_VERSION
    assert decode_qr_image(qr_png(text)) == text


def test_short_url_uses_small_version_and_round_trips() -> None:
    text = "https://apkd.alorkab.go.id/v/APKD-2027-000123"
    assert qr_version(text) <= 4
    assert decode_qr_image(qr_png(text, box_size=3, border=4)) == text


def test_text_beyond_version_16_is_refused() -> None:
    text = url_of_length(520, 0)
    with pytest.raises(QRTooLarge) as info:
        qr_png(text)
    assert info.value.version is not None and info.value.version > MAX_VERSION
    assert "terlalu panjang" in str(info.value)
    with pytest.raises(QRTooLarge):
        qr_svg(text)
    with pytest.raises(QRTooLarge):
        qr_version(text)


def test_text_beyond_version_40_is_refused_too() -> None:
    with pytest.raises(QRTooLarge):
        qr_png("x" * 5000)


def test_png_is_deterministic_and_sized_by_box_and_border() -> None:
    text = url_of_length(300, 1)
    first = qr_png(text, box_size=5, border=2)
    assert first == qr_png(text, box_size=5, border=2)
    modules = 17 + 4 * qr_version(text)
    with Image.open(io.BytesIO(first)) as img:
        assert img.format == "PNG"
        assert img.size == ((modules + 4) * 5, (modules + 4) * 5)


def _svg_matrix(svg: bytes) -> list[list[bool]]:
    """Rasterise our SVG path (rows of 'M x y h w v1 h-w z' runs) back into a module matrix."""
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    _, _, w, h = (int(v) for v in root.attrib["viewBox"].split())
    assert w == h
    grid = [[False] * w for _ in range(h)]
    paths = root.findall(f"{ns}path")
    assert len(paths) == 1
    for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", paths[0].attrib["d"]):
        for i in range(int(run)):
            grid[int(y)][int(x) + i] = True
    return grid


def test_svg_draws_exactly_the_qr_modules_and_scans() -> None:
    text = url_of_length(450, 7)
    svg = qr_svg(text)
    assert svg == qr_svg(text)
    assert svg.startswith(b"<?xml") and b"<image" not in svg  # vector, no embedded bitmap
    grid = _svg_matrix(svg)
    assert grid == qr_matrix(text)
    # paint it and read it back
    scale = 6
    img = Image.new("L", (len(grid) * scale, len(grid) * scale), 255)
    for y, row in enumerate(grid):
        for x, dark in enumerate(row):
            if dark:
                img.paste(0, (x * scale, y * scale, (x + 1) * scale, (y + 1) * scale))
    out = io.BytesIO()
    img.save(out, format="PNG")
    assert decode_qr_image(out.getvalue()) == text


def test_decodes_a_rotated_downscaled_jpeg() -> None:
    text = url_of_length(200, 3)
    with Image.open(io.BytesIO(qr_png(text))) as img:
        photo = img.convert("L").rotate(90, expand=True).resize((600, 600))
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=80)
    assert decode_qr_image(out.getvalue()) == text


def test_image_without_qr_gives_indonesian_error() -> None:
    out = io.BytesIO()
    Image.new("L", (300, 300), 255).save(out, format="PNG")
    with pytest.raises(QRDecodeError, match="Kode QR tidak ditemukan"):
        decode_qr_image(out.getvalue())


@pytest.mark.parametrize("data", [b"", b"bukan gambar", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_non_image_gives_indonesian_error(data: bytes) -> None:
    with pytest.raises(QRDecodeError) as info:
        decode_qr_image(data)
    assert any(word in str(info.value) for word in ("gambar", "Berkas"))


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (Debian zbar-tools) is not installed")
@pytest.mark.parametrize("length", [45, 450])
def test_zbarimg_reads_exactly_the_text(tmp_path, length: int) -> None:
    text = url_of_length(length, 11) if length > len(BASE) else BASE[:length]
    png = tmp_path / "qr.png"
    png.write_bytes(qr_png(text))
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", str(png)], capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8").removesuffix("\n") == text
