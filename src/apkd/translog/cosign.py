"""Witness cosignatures of the log's checkpoints (C2SP tlog-cosignature, Ed25519 ``cosignature/v1``).

Pure: no database, no HTTP. The server uses it to check a cosignature a witness hands in
before it stores it; ``apkd log verify --witness-key`` uses it to check the cosignatures the
server serves, trusting only the witness keys its operator gave.

Formats (from the C2SP texts, signed-note and tlog-cosignature):

- a witness's verifier key (a "vkey"): ``<name>+<hex key ID>+<base64(0x04 || 32-byte key)>``;
- its key ID: ``SHA-256(<name> || 0x0A || 0x04 || key)[:4]``;
- a cosignature is a note signature line ``— <name> base64(key ID || u64 timestamp || sig)``,
  the timestamp big-endian POSIX seconds, the Ed25519 signature over
  ``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint's note body (its text up
  to and including the last newline before the blank line).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "COSIGNATURE_TYPE",
    "CosignError",
    "Cosignature",
    "WitnessKey",
    "cosigned_message",
    "parse_note",
    "parse_signature_line",
    "parse_witness_key",
    "verify_cosignature",
    "witness_key_id",
]

COSIGNATURE_TYPE = b"\x04"  # the signed-note signature type of an Ed25519 cosignature/v1
MAX_TIMESTAMP = 2**63 - 1
_DASH = "\u2014 "


class CosignError(ValueError):
    """A key, note or signature line that does not follow the C2SP formats (message in Indonesian)."""


@dataclass(frozen=True)
class WitnessKey:
    name: str
    public_key: bytes  # the raw 32-byte Ed25519 key

    @property
    def key_id(self) -> bytes:
        return witness_key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        blob = base64.b64encode(COSIGNATURE_TYPE + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{blob}"


@dataclass(frozen=True)
class Cosignature:
    name: str
    key_id: bytes
    timestamp: int
    signature: bytes

    @property
    def line(self) -> str:
        blob = self.key_id + struct.pack(">Q", self.timestamp) + self.signature
        return f"{_DASH}{self.name} {base64.b64encode(blob).decode('ascii')}"


def witness_key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + COSIGNATURE_TYPE + public_key).digest()[:4]


def _valid_name(name: str) -> bool:
    return bool(name) and not any(c.isspace() or c == "+" for c in name) and name.isprintable()


def parse_witness_key(vkey: str) -> WitnessKey:
    """A witness's verifier key ``name+hash+base64(0x04 || key)``; its hash must match."""
    parts = vkey.strip().split("+", 2)  # base64 may itself hold "+"
    if len(parts) != 3:
        raise CosignError("kunci saksi harus berbentuk nama+hash+kunci (format vkey C2SP)")
    name, key_hash, blob_b64 = parts
    if not _valid_name(name):
        raise CosignError(f"nama kunci saksi {name!r} tidak sah")
    try:
        blob = base64.b64decode(blob_b64, validate=True)
        wanted_hash = bytes.fromhex(key_hash)
    except (binascii.Error, ValueError):
        raise CosignError(f"kunci saksi {name}: hash atau kunci bukan hex/base64 yang sah") from None
    if len(blob) != 33 or blob[:1] != COSIGNATURE_TYPE:
        raise CosignError(
            f"kunci saksi {name}: bukan kunci Ed25519 cosignature/v1 (tipe 0x04 diikuti 32 byte)"
        )
    key = WitnessKey(name, blob[1:])
    if len(wanted_hash) != 4 or wanted_hash != key.key_id:
        raise CosignError(f"kunci saksi {name}: hash kunci tidak cocok dengan nama dan kuncinya")
    return key


def parse_note(note: str) -> tuple[str, list[str]]:
    """(body, signature lines) of a signed note: the body is the text up to and including the
    newline before the last blank line; each signature line starts with an em dash and a space."""
    if "\r" in note or any(ord(c) < 0x20 and c != "\n" for c in note):
        raise CosignError("catatan bertanda tangan memuat karakter kendali")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise CosignError("catatan bertanda tangan tidak memiliki baris kosong sebelum tanda tangan")
    body, block = note[: cut + 1], note[cut + 2 :]
    if not block.endswith("\n"):
        raise CosignError("blok tanda tangan harus diakhiri baris baru")
    lines = block[:-1].split("\n")
    for line in lines:
        if not line.startswith(_DASH):
            raise CosignError("setiap baris tanda tangan harus diawali '— '")
    return body, lines


def parse_signature_line(line: str) -> tuple[str, bytes]:
    """(key name, decoded blob) of one note signature line."""
    if not line.startswith(_DASH):
        raise CosignError("baris tanda tangan harus diawali '— '")
    name, _, b64 = line[len(_DASH) :].partition(" ")
    if not _valid_name(name) or not b64 or " " in b64:
        raise CosignError("baris tanda tangan tidak berbentuk '— <nama> <base64>'")
    try:
        blob = base64.b64decode(b64, validate=True)
    except binascii.Error:
        raise CosignError("tanda tangan bukan base64 standar yang sah") from None
    if len(blob) < 5:
        raise CosignError("tanda tangan terlalu pendek")
    return name, blob


def cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode("utf-8")


def verify_cosignature(key: WitnessKey, body: str, line: str) -> Cosignature | None:
    """The cosignature of ``line`` if it is ``key``'s (same name and key ID), None if the line
    is someone else's; raises CosignError if it claims to be ``key``'s and does not verify."""
    name, blob = parse_signature_line(line)
    if name != key.name or blob[:4] != key.key_id:
        return None
    if len(blob) != 4 + 8 + 64:
        raise CosignError(f"cosignature saksi {key.name} tidak berukuran 76 byte")
    (timestamp,) = struct.unpack(">Q", blob[4:12])
    if timestamp > MAX_TIMESTAMP:
        raise CosignError(f"waktu cosignature saksi {key.name} melampaui 2^63-1")
    try:
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(
            blob[12:], cosigned_message(body, timestamp)
        )
    except InvalidSignature:
        raise CosignError(f"cosignature saksi {key.name} TIDAK SAH untuk checkpoint ini") from None
    return Cosignature(key.name, key.key_id, timestamp, blob[12:])
