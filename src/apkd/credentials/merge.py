"""Merging certificate PDFs into one document (no database): a session's certificates printed
at once. Each part is one credential's own certificate, rendered by :mod:`apkd.credentials.pdf`;
the merge keeps their pages as they are and adds one outline entry per certificate."""

from __future__ import annotations

import io
from collections.abc import Sequence

from pypdf import PdfReader, PdfWriter


def merge_pdfs(parts: Sequence[bytes], title: str) -> bytes:
    writer = PdfWriter()
    for part in parts:
        reader = PdfReader(io.BytesIO(part))
        first = len(writer.pages)
        writer.append(reader)
        name = (reader.metadata.title if reader.metadata else None) or f"Sertifikat {first + 1}"
        writer.add_outline_item(title=str(name), page_number=first)
    writer.add_metadata({"/Title": title, "/Producer": "apkd"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
