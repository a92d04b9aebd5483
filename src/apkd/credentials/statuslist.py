"""W3C Bitstring Status List v1.0, the pure parts: bits, encoding, allocation, documents.

Index semantics follow the spec: index 0 is the left-most bit of the bitstring, i.e. the
most significant bit of byte 0; index i lives in byte i // 8 under mask 0x80 >> (i % 8).
A set bit (1) means the status applies (revoked, or suspended).

`encodedList` is the multibase base64url (prefix "u", no padding) of the GZIP-compressed
bitstring. Lists hold STATUS_LIST_SIZE = 131072 entries (16 KB), the spec's minimum for
group privacy; indexes are allocated at random so that neighbouring credentials do not
sit in neighbouring bits.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import itertools
import random
import zlib
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apkd.timefmt import iso_utc

__all__ = [
    "PURPOSES",
    "STATUS_LIST_SIZE",
    "Bitstring",
    "StatusEntryRef",
    "StatusListError",
    "StatusListFullError",
    "allocate_random_index",
    "build_status_list_credential",
    "decode_list",
    "encode_list",
    "status_list_entry",
    "status_list_url",
]

STATUS_LIST_SIZE = 131072
PURPOSES = frozenset({"revocation", "suspension", "refresh", "message"})
# A decoded list larger than this is refused (guards against a gzip bomb from a remote list).
MAX_LIST_BYTES = 16 * 1024 * 1024
_RANDOM_PROBES = 64
# Number of zero bits in each byte value.
_FREE_BITS = bytes(8 - bin(b).count("1") for b in range(256))


class StatusListError(ValueError):
    """A status list that cannot be decoded, or an index outside it."""


class StatusListFullError(StatusListError):
    """Every index of the list is allocated."""


@dataclass(frozen=True)
class StatusEntryRef:
    """Where a credential's status lives: the status list credential URL and the bit index."""

    list_url: str
    index: int


class Bitstring:
    """A mutable bitstring over bytes, index 0 = most significant bit of byte 0."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes | bytearray | None = None, size: int = STATUS_LIST_SIZE) -> None:
        if data is None:
            if size <= 0 or size % 8:
                raise ValueError("size must be a positive multiple of 8")
            self._data = bytearray(size // 8)
        else:
            self._data = bytearray(data)

    @property
    def size(self) -> int:
        """Number of bits."""
        return len(self._data) * 8

    def _locate(self, index: int) -> tuple[int, int]:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < self.size:
            raise StatusListError(f"index {index!r} outside the status list (0..{self.size - 1})")
        return index >> 3, 0x80 >> (index & 7)

    def get(self, index: int) -> bool:
        byte, mask = self._locate(index)
        return bool(self._data[byte] & mask)

    def set(self, index: int, value: bool = True) -> None:
        byte, mask = self._locate(index)
        if value:
            self._data[byte] |= mask
        else:
            self._data[byte] &= ~mask & 0xFF

    def clear(self, index: int) -> None:
        self.set(index, False)

    def to_bytes(self) -> bytes:
        return bytes(self._data)

    def encode(self) -> str:
        return encode_list(self._data)

    @classmethod
    def decode(cls, encoded: str) -> Bitstring:
        return cls(decode_list(encoded))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bitstring) and self._data == other._data

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Bitstring(size={self.size}, set={sum(8 - c for c in self._data.translate(_FREE_BITS))})"


def encode_list(bits: bytes | bytearray) -> str:
    """GZIP, then multibase base64url without padding ("u" prefix). Deterministic (mtime 0)."""
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_list(encoded: str) -> bytes:
    """Inverse of encode_list; StatusListError on anything that is not such an encoding."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError("encodedList must be multibase base64url (start with 'u')")
    body = encoded[1:]
    if not body.isascii() or "=" in body or len(body) % 4 == 1:
        raise StatusListError("encodedList is not base64url without padding")
    try:
        compressed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise StatusListError("encodedList is not base64url without padding") from None
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip container only
    try:
        data = inflater.decompress(compressed, MAX_LIST_BYTES + 1)
    except zlib.error:
        raise StatusListError("encodedList is not GZIP-compressed") from None
    if len(data) > MAX_LIST_BYTES or inflater.unconsumed_tail:
        raise StatusListError(f"status list larger than {MAX_LIST_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        raise StatusListError("encodedList holds a truncated or trailing GZIP stream")
    return data


def allocate_random_index(used: bytes | bytearray, rng: random.Random, size: int | None = None) -> int:
    """A uniformly random index whose bit is 0 in the allocation bitmap `used`.

    `size` limits the choice to the first `size` indexes (default: all of `used`). Random
    probing first; when the map is nearly full, an exact pass over byte counts instead, so
    the cost stays bounded (about a millisecond for 131072 entries) and the choice uniform.
    The caller sets the bit. StatusListFullError when no index is free.
    """
    total = len(used) * 8 if size is None else size
    if not 0 < total <= len(used) * 8:
        raise ValueError("size must be between 1 and the bitmap's bit count")
    for _ in range(_RANDOM_PROBES):
        index = rng.randrange(total)
        if not used[index >> 3] & (0x80 >> (index & 7)):
            return index
    full_bytes, tail_bits = divmod(total, 8)
    bitmap = bytearray(used[:full_bytes])
    if tail_bits:
        bitmap.append(used[full_bytes] | (0xFF >> tail_bits))  # bits past `size` count as used
    counts = list(bitmap.translate(_FREE_BITS))
    cumulative = list(itertools.accumulate(counts))
    free = cumulative[-1] if cumulative else 0
    if free == 0:
        raise StatusListFullError("status list is full: every index is allocated")
    pick = rng.randrange(free)
    byte = bisect_right(cumulative, pick)
    nth = pick - (cumulative[byte - 1] if byte else 0)
    value = bitmap[byte]
    for bit in range(8):
        if not value & (0x80 >> bit):
            if nth == 0:
                return byte * 8 + bit
            nth -= 1
    raise AssertionError("unreachable: free-bit count disagrees with the bitmap")  # pragma: no cover


def status_list_url(base_url: str, list_id: int | str) -> str:
    """The public URL of a status list credential: <base>/api/v1/status-lists/<id> (docs/contract.md)."""
    return f"{base_url.rstrip('/')}/api/v1/status-lists/{list_id}"


def status_list_entry(list_url: str, purpose: str, index: int) -> dict[str, str]:
    """A BitstringStatusListEntry, as placed in a credential's credentialStatus."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown status purpose {purpose!r}")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ValueError("status list index must be a non-negative integer")
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def build_status_list_credential(
    list_url: str,
    purpose: str,
    encoded: str,
    issuer: str | Mapping[str, Any],
    valid_from: datetime,
    ttl_ms: int,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """The unsigned BitstringStatusListCredential for one list (to be signed as a vc+jwt).

    `ttl_ms` is the spec's `ttl`: milliseconds a verifier may cache the list.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown status purpose {purpose!r}")
    if ttl_ms < 0:
        raise ValueError("ttl must not be negative")
    credential: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer if isinstance(issuer, str) else dict(issuer),
        "validFrom": iso_utc(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = iso_utc(valid_until)
    credential["credentialSubject"] = {
        "id": f"{list_url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": encoded,
        "ttl": ttl_ms,
    }
    return credential
