from __future__ import annotations

import base64
import gzip
import random
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from apkd.credentials.statuslist import (
    MAX_LIST_BYTES,
    STATUS_LIST_SIZE,
    Bitstring,
    StatusListError,
    StatusListFullError,
    allocate_random_index,
    build_status_list_credential,
    decode_list,
    encode_list,
    status_list_entry,
    status_list_url,
)


def test_default_size_is_16kb():
    bits = Bitstring()
    assert STATUS_LIST_SIZE == 131072
    assert bits.size == STATUS_LIST_SIZE
    assert len(bits.to_bytes()) == 16384


def test_index_zero_is_the_left_most_bit():
    bits = Bitstring(size=16)
    bits.set(0)
    assert bits.to_bytes() == b"\x80\x00"
    bits.set(7)
    assert bits.to_bytes() == b"\x81\x00"
    bits.set(8)
    assert bits.to_bytes() == b"\x81\x80"
    bits.clear(0)
    assert bits.to_bytes() == b"\x01\x80"
    assert [i for i in range(16) if bits.get(i)] == [7, 8]


def test_set_and_clear_are_idempotent():
    bits = Bitstring(size=8)
    bits.set(3)
    bits.set(3)
    assert bits.get(3)
    bits.clear(3)
    bits.clear(3)
    assert not bits.get(3)
    bits.set(5, False)
    assert bits.to_bytes() == b"\x00"


@pytest.mark.parametrize("index", [-1, STATUS_LIST_SIZE, 10**9, True, 1.0])
def test_out_of_range_index(index):
    with pytest.raises(StatusListError):
        Bitstring().get(index)


def test_flipped_bit_survives_encode_decode():
    bits = Bitstring()
    for index in (0, 4711, 90210, STATUS_LIST_SIZE - 1):
        bits.set(index)
    decoded = Bitstring.decode(bits.encode())
    assert decoded == bits
    assert [i for i in (0, 1, 4711, 90210, 90211, STATUS_LIST_SIZE - 1) if decoded.get(i)] == [
        0,
        4711,
        90210,
        STATUS_LIST_SIZE - 1,
    ]
    decoded.clear(4711)
    assert not Bitstring.decode(decoded.encode()).get(4711)


def test_encoding_is_multibase_base64url_of_gzip():
    bits = Bitstring()
    bits.set(12345)
    encoded = encode_list(bits.to_bytes())
    assert encoded.startswith("u")
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    body = encoded[1:]
    raw = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert raw == bits.to_bytes()
    assert encode_list(bits.to_bytes()) == encoded  # deterministic


def test_full_size_list_with_one_bit_encodes_small():
    bits = Bitstring()
    bits.set(70000)
    assert len(bits.encode()) < 200


def test_decodes_lists_gzipped_elsewhere():
    # An empty 16 KB list produced by another implementation (Python gzip with a timestamp).
    other = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(16384), mtime=1700000000)).decode().rstrip("=")
    assert decode_list(other) == bytes(16384)


@pytest.mark.parametrize(
    "bad",
    [
        "H4sIAAAAAAAAA",  # no multibase prefix
        "u!!!!",
        "uAAAA=",
        "u" + base64.urlsafe_b64encode(b"not gzip").decode().rstrip("="),
        "u"
        + base64.urlsafe_b64encode(gzip.compress(bytes(64), mtime=0)[:-6]).decode().rstrip("="),  # truncated
        "u" + base64.urlsafe_b64encode(gzip.compress(b"x", mtime=0) + b"junk").decode().rstrip("="),
        "",
    ],
)
def test_decode_refuses_bad_encodings(bad):
    with pytest.raises(StatusListError):
        decode_list(bad)


def test_decode_refuses_a_gzip_bomb():
    bomb = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(MAX_LIST_BYTES + 1024))).decode().rstrip("=")
    with pytest.raises(StatusListError, match="larger"):
        decode_list(bomb)


def test_allocation_never_returns_a_used_index_and_raises_when_full():
    used = Bitstring(size=64)
    rng = random.Random(3)
    seen = set()
    for _ in range(64):
        index = allocate_random_index(used.to_bytes(), rng)
        assert index not in seen
        seen.add(index)
        used.set(index)
    assert seen == set(range(64))
    with pytest.raises(StatusListFullError):
        allocate_random_index(used.to_bytes(), rng)


def test_allocation_is_fast_and_exact_when_nearly_full():
    used = bytearray(b"\xff" * (STATUS_LIST_SIZE // 8))
    used[9000] = 0b11110111  # the only free index: 9000 * 8 + 4
    rng = random.Random(5)
    start = time.perf_counter()
    for _ in range(20):
        assert allocate_random_index(bytes(used), rng) == 72004
    assert (time.perf_counter() - start) / 20 < 0.05


def test_allocation_is_uniform_over_free_indexes():
    used = bytearray(b"\xff" * 2048)
    free = [5, 6000, 16383]
    for i in free:
        used[i // 8] &= ~(0x80 >> (i % 8)) & 0xFF
    rng = random.Random(11)
    counts = Counter(allocate_random_index(bytes(used), rng) for _ in range(3000))
    assert set(counts) == set(free)
    assert all(850 < counts[i] < 1150 for i in free), counts


def test_allocation_spreads_over_the_list():
    rng = random.Random(13)
    picks = [allocate_random_index(bytes(16384), rng) for _ in range(200)]
    assert len(set(picks)) == 200
    assert min(picks) < STATUS_LIST_SIZE // 4 and max(picks) > 3 * STATUS_LIST_SIZE // 4


def test_allocation_respects_size():
    rng = random.Random(17)
    used = bytes(16)  # 128 bits, only the first 12 usable
    assert all(allocate_random_index(used, rng, size=12) < 12 for _ in range(200))
    nearly = bytes([0xFF, 0xEF])  # in the first 12 bits, only index 11 is free
    assert allocate_random_index(nearly, rng, size=12) == 11
    with pytest.raises(StatusListFullError):
        allocate_random_index(bytes([0xFF, 0xF0]), rng, size=12)


def test_status_list_entry_and_url():
    url = status_list_url("https://apkd.example/", 3)
    assert url == "https://apkd.example/api/v1/status-lists/3"
    assert status_list_entry(url, "suspension", 42) == {
        "id": f"{url}#42",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "suspension",
        "statusListIndex": "42",
        "statusListCredential": url,
    }
    with pytest.raises(ValueError):
        status_list_entry(url, "deleted", 1)


def test_status_list_credential():
    url = "https://apkd.example/api/v1/status-lists/1"
    encoded = Bitstring().encode()
    vc = build_status_list_credential(
        url,
        "revocation",
        encoded,
        {"id": "https://apkd.example/issuer", "type": ["Profile"], "name": "LSP"},
        datetime(2026, 5, 1, 12, 0, 0, 123, tzinfo=UTC),
        300_000,
    )
    assert vc == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": "https://apkd.example/issuer", "type": ["Profile"], "name": "LSP"},
        "validFrom": "2026-05-01T12:00:00Z",
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
            "ttl": 300_000,
        },
    }
    with pytest.raises(ValueError):
        build_status_list_credential(url, "nope", encoded, "x", datetime.now(UTC), 1)
