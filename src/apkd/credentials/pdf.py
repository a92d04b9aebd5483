"""The printable certificate: one A4 landscape page in Indonesian, with the credential's QR code.

Pure rendering (no database): the caller gathers a CertificateData and gets PDF bytes.

Text is set in DejaVu (Sans, Serif, Sans Mono Bold, from fonts-dejavu-core; free licence, see docs/decisions/045), embedded
as a subset, so any character the font has renders (Latin with every diacritic, Greek,
Cyrillic, ...); a character it lacks becomes its base letter or "?". The fonts come from the
system (Debian's fonts-dejavu-core, which .ci/run installs); without them the page falls back,
with a logged warning, to the PDF core fonts (Helvetica, Times, Courier) in WinAnsi (cp1252),
where pdf_safe_text reduces text to what they show. Long names, instansi and unit lists
shrink, then wrap, then (as a last resort) are shortened with an ellipsis: nothing leaves the
page and the certificate is always exactly one page.

A revoked or suspended credential's certificate is printed with a DICABUT / DIBEKUKAN mark:
the page is rendered from the credential's current status. The signed credential rides along
as file attachments (the vc+jwt and the Data Integrity JSON): the PDF itself carries no PDF
signature, and its text says so truthfully. The output is deterministic for the same data
(the PDF creation date is the issue date).
"""

from __future__ import annotations

import io
import logging
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, TextEmphasis, WrapMode

from apkd.credentials.qr import qr_png
from apkd.timefmt import format_date_id, format_place_date_id

__all__ = [
    "FONT_DIRS",
    "Attachment",
    "CertificateData",
    "pdf_safe_text",
    "render_certificate",
    "unicode_font_dir",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    """A file embedded in the PDF (an attachment a PDF reader lists)."""

    name: str
    content: bytes
    mime_type: str
    description: str


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on a certificate. Strings are shown as given (after pdf_safe_text)."""

    body_name: str  # the certification body (LSP) issuing the certificate
    holder_name: str
    nip: str
    instansi: str
    jabatan: str  # the holder's current position (may be empty)
    scheme_code: str
    scheme_title: str
    position: str  # the position the scheme certifies for, e.g. "Bendahara Pengeluaran"
    units: Sequence[tuple[str, str]]  # (unit code, unit title)
    place: str  # where it was issued, e.g. "Kalabahi"
    issued_on: date
    valid_until: date
    signatory_name: str
    signatory_nip: str
    signatory_title: str
    number: str  # the credential number
    qr_text: str  # what the QR code holds (at most QR version 16 at level M)
    verify_url: str  # the short public page address printed under the QR code
    status: str = "valid"  # valid | revoked | suspended | expired: the current one
    status_since: date | None = None  # when it was revoked or suspended
    attachments: tuple[Attachment, ...] = ()  # the signed credential, as files


# --- text safety -------------------------------------------------------------------------

_ENCODING = "windows-1252"  # what the PDF's WinAnsiEncoding means

_REPLACEMENTS: dict[str, str] = {
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2015": "\u2014",  # horizontal bar -> em dash
    "\u2212": "-",  # minus sign
    "\u2032": "'",  # prime
    "\u2033": '"',  # double prime
    "\u2035": "`",
    "\u2039": "<",
    "\u203a": ">",
    "\u2044": "/",
    "\u2027": "\u00b7",
    "\u2024": ".",
    "\u2025": "..",
    "\u201b": "'",
    "\u201f": '"',
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero-width space
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
}


def _safe_char(ch: str) -> str:
    if ch in _REPLACEMENTS:
        return _REPLACEMENTS[ch]
    if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in "\u2028\u2029":
        return " "
    if unicodedata.category(ch).startswith("Z"):
        return " "
    try:
        ch.encode(_ENCODING)
        return ch
    except UnicodeEncodeError:
        pass
    # A letter with a diacritic outside cp1252 (e.g. "ā"): keep the base letter(s).
    decomposed = unicodedata.normalize("NFKD", ch)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    try:
        base.encode(_ENCODING)
        return base if base else "?"
    except UnicodeEncodeError:
        return "?"


def pdf_safe_text(text: str) -> str:
    """`text` reduced to what the core fonts can show, on one line with single spaces."""
    text = unicodedata.normalize("NFC", text)
    return " ".join("".join(_safe_char(ch) for ch in text).split())


# --- fonts -------------------------------------------------------------------------------

# Where DejaVu is found: Debian/Ubuntu (fonts-dejavu-core), Fedora, Arch, Alpine, macOS Homebrew.
FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts/dejavu"),
    Path("/opt/homebrew/share/fonts"),
)
# (family, style) -> file
# (family, style) -> file: all in Debian's fonts-dejavu-core, which has no italic faces, so
# text asked for in italic is set upright in the Unicode fonts.
_FONT_FILES: dict[tuple[str, str], str] = {
    ("sans", ""): "DejaVuSans.ttf",
    ("sans", "B"): "DejaVuSans-Bold.ttf",
    ("serif", ""): "DejaVuSerif.ttf",
    ("serif", "B"): "DejaVuSerif-Bold.ttf",
    ("mono", "B"): "DejaVuSansMono-Bold.ttf",
}
_CORE = {"sans": "Helvetica", "serif": "Times", "mono": "Courier"}


@lru_cache(maxsize=1)
def unicode_font_dir() -> Path | None:
    """The first of FONT_DIRS holding every DejaVu file the certificate uses, or None."""
    for folder in FONT_DIRS:
        if all((folder / name).is_file() for name in _FONT_FILES.values()):
            return folder
    log.warning(
        "DejaVu fonts not found in %s: certificates use the PDF core fonts, which show only "
        "Latin-1 (install fonts-dejavu-core)",
        ", ".join(str(d) for d in FONT_DIRS),
    )
    return None


_coverage: dict[Path, frozenset[int]] = {}


def _covered(folder: Path, cmap: dict[int, Any]) -> frozenset[int]:
    """The code points of `cmap` (DejaVu Sans from `folder`), computed once per folder."""
    if folder not in _coverage:
        _coverage[folder] = frozenset(cmap)
    return _coverage[folder]


def _unicode_text(covered: frozenset[int]) -> Callable[[str], str]:
    def char(ch: str) -> str:
        if ch in _REPLACEMENTS and ord(ch) not in covered:
            return _REPLACEMENTS[ch]
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf") or ch in "\u00ad":
            return " " if category == "Cc" else ""
        if category.startswith("Z"):
            return " "
        if ord(ch) in covered:
            return ch
        decomposed = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        return base if base and all(ord(c) in covered for c in base) else "?"

    def clean(text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        return " ".join("".join(char(ch) for ch in text).split())

    return clean


# --- layout ------------------------------------------------------------------------------

PAGE_W, PAGE_H = 297.0, 210.0  # A4 landscape, mm
_OUTER, _INNER = 8.0, 10.5  # border insets
_LEFT, _RIGHT = 24.0, PAGE_W - 24.0
_CONTENT_W = _RIGHT - _LEFT
_BOTTOM_TOP = 145.0  # where the QR / validity / signature band starts
_PT = 25.4 / 72  # one point in mm
_QR_SIZE = 42.0  # mm: a version 16 code (81 modules) gets modules of 0.52 mm

_NAVY = (22, 48, 96)
_GOLD = (184, 146, 52)
_INK = (30, 30, 30)
_GREY = (95, 95, 95)
_GREEN = (18, 100, 60)
_MARKS = {  # status -> (the word, its colour, the banner)
    "revoked": ("DICABUT", (178, 24, 24), "SERTIFIKAT INI TELAH DICABUT DAN TIDAK BERLAKU"),
    "suspended": ("DIBEKUKAN", (176, 96, 0), "SERTIFIKAT INI SEDANG DIBEKUKAN DAN TIDAK BERLAKU"),
}


def _line_h(size: float) -> float:
    return size * _PT * 1.25


class _Certificate(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.core_fonts_encoding = _ENCODING
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        self.c_margin = 0
        folder = unicode_font_dir()
        self.clean: Callable[[str], str]
        if folder is None:
            self.sans, self.serif, self.mono = _CORE["sans"], _CORE["serif"], _CORE["mono"]
            self.clean = pdf_safe_text
        else:
            for (family, style), name in _FONT_FILES.items():
                self.add_font(f"dejavu-{family}", style, str(folder / name))
            self.sans, self.serif, self.mono = "dejavu-sans", "dejavu-serif", "dejavu-mono"
            self.set_fallback_fonts([self.sans], exact_match=False)
            # What DejaVu Sans (the widest of the three, and the others' fallback) has a glyph for.
            self.clean = _unicode_text(_covered(folder, getattr(self.fonts[self.sans], "cmap", {})))
            self.upright_only = True

    def set_font(self, family: str | None = None, style: str | TextEmphasis = "", size: float = 0) -> None:
        if getattr(self, "upright_only", False) and isinstance(style, str):
            style = style.replace("I", "")  # no italic face (see _FONT_FILES)
        super().set_font(family, style, size)

    # -- measuring --

    def wrap(self, text: str, width: float, wrapmode: WrapMode = WrapMode.WORD) -> list[str]:
        """`text` broken into lines of at most `width` mm in the current font."""
        if not text:
            return [""]
        lines = self.multi_cell(
            width, 5, text, dry_run=True, output=MethodReturnValue.LINES, wrapmode=wrapmode
        )
        if not isinstance(lines, list):  # output=LINES always gives a list
            raise TypeError("unexpected multi_cell result")
        return [str(line) for line in lines] or [""]

    def ellipsize(self, text: str, width: float) -> str:
        if self.get_string_width(text) <= width:
            return text
        while text and self.get_string_width(text + "\u2026") > width:
            text = text[:-1]
        return text.rstrip() + "\u2026"

    def fit(
        self,
        text: str,
        family: str,
        style: str,
        size: float,
        min_size: float,
        width: float,
        max_lines: int,
        wrapmode: WrapMode = WrapMode.WORD,
    ) -> tuple[float, list[str]]:
        """The largest font size (and its lines) that shows `text` in `width` x `max_lines`.

        First shrink a little on one line (to 80 %), then allow wrapping from full size down;
        at `min_size` the last line is cut with an ellipsis.
        """
        candidates: list[float] = []
        s = size
        while s >= min_size - 1e-9:
            candidates.append(round(s, 2))
            s -= 0.5
        one_line_floor = max(min_size, size * 0.8)
        for s in candidates:
            if s < one_line_floor:
                break
            self.set_font(family, style, s)
            if self.get_string_width(text) <= width:
                return s, [text]
        for s in candidates:
            self.set_font(family, style, s)
            lines = self.wrap(text, width, wrapmode)
            if len(lines) <= max_lines:
                return s, lines
        self.set_font(family, style, min_size)
        lines = self.wrap(text, width, wrapmode)[:max_lines]
        lines[-1] = self.ellipsize(lines[-1] + " \u2026", width) if lines[-1] else "\u2026"
        return min_size, lines

    # -- drawing --

    def centered(
        self,
        text: str,
        y: float,
        family: str,
        style: str,
        size: float,
        *,
        min_size: float | None = None,
        max_lines: int = 1,
        x: float = _LEFT,
        width: float = _CONTENT_W,
        color: tuple[int, int, int] = _INK,
        align: Align = Align.C,
        char_spacing: float = 0.0,
        wrapmode: WrapMode = WrapMode.WORD,
        underline: bool = False,
    ) -> float:
        """Draw `text` in the box [x, x+width] from `y`, fitted; return the y below it."""
        size, lines = self.fit(text, family, style, size, min_size or size, width, max_lines, wrapmode)
        self.set_font(family, style + ("U" if underline else ""), size)
        self.set_char_spacing(char_spacing)
        self.set_text_color(*color)
        h = _line_h(size)
        for line in lines:
            self.set_xy(x, y)
            self.cell(width, h, line, align=align)
            y += h
        self.set_char_spacing(0)
        return y

    def frame(self) -> None:
        self.set_draw_color(*_NAVY)
        self.set_line_width(1.2)
        self.rect(_OUTER, _OUTER, PAGE_W - 2 * _OUTER, PAGE_H - 2 * _OUTER)
        self.set_draw_color(*_GOLD)
        self.set_line_width(0.4)
        self.rect(_INNER, _INNER, PAGE_W - 2 * _INNER, PAGE_H - 2 * _INNER)
        # small gold squares in the corners of the inner frame
        self.set_fill_color(*_GOLD)
        for cx in (_INNER, PAGE_W - _INNER):
            for cy in (_INNER, PAGE_H - _INNER):
                self.rect(cx - 1.6, cy - 1.6, 3.2, 3.2, style="F")

    def rule(self, y: float, half_width: float) -> None:
        self.set_draw_color(*_GOLD)
        self.set_line_width(0.5)
        self.line(PAGE_W / 2 - half_width, y, PAGE_W / 2 + half_width, y)


def _units_block(pdf: _Certificate, units: Sequence[tuple[str, str]], top: float, bottom: float) -> None:
    """The competency units, in one or two columns, fitted into [top, bottom]."""
    rows = [(pdf.clean(code), pdf.clean(title)) for code, title in units]
    if not rows:
        return
    gap = 3.0

    def layout(size: float, cols: int) -> tuple[float, float, int] | None:
        """(code column width, title column width, rows per column) or None if too tall."""
        pdf.set_font(pdf.sans, "B", size)
        code_w = max(pdf.get_string_width(c) for c, _ in rows)
        col_w = _CONTENT_W if cols == 1 else (_CONTENT_W - 6) / 2
        title_w = col_w - code_w - gap
        per_col = -(-len(rows) // cols)
        if title_w < 30 or per_col * _line_h(size) > bottom - top:
            return None
        return code_w, title_w, per_col

    def titles_fit(size: float, title_w: float) -> bool:
        pdf.set_font(pdf.sans, "", size)
        return all(pdf.get_string_width(t) <= title_w for _, t in rows)

    sizes = (9.0, 8.5, 8.0, 7.5, 7.0, 6.5)
    chosen: tuple[float, int, float, float, int] | None = None
    for size in sizes:  # prefer: no shortening; then fewer columns; then larger type
        for cols in (1, 2):
            fitted = layout(size, cols)
            if fitted and titles_fit(size, fitted[1]):
                chosen = (size, cols, *fitted)
                break
        if chosen:
            break
    if chosen is None:  # shorten titles with an ellipsis
        for size in sizes:
            for cols in (1, 2):
                fitted = layout(size, cols)
                if fitted:
                    chosen = (size, cols, *fitted)
                    break
            if chosen:
                break
    if chosen is None:  # too many units even in two columns: show what fits and a count
        size, cols = sizes[-1], 2
        per_col = max(1, int((bottom - top) // _line_h(size)))
        shown = per_col * cols - 1
        rows = [*rows[:shown], ("", f"\u2026 dan {len(rows) - shown} unit kompetensi lainnya")]
        pdf.set_font(pdf.sans, "B", size)
        code_w = max(pdf.get_string_width(c) for c, _ in rows)
        chosen = (size, cols, code_w, (_CONTENT_W - 6) / 2 - code_w - gap, per_col)

    size, cols, code_w, title_w, per_col = chosen
    h = _line_h(size)
    pdf.set_font(pdf.sans, "", size)
    used_title_w = min(title_w, max(pdf.get_string_width(t) for _, t in rows))
    col_w = code_w + gap + used_title_w
    block_w = col_w * cols + (6 if cols == 2 else 0)
    x0 = (PAGE_W - block_w) / 2
    pdf.set_text_color(*_INK)
    for i, (code, title) in enumerate(rows):
        col, row = divmod(i, per_col)
        x = x0 + col * (col_w + 6)
        y = top + row * h
        pdf.set_font(pdf.sans, "B", size)
        pdf.set_xy(x, y)
        pdf.cell(code_w, h, code)
        pdf.set_font(pdf.sans, "", size)
        pdf.set_xy(x + code_w + gap, y)
        pdf.cell(used_title_w, h, pdf.ellipsize(title, used_title_w))


def _status_mark(pdf: _Certificate, data: CertificateData) -> None:
    """DICABUT / DIBEKUKAN: a banner at the top and a large diagonal word over the page."""
    mark = _MARKS.get(data.status)
    if mark is None:
        return
    word, color, banner = mark
    if data.status_since is not None:
        banner += f" (SEJAK {format_date_id(data.status_since).upper()})"
    pdf.set_fill_color(*color)
    pdf.rect(_INNER + 2, _INNER + 1.5, PAGE_W - 2 * _INNER - 4, 6.0, style="F")
    pdf.centered(banner, _INNER + 2.3, pdf.sans, "B", 10, min_size=7, color=(255, 255, 255))
    # Across the middle, clear of the QR code (bottom left), which must still scan.
    cx, cy = PAGE_W / 2 + 18, PAGE_H / 2 - 14
    with pdf.local_context(fill_opacity=0.28, text_color=color), pdf.rotation(20, cx, cy):
        pdf.set_font(pdf.sans, "B", 110)
        size = 110 * min(1.0, 200 / pdf.get_string_width(word))
        pdf.set_font(pdf.sans, "B", size)
        pdf.set_text_color(*color)
        pdf.set_xy(cx - 120, cy - _line_h(size) / 2)
        pdf.cell(240, _line_h(size), word, align=Align.C)
    pdf.set_draw_color(*color)
    pdf.set_line_width(1.5)
    pdf.rect(_INNER + 1, _INNER + 1, PAGE_W - 2 * _INNER - 2, PAGE_H - 2 * _INNER - 2)


def render_certificate(data: CertificateData) -> bytes:
    """The certificate as PDF bytes: one A4 landscape page, with `data.attachments` embedded.

    Raises apkd.credentials.qr.QRTooLarge if `data.qr_text` does not fit a version 16 QR code.
    """
    pdf = _Certificate()
    t = pdf.clean
    created = datetime.combine(data.issued_on, time(0, 0), tzinfo=UTC)
    pdf.set_creation_date(created)
    pdf.set_title(t(f"Sertifikat Kompetensi {data.number}"))
    pdf.set_author(t(data.body_name))
    pdf.set_subject(t(f"{data.scheme_title} - {data.holder_name}"))
    pdf.set_creator("apkd")
    pdf.add_page()
    pdf.frame()
    for item in data.attachments:
        pdf.embed_file(
            bytes=item.content,
            basename=item.name,
            desc=item.description,
            mime_type=item.mime_type,
            creation_date=created,
            modification_date=created,
            compress=True,
        )

    # --- heading (below the status banner when there is one) ---
    y = pdf.centered(
        t(data.body_name).upper(),
        20.5 if data.status in _MARKS else 17.0,
        pdf.sans,
        "B",
        12,
        min_size=8,
        max_lines=2,
        color=_NAVY,
        char_spacing=0.4,
    )
    y = pdf.centered("SERTIFIKAT KOMPETENSI", y + 1.5, pdf.serif, "B", 28, color=_NAVY, char_spacing=1.5)
    pdf.rule(y + 0.6, 55)
    # The number, large and in a monospaced face (0 and O apart), to be read and typed.
    y = pdf.centered("Nomor sertifikat", y + 1.6, pdf.sans, "", 8, color=_GREY)
    y = pdf.centered(t(data.number), y + 0.2, pdf.mono, "B", 15, min_size=9, color=_NAVY)

    # --- holder ---
    y = pdf.centered("diberikan kepada", y + 2.0, pdf.serif, "I", 13, color=_GREY)
    y = pdf.centered(t(data.holder_name), y + 0.8, pdf.serif, "B", 24, min_size=12, max_lines=3, color=_NAVY)
    y = pdf.centered(f"NIP {t(data.nip)}", y + 0.5, pdf.sans, "", 12, min_size=9)
    role = ", ".join(p for p in (t(data.jabatan), t(data.instansi)) if p)
    if role:
        y = pdf.centered(role, y + 0.5, pdf.sans, "", 11, min_size=8, max_lines=2)

    # --- outcome ---
    y = pdf.centered("telah mengikuti uji kompetensi dan dinyatakan", y + 2.5, pdf.sans, "", 11, color=_GREY)
    y = pdf.centered("Kompeten", y + 0.3, pdf.serif, "B", 19, color=_GREEN)
    scheme = t(data.scheme_title)
    if data.scheme_code.strip():
        scheme = f"{scheme} ({t(data.scheme_code)})"
    y = pdf.centered(f"pada skema sertifikasi {scheme}", y + 0.3, pdf.sans, "B", 12, min_size=8, max_lines=2)
    if data.position.strip():
        y = pdf.centered(f"untuk jabatan {t(data.position)}", y + 0.3, pdf.sans, "", 10, min_size=8)

    # --- competency units ---
    if data.units:
        y = pdf.centered("Unit Kompetensi", y + 2.0, pdf.sans, "B", 9, color=_NAVY)
        _units_block(pdf, data.units, y + 0.5, _BOTTOM_TOP - 3.0)

    # --- bottom band: QR (left), validity (centre), signature (right) ---
    # The QR is drawn without a quiet zone of its own: the white page around it is one (at
    # least 4 modules on every side), so the modules are as large as the band allows.
    qr_size = _QR_SIZE
    qr_x, qr_y = 22.0, _BOTTOM_TOP
    pdf.image(io.BytesIO(qr_png(data.qr_text, box_size=8, border=0)), x=qr_x, y=qr_y, w=qr_size, h=qr_size)
    band_w = 62.0
    yq = pdf.centered(
        "Pindai untuk memeriksa keabsahan",
        qr_y + qr_size + 2.4,
        pdf.sans,
        "B",
        7,
        min_size=6,
        x=qr_x,
        width=band_w,
        align=Align.L,
        color=_NAVY,
    )
    pdf.centered(
        t(data.verify_url),
        yq,
        pdf.sans,
        "",
        6,
        min_size=5,
        max_lines=2,
        x=qr_x,
        width=band_w,
        align=Align.L,
        color=_GREY,
        wrapmode=WrapMode.CHAR,
    )

    mid_x, mid_w = 88.0, 104.0
    ym = pdf.centered(
        f"Berlaku sejak {format_date_id(data.issued_on)} s.d. {format_date_id(data.valid_until)}",
        _BOTTOM_TOP + 15.0,
        pdf.sans,
        "B",
        11,
        min_size=8,
        max_lines=2,
        x=mid_x,
        width=mid_w,
        color=_NAVY,
    )
    pdf.centered(
        "Sertifikat ini diterbitkan secara elektronik. Kredensial digital yang dilampirkan pada "
        "berkas PDF ini ditandatangani oleh penerbit; keabsahan dan status terkininya dapat "
        "diperiksa dengan memindai kode QR.",
        ym + 1.5,
        pdf.sans,
        "I",
        7,
        min_size=6,
        max_lines=3,
        x=mid_x + 4,
        width=mid_w - 8,
        color=_GREY,
    )

    sig_x, sig_w = 196.0, 77.0
    ys = pdf.centered(
        format_place_date_id(t(data.place), data.issued_on),
        _BOTTOM_TOP,
        pdf.sans,
        "",
        10,
        min_size=8,
        x=sig_x,
        width=sig_w,
    )
    ys = pdf.centered(
        t(data.signatory_title), ys + 0.3, pdf.sans, "", 10, min_size=7, max_lines=2, x=sig_x, width=sig_w
    )
    ys = max(ys, _BOTTOM_TOP + 13.0) + 15.0  # room for the signature
    ys = pdf.centered(
        t(data.signatory_name), ys, pdf.sans, "B", 10, min_size=7, x=sig_x, width=sig_w, underline=True
    )
    if data.signatory_nip.strip():
        pdf.centered(
            f"NIP {t(data.signatory_nip)}", ys + 0.3, pdf.sans, "", 9, min_size=7, x=sig_x, width=sig_w
        )

    _status_mark(pdf, data)
    return bytes(pdf.output())
