"""Reading a QR code back from an image (an upload of a photo or a screenshot of one)."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["QRDecodeError", "decode_qr_image"]

# Refuse absurd images before decoding them (decompression bombs).
_MAX_PIXELS = 40_000_000
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


class QRDecodeError(ValueError):
    """No QR code could be read from the image; the message is for the user (Indonesian)."""


def decode_qr_image(data: bytes) -> str:
    """The text of the first QR code found in an image (PNG, JPEG, ... anything Pillow reads).

    Raises QRDecodeError when the bytes are not an image or hold no readable QR code.
    """
    if not data:
        raise QRDecodeError("Berkas gambar kosong.")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > _MAX_PIXELS:
                raise QRDecodeError("Gambar terlalu besar untuk diperiksa.")
            # Phone photos carry their rotation in EXIF; grayscale is all the decoder needs.
            image = ImageOps.exif_transpose(opened).convert("L")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise QRDecodeError("Berkas bukan gambar yang dapat dibaca.") from exc
    for barcode in zxingcpp.read_barcodes(image, formats=_QR_ONLY, text_mode=zxingcpp.TextMode.Plain):
        if barcode.valid and barcode.text:
            return str(barcode.text)
    raise QRDecodeError(
        "Kode QR tidak ditemukan atau tidak terbaca. Pastikan seluruh kode QR terlihat jelas, "
        "tidak buram, dan cukup terang."
    )
