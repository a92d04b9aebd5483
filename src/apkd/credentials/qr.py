"""QR codes for credentials: PNG and SVG renderings of a credential's `qr_text`.

Error correction is level M (15 % recovery), the usual trade-off for printed codes. The
symbol is capped at version 16 (81 x 81 modules): larger ones get too dense to scan
reliably from a printed A4 certificate with an ordinary phone camera. At M, version 16
holds 450 bytes, so a `qr_text` of up to 450 ASCII characters always fits.

The same text always gives the same bytes (fixed mode, mask chosen deterministically, no
timestamps in the PNG or SVG).
"""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError

__all__ = ["MAX_VERSION", "QRTooLarge", "qr_matrix", "qr_png", "qr_svg", "qr_version"]

MAX_VERSION = 16


class QRTooLarge(ValueError):
    """The text needs a QR version above MAX_VERSION at error correction M."""

    def __init__(self, length: int, version: int | None) -> None:
        needed = f"versi {version}" if version else "lebih dari versi 40"
        super().__init__(
            f"Teks QR terlalu panjang ({length} karakter, perlu {needed}); "
            f"maksimum versi {MAX_VERSION} agar tetap terbaca dari sertifikat cetak."
        )
        self.length = length
        self.version = version


def _build(text: str, box_size: int = 8, border: int = 4) -> qrcode.QRCode:
    if box_size < 1 or border < 0:
        raise ValueError("box_size must be >= 1 and border >= 0")
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    code.add_data(text)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError) as exc:  # does not fit even version 40
        raise QRTooLarge(len(text), None) from exc
    if code.version > MAX_VERSION:
        raise QRTooLarge(len(text), code.version)
    return code


def qr_version(text: str) -> int:
    """The QR version (1..16) that `text` needs at error correction M; QRTooLarge above 16."""
    return int(_build(text).version)


def qr_matrix(text: str, border: int = 4) -> list[list[bool]]:
    """The module matrix (True = dark), including a quiet zone of `border` modules."""
    return [list(row) for row in _build(text, border=border).get_matrix()]


def qr_png(text: str, box_size: int = 8, border: int = 4) -> bytes:
    """A black-on-white 1-bit PNG of `text`; each module is `box_size` pixels square."""
    image = _build(text, box_size=box_size, border=border).make_image()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def qr_svg(text: str) -> bytes:
    """A standalone, scalable SVG of `text` (one path, one unit per module, white background).

    Each row's runs of dark modules become one rectangle in the path, which keeps the file
    small; `shape-rendering="crispEdges"` prevents hairline seams between runs.
    """
    matrix = _build(text).get_matrix()
    size = len(matrix)
    parts: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    # 1 module = 0.5 mm at natural size, so a version 16 code (89 modules) is about 44.5 mm.
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {size} {size}" '
        f'width="{size / 2:g}mm" height="{size / 2:g}mm" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(parts)}"/>'
        "</svg>\n"
    )
    return svg.encode("utf-8")
