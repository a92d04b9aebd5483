"""Tests for the pure RFC 9162 Merkle-tree logic (apkd.translog.merkle).

Production proofs are checked against
  * a naive recursive reference (MTH, PATH, PROOF written straight from RFC 9162
    sections 2.1.1, 2.1.3.1 and 2.1.4.1), and
  * a small independent verifier (tests/translog/rfc9162.py) that re-derives the roots
    from a proof by following the same recursive definitions (not the bit-twiddling algorithm of 2.1.3.2 / 2.1.4.2 that
    production uses),
and the production verify_* functions are checked to agree with it.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rfc9162 import (
    indep_verify_consistency,
    indep_verify_inclusion,
    ref_mth,
    ref_path,
    ref_proof,
)

from apkd.translog import merkle
from apkd.translog.merkle import (
    EMPTY_ROOT,
    MerkleError,
    batch_dependencies,
    checkpoint_message,
    consistency_nodes,
    consistency_proof,
    inclusion_nodes,
    inclusion_proof,
    leaf_hash,
    node_hash,
    nodes_completed_by_append,
    nodes_completed_by_batch,
    root_hash,
    root_nodes,
    verify_consistency,
    verify_inclusion,
)

Key = tuple[int, int]

# ---------------------------------------------------------------------------
# Node stores
# ---------------------------------------------------------------------------


def build_store(entries: Sequence[bytes]) -> dict[Key, bytes]:
    """Append entries one at a time through the production append function."""
    store: dict[Key, bytes] = {}
    for i, e in enumerate(entries):
        for level, idx, digest in nodes_completed_by_append(i, leaf_hash(e), lambda lv, ix: store[(lv, ix)]):
            assert (level, idx) not in store  # each node is written exactly once
            store[(level, idx)] = digest
    return store


class SizedStore(Mapping[Key, bytes]):
    """A view of a full node store as the database would see it at `tree_size`.

    Refuses nodes that are not yet complete at that size and records every access.
    """

    def __init__(self, full: Mapping[Key, bytes], tree_size: int) -> None:
        self.full = full
        self.tree_size = tree_size
        self.accessed: list[Key] = []

    def __getitem__(self, key: Key) -> bytes:
        level, idx = key
        if (idx + 1) << level > self.tree_size:
            raise AssertionError(f"node {key} is not complete at tree size {self.tree_size}")
        self.accessed.append(key)
        return self.full[key]

    def __iter__(self) -> Iterator[Key]:
        raise AssertionError("proof code must not iterate the node store")

    def __len__(self) -> int:
        raise AssertionError("proof code must not size the node store")


def _flip(b: bytes, pos: int = 0) -> bytes:
    return b[:pos] + bytes([b[pos] ^ 0x01]) + b[pos + 1 :]


SMALL = 40
_rng = random.Random(9162)
SMALL_ENTRIES = [_rng.randbytes(_rng.randrange(0, 20)) + bytes([i]) for i in range(SMALL)]
SMALL_STORE = build_store(SMALL_ENTRIES)

BIG = 4096
BIG_ENTRIES = [i.to_bytes(4, "big") + b"apkd" for i in range(BIG)]
BIG_STORE = build_store(BIG_ENTRIES)


# ---------------------------------------------------------------------------
# Known answers (RFC 6962 / certificate-transparency reference test tree)
# ---------------------------------------------------------------------------

CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CT_STORE = build_store(CT_LEAVES)


def test_empty_tree_root_is_sha256_of_empty_string() -> None:
    expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT.hex() == expected
    assert ref_mth([]).hex() == expected
    assert root_nodes(0) == []
    assert root_hash(0, {}) == EMPTY_ROOT


def test_leaf_and_node_hash_follow_rfc_prefixes() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert leaf_hash(b"").hex() == CT_ROOTS[0]
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert node_hash(a, b) != node_hash(b, a)


def test_ct_reference_roots() -> None:
    for n, expected in enumerate(CT_ROOTS, start=1):
        assert ref_mth(CT_LEAVES[:n]).hex() == expected  # the vectors agree with the RFC definition
        assert root_hash(n, SizedStore(CT_STORE, n)).hex() == expected


@pytest.mark.parametrize(("index", "size", "expected"), CT_INCLUSION)
def test_ct_reference_inclusion_proofs(index: int, size: int, expected: list[str]) -> None:
    assert [p.hex() for p in ref_path(index, CT_LEAVES[:size])] == expected
    proof = inclusion_proof(index, size, SizedStore(CT_STORE, size))
    assert [p.hex() for p in proof] == expected
    root = bytes.fromhex(CT_ROOTS[size - 1])
    assert verify_inclusion(index, size, leaf_hash(CT_LEAVES[index]), proof, root)


@pytest.mark.parametrize(("first", "second", "expected"), CT_CONSISTENCY)
def test_ct_reference_consistency_proofs(first: int, second: int, expected: list[str]) -> None:
    assert [p.hex() for p in ref_proof(first, CT_LEAVES[:second])] == expected
    proof = consistency_proof(first, second, SizedStore(CT_STORE, second))
    assert [p.hex() for p in proof] == expected
    r1, r2 = bytes.fromhex(CT_ROOTS[first - 1]), bytes.fromhex(CT_ROOTS[second - 1])
    assert verify_consistency(first, second, r1, r2, proof)


# ---------------------------------------------------------------------------
# Exhaustive comparison with the reference for small trees
# ---------------------------------------------------------------------------


def _max_nodes(n: int) -> int:
    return 2 * n.bit_length()


def _check_inclusion(entries: Sequence[bytes], full: Mapping[Key, bytes], index: int, size: int) -> None:
    store = SizedStore(full, size)
    keys = inclusion_nodes(index, size)
    proof = inclusion_proof(index, size, store)
    assert proof == ref_path(index, entries[:size])
    assert sorted(store.accessed) == sorted(keys)  # only (and exactly) the announced nodes are read
    assert len(keys) <= _max_nodes(size)

    leaf = leaf_hash(entries[index])
    root = root_hash(size, SizedStore(full, size))
    assert root == ref_mth(entries[:size])
    assert indep_verify_inclusion(index, size, leaf, proof, root)
    assert verify_inclusion(index, size, leaf, proof, root)

    def both_reject(i: int, lf: bytes, pr: Sequence[bytes], rt: bytes) -> None:
        assert not indep_verify_inclusion(i, size, lf, pr, rt)
        assert not verify_inclusion(i, size, lf, pr, rt)

    for pos in range(len(proof)):
        for byte in (0, 31):
            both_reject(index, leaf, [*proof[:pos], _flip(proof[pos], byte), *proof[pos + 1 :]], root)
    both_reject(index, _flip(leaf), proof, root)
    both_reject(index, leaf, proof, _flip(root, 17))
    both_reject(index, leaf, [*proof, leaf], root)
    if proof:
        both_reject(index, leaf, proof[:-1], root)
    for other in range(size):
        if other != index:
            both_reject(other, leaf, proof, root)
    if size > 1:
        other_root = ref_mth(entries[: size - 1])
        both_reject(index, leaf, proof, other_root)


def _check_consistency(entries: Sequence[bytes], full: Mapping[Key, bytes], first: int, second: int) -> None:
    store = SizedStore(full, second)
    keys = consistency_nodes(first, second)
    proof = consistency_proof(first, second, store)
    assert proof == ref_proof(first, entries[:second])
    assert sorted(store.accessed) == sorted(keys)
    assert len(keys) <= _max_nodes(second)

    r1, r2 = ref_mth(entries[:first]), ref_mth(entries[:second])
    assert indep_verify_consistency(first, second, r1, r2, proof)
    assert verify_consistency(first, second, r1, r2, proof)

    def both_reject(a: bytes, b: bytes, pr: Sequence[bytes]) -> None:
        assert not indep_verify_consistency(first, second, a, b, pr)
        assert not verify_consistency(first, second, a, b, pr)

    for pos in range(len(proof)):
        both_reject(r1, r2, [*proof[:pos], _flip(proof[pos], pos % 32), *proof[pos + 1 :]])
    both_reject(_flip(r1), r2, proof)
    both_reject(r1, _flip(r2, 31), proof)
    both_reject(r1, r2, [*proof, r1])
    if proof:
        both_reject(r1, r2, proof[:-1])
    if first > 1:
        both_reject(ref_mth(entries[: first - 1]), r2, proof)
    both_reject(r1, ref_mth(entries[: second - 1]) if second > first else _flip(r2), proof)


def test_roots_match_reference_for_every_small_size() -> None:
    for n in range(SMALL + 1):
        assert root_hash(n, SizedStore(SMALL_STORE, n)) == ref_mth(SMALL_ENTRIES[:n])
        assert len(root_nodes(n)) == bin(n).count("1")


def test_inclusion_matches_reference_for_every_small_index_and_size() -> None:
    for size in range(1, SMALL + 1):
        for index in range(size):
            _check_inclusion(SMALL_ENTRIES, SMALL_STORE, index, size)


def test_consistency_matches_reference_for_every_small_pair() -> None:
    for second in range(1, SMALL + 1):
        for first in range(1, second + 1):
            _check_consistency(SMALL_ENTRIES, SMALL_STORE, first, second)


def test_consistency_edge_cases() -> None:
    r5 = ref_mth(SMALL_ENTRIES[:5])
    assert consistency_proof(0, 5, {}) == []
    assert consistency_nodes(0, 5) == []
    assert consistency_proof(5, 5, {}) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, r5, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 5, r5, r5, [])
    assert verify_consistency(5, 5, r5, r5, [])
    assert not verify_consistency(5, 5, r5, _flip(r5), [])
    assert not verify_consistency(5, 5, r5, r5, [r5])
    # A proof for a non-prefix history must not verify: change entry 2 of the first tree.
    forged = list(SMALL_ENTRIES[:5])
    forged[2] = b"forged"
    proof = consistency_proof(5, 9, SizedStore(SMALL_STORE, 9))
    assert not verify_consistency(5, 9, ref_mth(forged), ref_mth(SMALL_ENTRIES[:9]), proof)
    assert not indep_verify_consistency(5, 9, ref_mth(forged), ref_mth(SMALL_ENTRIES[:9]), proof)


# ---------------------------------------------------------------------------
# Appending
# ---------------------------------------------------------------------------


def test_append_writes_each_complete_subtree_once_with_its_hash() -> None:
    n = SMALL
    expected = {
        (level, idx)
        for level in range(n.bit_length())
        for idx in range(n >> level)  # all complete aligned subtrees of a size-n tree
    }
    assert set(SMALL_STORE) == expected
    for (level, idx), digest in SMALL_STORE.items():
        assert digest == ref_mth(SMALL_ENTRIES[idx << level : (idx + 1) << level])


def test_append_reads_only_logarithmically_many_nodes() -> None:
    store: dict[Key, bytes] = {}
    for i, e in enumerate(SMALL_ENTRIES):
        reads: list[Key] = []

        def get(level: int, idx: int) -> bytes:
            reads.append((level, idx))
            return store[(level, idx)]

        completed = nodes_completed_by_append(i, leaf_hash(e), get)
        trailing_ones = len(bin(i)) - len(bin(i).rstrip("1"))
        assert len(reads) == trailing_ones <= (i + 1).bit_length()
        assert len(completed) == trailing_ones + 1
        assert completed[0] == (0, i, leaf_hash(e))
        store.update(((lv, ix), h) for lv, ix, h in completed)
    assert store == SMALL_STORE


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=70), min_size=1, max_size=12))
def test_batches_give_the_same_store_and_read_only_declared_dependencies(batch_sizes: list[int]) -> None:
    entries = BIG_ENTRIES[: min(BIG, sum(batch_sizes))]
    store: dict[Key, bytes] = {}
    start = 0
    for size in batch_sizes:
        chunk = entries[start : start + size]
        reads: list[Key] = []

        def get(level: int, idx: int) -> bytes:
            reads.append((level, idx))
            return store[(level, idx)]

        completed = nodes_completed_by_batch(start, [leaf_hash(e) for e in chunk], get)
        assert sorted(reads) == sorted(batch_dependencies(start, len(chunk)))
        assert len(reads) <= max(start, 1).bit_length()
        for level, idx, digest in completed:
            assert (level, idx) not in store
            store[(level, idx)] = digest
        start += len(chunk)
    assert store == {k: v for k, v in BIG_STORE.items() if (k[1] + 1) << k[0] <= start}


def test_append_rejects_a_leaf_that_is_not_a_hash() -> None:
    with pytest.raises(MerkleError):
        nodes_completed_by_append(0, b"not a 32-byte hash", lambda lv, ix: b"")


# ---------------------------------------------------------------------------
# Random larger trees
# ---------------------------------------------------------------------------


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_random_large_trees_match_reference(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=1, max_value=3000), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    first = data.draw(st.integers(min_value=1, max_value=size), label="first")
    entries = BIG_ENTRIES

    store = SizedStore(BIG_STORE, size)
    root = root_hash(size, store)
    assert root == ref_mth(entries[:size])

    proof = inclusion_proof(index, size, store)
    assert proof == ref_path(index, entries[:size])
    leaf = leaf_hash(entries[index])
    assert indep_verify_inclusion(index, size, leaf, proof, root)
    assert verify_inclusion(index, size, leaf, proof, root)
    if proof:
        bad = [*proof[:-1], _flip(proof[-1], 5)]
        assert not verify_inclusion(index, size, leaf, bad, root)
        assert not indep_verify_inclusion(index, size, leaf, bad, root)

    cproof = consistency_proof(first, size, SizedStore(BIG_STORE, size))
    assert cproof == ref_proof(first, entries[:size])
    r1 = root_hash(first, SizedStore(BIG_STORE, first))
    assert indep_verify_consistency(first, size, r1, root, cproof)
    assert verify_consistency(first, size, r1, root, cproof)
    if cproof:
        bad = [_flip(cproof[0], 9), *cproof[1:]]
        assert not verify_consistency(first, size, r1, root, bad)
        assert not indep_verify_consistency(first, size, r1, root, bad)


class UniformTree(Mapping[Key, bytes]):
    """A lazily evaluated, genuinely consistent node store of `size` identical entries.

    Every node on a level has the same hash, so a million-leaf tree costs nothing to build.
    """

    def __init__(self, size: int, entry: bytes) -> None:
        self.size = size
        self.levels = [leaf_hash(entry)]
        for _ in range(size.bit_length()):
            self.levels.append(node_hash(self.levels[-1], self.levels[-1]))
        self.reads = 0

    def __getitem__(self, key: Key) -> bytes:
        level, idx = key
        if idx < 0 or (idx + 1) << level > self.size:
            raise KeyError(key)
        self.reads += 1
        return self.levels[level]

    def __iter__(self) -> Iterator[Key]:
        raise AssertionError("must not iterate")

    def __len__(self) -> int:
        raise AssertionError("must not size")


def test_million_entry_proofs_read_a_logarithmic_number_of_nodes() -> None:
    n = 1_000_000
    tree = UniformTree(n, b"apkd")
    root = root_hash(n, tree)
    leaf = leaf_hash(b"apkd")
    for index in (0, 1, 524_287, 524_288, 999_998, n - 1):
        keys = inclusion_nodes(index, n)
        assert len(keys) <= 40
        before = tree.reads
        proof = inclusion_proof(index, n, tree)
        assert tree.reads - before == len(keys)
        assert verify_inclusion(index, n, leaf, proof, root)
        assert indep_verify_inclusion(index, n, leaf, proof, root)
    for first in (1, 500_000, 999_999):
        keys = consistency_nodes(first, n)
        assert len(keys) <= 40
        proof = consistency_proof(first, n, tree)
        assert verify_consistency(first, n, root_hash(first, UniformTree(first, b"apkd")), root, proof)


# ---------------------------------------------------------------------------
# Validation, missing nodes, checkpoints
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (inclusion_nodes, (5, 5)),
        (inclusion_nodes, (0, 0)),
        (inclusion_nodes, (-1, 5)),
        (inclusion_nodes, (True, 5)),
        (consistency_nodes, (6, 5)),
        (consistency_nodes, (-1, 5)),
        (root_nodes, (-1,)),
        (batch_dependencies, (-1, 3)),
    ],
)
def test_bad_arguments_raise_merkle_error(call, args) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MerkleError):
        call(*args)


def test_bad_arguments_in_proof_builders_raise_merkle_error() -> None:
    with pytest.raises(MerkleError, match="out of range"):
        inclusion_proof(7, 7, SMALL_STORE)
    with pytest.raises(MerkleError, match="larger than"):
        consistency_proof(8, 7, SMALL_STORE)
    assert issubclass(MerkleError, ValueError)


def test_verifiers_return_false_instead_of_raising_on_nonsense() -> None:
    h = leaf_hash(b"x")
    assert not verify_inclusion(3, 3, h, [], h)
    assert not verify_inclusion(-1, 3, h, [], h)
    assert not verify_inclusion(0, 1, h[:31], [], h[:31])
    assert not verify_inclusion(0, 2, h, [b"short"], h)
    assert verify_inclusion(0, 1, h, [], h)
    assert not verify_consistency(4, 3, h, h, [h])
    assert not verify_consistency(2, 3, h, h, [])


def test_missing_node_raises_key_error() -> None:
    partial = dict(SMALL_STORE)
    del partial[inclusion_nodes(3, 20)[0]]
    with pytest.raises(KeyError):
        inclusion_proof(3, 20, partial)


def test_checkpoint_message_is_exact() -> None:
    root = ref_mth(CT_LEAVES)
    b64 = base64.b64encode(root).decode()
    msg = checkpoint_message(8, b64, 1_700_000_000_123)
    assert msg == f"apkd-log\n8\n{b64}\n1700000000123\n".encode()
    assert msg == b"apkd-log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n1700000000123\n"
    assert checkpoint_message(0, base64.b64encode(EMPTY_ROOT).decode(), 0) == (
        b"apkd-log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n0\n"
    )


@pytest.mark.parametrize(
    "bad_root",
    [
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=",  # URL-safe alphabet
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg",  # padding stripped
        base64.b64encode(b"\x00" * 31).decode(),  # wrong length
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",  # would break the line format
    ],
)
def test_checkpoint_message_rejects_non_standard_root_encodings(bad_root: str) -> None:
    with pytest.raises(MerkleError):
        checkpoint_message(8, bad_root, 1)


def test_public_names_exist() -> None:
    for name in merkle.__all__:
        assert hasattr(merkle, name)


@pytest.mark.parametrize(
    ("start", "count"), [(0, 1), (0, 1000), (1, 1), (5, 300), (255, 2), (1023, 1025), (4097, 999)]
)
def test_a_batch_completes_exactly_the_nodes_of_one_by_one_appends(start: int, count: int) -> None:
    """The level-by-level batch computation against appending leaf by leaf: the same nodes
    and hashes, and each stored node it needs is read exactly once."""
    entries = [f"leaf {i}".encode() for i in range(start + count)]
    store: dict[Key, bytes] = {}
    for i, e in enumerate(entries[:start]):
        store.update(
            ((lv, ix), h)
            for lv, ix, h in nodes_completed_by_append(i, leaf_hash(e), lambda lv, ix: store[(lv, ix)])
        )
    one_by_one = dict(store)
    for i, e in enumerate(entries[start:], start=start):
        one_by_one.update(
            ((lv, ix), h)
            for lv, ix, h in nodes_completed_by_append(i, leaf_hash(e), lambda lv, ix: one_by_one[(lv, ix)])
        )
    reads: list[Key] = []

    def get(level: int, idx: int) -> bytes:
        reads.append((level, idx))
        return store[(level, idx)]

    completed = nodes_completed_by_batch(start, [leaf_hash(e) for e in entries[start:]], get)
    keys = [(lv, ix) for lv, ix, _ in completed]
    assert len(keys) == len(set(keys))  # no node twice
    assert not set(keys) & set(store)  # no stored node rewritten
    assert {**store, **{(lv, ix): h for lv, ix, h in completed}} == one_by_one
    assert len(reads) == len(set(reads))  # each stored node read once
    assert sorted(reads) == sorted(batch_dependencies(start, count))
    assert root_hash(start + count, one_by_one) == ref_mth(entries)


def test_a_batch_refuses_a_leaf_that_is_not_a_hash() -> None:
    with pytest.raises(MerkleError):
        nodes_completed_by_batch(3, [leaf_hash(b"a"), b"short"], lambda lv, ix: b"")
