"""The scheme's badge image (``achievement.image`` of every credential of the scheme), as
PNG and SVG: a navy disc in a gold ring with the scheme code, and the words "SERTIFIKAT
KOMPETENSI" / "APKD". The same scheme always gives the same bytes.

Pure: no database. The PNG text uses Pillow's built-in scalable font, so no system font
is needed.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

__all__ = ["badge_png", "badge_svg"]

SIZE = 400
_NAVY = (22, 48, 96)
_GOLD = (184, 146, 52)
_WHITE = (255, 255, 255)


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int, size: int) -> ImageFont.FreeTypeFont:
    while size > 10:
        font = ImageFont.load_default(size=size)
        if draw.textlength(text, font=font) <= width:
            return font  # type: ignore[return-value]
        size -= 2
    return ImageFont.load_default(size=10)  # type: ignore[return-value]


@lru_cache(maxsize=64)
def badge_png(code: str) -> bytes:
    """The badge of scheme `code`, a 400 x 400 PNG."""
    image = Image.new("RGBA", (SIZE, SIZE), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, SIZE - 4, SIZE - 4), fill=_GOLD)
    draw.ellipse((22, 22, SIZE - 22, SIZE - 22), fill=_NAVY)
    draw.ellipse((34, 34, SIZE - 34, SIZE - 34), outline=_GOLD, width=3)
    centre = SIZE // 2
    draw.text((centre, 120), "SERTIFIKAT", font=_fit(draw, "SERTIFIKAT", 220, 30), fill=_GOLD, anchor="mm")
    draw.text((centre, 152), "KOMPETENSI", font=_fit(draw, "KOMPETENSI", 220, 30), fill=_GOLD, anchor="mm")
    draw.text((centre, 215), code, font=_fit(draw, code, 250, 84), fill=_WHITE, anchor="mm")
    draw.text((centre, 290), "APKD", font=_fit(draw, "APKD", 200, 34), fill=_GOLD, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def badge_svg(code: str, title: str) -> bytes:
    """The badge of scheme `code` as a standalone SVG (its title in <title>)."""
    navy, gold = "#163060", "#b89234"
    code_size = max(24, min(84, int(250 / max(1, len(code)) * 1.6)))
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {SIZE} {SIZE}" '
        f'width="{SIZE}" height="{SIZE}" role="img" aria-label="{_xml(title)}">'
        f"<title>{_xml(title)}</title>"
        f'<circle cx="200" cy="200" r="196" fill="{gold}"/>'
        f'<circle cx="200" cy="200" r="178" fill="{navy}"/>'
        f'<circle cx="200" cy="200" r="166" fill="none" stroke="{gold}" stroke-width="3"/>'
        f'<g font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-weight="bold" '
        f'text-anchor="middle" fill="{gold}">'
        '<text x="200" y="130" font-size="28">SERTIFIKAT</text>'
        '<text x="200" y="162" font-size="28">KOMPETENSI</text>'
        f'<text x="200" y="244" font-size="{code_size}" fill="#fff">{_xml(code)}</text>'
        '<text x="200" y="302" font-size="32">APKD</text>'
        "</g></svg>\n"
    )
    return svg.encode("utf-8")
