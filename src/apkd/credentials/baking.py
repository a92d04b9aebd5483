"""Open Badges 3.0 baking (OB 3.0 section 5.3, "Badge Baking"): the credential embedded in
the badge image, so that the image file alone carries what a verifier checks.

- PNG: one ``iTXt`` chunk with keyword ``openbadgecredential``, no compression (flag 0,
  method 0), empty language tag and translated keyword, whose text is the credential (the
  JSON with its embedded proof, or the compact JWS); inserted before ``IEND``, and any
  earlier chunk of that keyword removed, since the spec allows only one.
- SVG: an ``xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"`` on the root ``<svg>`` and,
  right after it, one ``<openbadges:credential>`` holding the JSON credential in CDATA (or,
  for a compact JWS, a ``verify`` attribute with it).

Pure: bytes in, bytes out; no database, no third-party code.
"""

from __future__ import annotations

import re
import struct
import zlib

__all__ = ["OB_SVG_NAMESPACE", "PNG_KEYWORD", "bake_png", "bake_svg"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD = "openbadgecredential"
OB_SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    out: list[tuple[bytes, bytes]] = []
    pos = len(PNG_SIGNATURE)
    while pos < len(png):
        if pos + 8 > len(png):
            raise ValueError("truncated PNG chunk")
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        if len(data) != length or pos + 12 + length > len(png):
            raise ValueError("truncated PNG chunk")
        out.append((kind, data))
        pos += 12 + length
        if kind == b"IEND":
            break
    if not out or out[-1][0] != b"IEND":
        raise ValueError("PNG without IEND")
    return out


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _is_baked(kind: bytes, data: bytes) -> bool:
    return kind == b"iTXt" and data.split(b"\x00", 1)[0] == PNG_KEYWORD.encode("latin-1")


def bake_png(png: bytes, credential: str) -> bytes:
    """`png` with `credential` (JSON text or compact JWS) in its one openbadgecredential chunk."""
    chunks = [(k, d) for k, d in _chunks(png) if not _is_baked(k, d)]
    # keyword \0 compression-flag compression-method language-tag \0 translated-keyword \0 text
    itxt = PNG_KEYWORD.encode("latin-1") + b"\x00\x00\x00" + b"\x00" + b"\x00" + credential.encode("utf-8")
    out = [PNG_SIGNATURE]
    for kind, data in chunks:
        if kind == b"IEND":
            out.append(_chunk(b"iTXt", itxt))
        out.append(_chunk(kind, data))
    return b"".join(out)


_SVG_OPEN = re.compile(rb"<svg\b[^>]*>", re.S)


def _xml_attr(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def bake_svg(svg: bytes, credential: str, *, jws: bool = False) -> bytes:
    """`svg` with an ``<openbadges:credential>`` right after its root tag: the JSON credential
    in CDATA, or (``jws=True``) the compact JWS in its ``verify`` attribute."""
    match = _SVG_OPEN.search(svg)
    if match is None:
        raise ValueError("no <svg> element")
    tag = match.group(0)
    if b"xmlns:openbadges=" not in tag:
        closing = b"/>" if tag.endswith(b"/>") else b">"
        tag = tag[: -len(closing)].rstrip() + f' xmlns:openbadges="{OB_SVG_NAMESPACE}"'.encode() + closing
    if jws:
        element = f'<openbadges:credential verify="{_xml_attr(credential)}"></openbadges:credential>'
    else:
        body = credential.replace("]]>", "]]]]><![CDATA[>")  # a CDATA section cannot hold "]]>"
        element = f"<openbadges:credential><![CDATA[{body}]]></openbadges:credential>"
    return svg[: match.start()] + tag + element.encode("utf-8") + svg[match.end() :]
