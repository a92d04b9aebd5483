"""Pure RFC 9162 Merkle-tree logic for the transparency log (no database access).

Hashing (RFC 9162 section 2.1.1): SHA-256, leaf hash = H(0x00 || entry),
interior node = H(0x01 || left || right), and the hash of the empty tree is H("").

Storage model: the log stores *complete aligned subtrees* only.  Node ``(level, idx)``
is the Merkle Tree Hash of the leaves ``[idx * 2**level, (idx + 1) * 2**level)``; it is
written once, when the leaf that completes it is appended, and never changes.  Level 0
holds the leaf hashes.  Every subtree that occurs in an RFC 9162 root, inclusion path
or consistency proof is either such a node or a "right edge" range ``[a, n)`` whose
start is aligned to its largest power of two; the latter decomposes into at most
``log2(n)`` stored nodes (one per set bit of its size).  Therefore roots and proofs
need O(log n) stored nodes and O(log n) hashing.

Typical use by a caller with a database::

    keys = inclusion_nodes(index, tree_size)         # ~2*log2(n) (level, idx) keys
    nodes = fetch_from_db(keys)                      # ONE query, returns a dict
    path = inclusion_proof(index, tree_size, nodes)

A node missing from ``nodes`` raises ``KeyError`` (a server-side inconsistency, not a
client error).  Bad index/size arguments raise ``MerkleError`` (a client error).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleError",
    "NodeKey",
    "batch_dependencies",
    "checkpoint_message",
    "consistency_nodes",
    "consistency_proof",
    "inclusion_nodes",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "nodes_completed_by_append",
    "nodes_completed_by_batch",
    "root_hash",
    "root_nodes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

NodeKey = tuple[int, int]  # (level, idx)
GetNode = Callable[[int, int], bytes]


class MerkleError(ValueError):
    """Invalid index/size arguments (callers map this to HTTP 400)."""


# ---------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


# ---------------------------------------------------------------------------
# Argument validation
# ---------------------------------------------------------------------------


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MerkleError(f"{name} must be an integer")
    if value < 0:
        raise MerkleError(f"{name} must not be negative (got {value})")
    return value


def _check_index(index: int, tree_size: int) -> None:
    _check_int("index", index)
    _check_int("tree_size", tree_size)
    if index >= tree_size:
        raise MerkleError(f"index {index} is out of range for tree size {tree_size}")


def _check_sizes(first: int, second: int) -> None:
    _check_int("first", first)
    _check_int("second", second)
    if first > second:
        raise MerkleError(f"first tree size {first} is larger than second tree size {second}")


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# ---------------------------------------------------------------------------
# Subtree ranges -> stored nodes
# ---------------------------------------------------------------------------


def _range_nodes(start: int, end: int) -> list[NodeKey]:
    """Stored nodes whose right fold gives MTH(D[start:end]), left to right.

    The range must be an RFC 9162 subtree: ``start`` a multiple of the largest power of
    two not exceeding ``end - start``.  MTH(D[start:end]) then equals
    ``node_hash(n1, node_hash(n2, ... node_hash(n_{k-1}, n_k)))`` over the returned nodes,
    which have strictly decreasing sizes (the set bits of ``end - start``).
    """
    size = end - start
    if size <= 0:
        raise MerkleError(f"empty or inverted range [{start}, {end})")
    top = 1 << (size.bit_length() - 1)
    if start % top:
        # Never happens for ranges produced by this module.
        raise MerkleError(f"range [{start}, {end}) is not an aligned subtree")
    keys: list[NodeKey] = []
    pos = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, pos >> level))
            pos += 1 << level
    return keys


def _fold(keys: Sequence[NodeKey], nodes: Mapping[NodeKey, bytes]) -> bytes:
    """Right fold of stored nodes (see _range_nodes)."""
    acc = _get(nodes, keys[-1])
    for key in reversed(keys[:-1]):
        acc = node_hash(_get(nodes, key), acc)
    return acc


def _get(nodes: Mapping[NodeKey, bytes], key: NodeKey) -> bytes:
    try:
        return nodes[key]
    except KeyError:
        raise KeyError(f"Merkle node (level={key[0]}, idx={key[1]}) is missing from the node store") from None


def _path_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """Sibling subtree ranges of RFC 9162 PATH(index, D[tree_size]), in RFC order."""
    ranges: list[tuple[int, int]] = []
    lo, hi, m = 0, tree_size, index
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if m < k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            m -= k
    ranges.reverse()  # the RFC appends outer siblings after inner ones
    return ranges


def _proof_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """Subtree ranges of RFC 9162 PROOF(first, D[second]) for 0 < first < second, in RFC order."""
    ranges: list[tuple[int, int]] = []
    lo, hi, m, whole_old_tree = 0, second, first, True
    while m != hi - lo:
        k = _largest_power_of_two_below(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            m -= k
            whole_old_tree = False
    if not whole_old_tree:
        ranges.append((lo, hi))  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
    ranges.reverse()
    return ranges


def _keys_for(ranges: Sequence[tuple[int, int]]) -> list[NodeKey]:
    keys: list[NodeKey] = []
    for start, end in ranges:
        keys.extend(_range_nodes(start, end))
    return keys


# ---------------------------------------------------------------------------
# Which stored nodes are needed
# ---------------------------------------------------------------------------


def root_nodes(tree_size: int) -> list[NodeKey]:
    """Stored nodes needed for the root of a tree of ``tree_size`` leaves ([] for 0)."""
    _check_int("tree_size", tree_size)
    if tree_size == 0:
        return []
    return _range_nodes(0, tree_size)


def inclusion_nodes(index: int, tree_size: int) -> list[NodeKey]:
    """Stored nodes needed by inclusion_proof(index, tree_size, ...); at most ~2*log2(n)."""
    _check_index(index, tree_size)
    return _keys_for(_path_ranges(index, tree_size))


def consistency_nodes(first: int, second: int) -> list[NodeKey]:
    """Stored nodes needed by consistency_proof(first, second, ...); at most ~2*log2(n)."""
    _check_sizes(first, second)
    if first in (0, second):
        return []
    return _keys_for(_proof_ranges(first, second))


# ---------------------------------------------------------------------------
# Roots and proofs from stored nodes
# ---------------------------------------------------------------------------


def root_hash(tree_size: int, nodes: Mapping[NodeKey, bytes]) -> bytes:
    """MTH(D[tree_size]) from the stored nodes listed by root_nodes(tree_size)."""
    keys = root_nodes(tree_size)
    if not keys:
        return EMPTY_ROOT
    return _fold(keys, nodes)


def inclusion_proof(index: int, tree_size: int, nodes: Mapping[NodeKey, bytes]) -> list[bytes]:
    """RFC 9162 section 2.1.3.1 PATH(index, D[tree_size]), in RFC order (leaf level first)."""
    _check_index(index, tree_size)
    return [_fold(_range_nodes(a, b), nodes) for a, b in _path_ranges(index, tree_size)]


def consistency_proof(first: int, second: int, nodes: Mapping[NodeKey, bytes]) -> list[bytes]:
    """RFC 9162 section 2.1.4.1 PROOF(first, D[second]), in RFC order.

    Returns [] when first == second or first == 0 (the empty tree is a prefix of every tree).
    """
    _check_sizes(first, second)
    if first in (0, second):
        return []
    return [_fold(_range_nodes(a, b), nodes) for a, b in _proof_ranges(first, second)]


# ---------------------------------------------------------------------------
# Appending
# ---------------------------------------------------------------------------


def nodes_completed_by_append(index: int, leaf: bytes, get_node: GetNode) -> list[tuple[int, int, bytes]]:
    """The (level, idx, hash) nodes completed by appending leaf hash ``leaf`` at ``index``.

    Level 0 (the leaf itself) comes first, then each completed ancestor bottom-up.
    ``get_node(level, idx)`` must return already-stored nodes; it is called once per
    completed ancestor (for its left child), i.e. at most log2(index + 1) times.
    """
    _check_int("index", index)
    if len(leaf) != HASH_SIZE:
        raise MerkleError(f"a leaf hash must be {HASH_SIZE} bytes")
    out = [(0, index, leaf)]
    acc, idx, level = leaf, index, 0
    while idx & 1:  # this node is a right child, so its parent is now complete
        acc = node_hash(get_node(level, idx - 1), acc)
        idx >>= 1
        level += 1
        out.append((level, idx, acc))
    return out


def nodes_completed_by_batch(
    start: int, leaves: Sequence[bytes], get_node: GetNode
) -> list[tuple[int, int, bytes]]:
    """All nodes completed by appending ``leaves`` (leaf hashes) at indexes start, start+1, ...

    Computed level by level, once for the whole batch: the new nodes of a level are a run of
    consecutive indexes ``lo, lo+1, ...``; their parents are the next level's run, starting at
    ``lo >> 1``, and only a run that starts on a right child (odd ``lo``) needs a node stored
    before the batch, its left sibling. So ``get_node`` is asked exactly for
    batch_dependencies(start, len(leaves)), once each, and a batch of n leaves costs about 2n
    hashes however it is split. Order: bottom-up, each level left to right.
    """
    _check_int("start", start)
    for leaf in leaves:
        if len(leaf) != HASH_SIZE:
            raise MerkleError(f"a leaf hash must be {HASH_SIZE} bytes")
    out: list[tuple[int, int, bytes]] = []
    level, lo, run = 0, start, list(leaves)
    while run:
        out.extend((level, lo + i, digest) for i, digest in enumerate(run))
        parents: list[bytes] = []
        i = 0
        if lo & 1:  # the run starts on a right child: its left sibling is an older node
            parents.append(node_hash(get_node(level, lo - 1), run[0]))
            i = 1
        for j in range(i, len(run) - 1, 2):
            parents.append(node_hash(run[j], run[j + 1]))
        level, lo, run = level + 1, lo >> 1, parents
    return out


def batch_dependencies(start: int, count: int) -> list[NodeKey]:
    """Previously stored nodes that nodes_completed_by_batch(start, <count leaves>) reads.

    Lets a caller fetch them in one query and pass ``lambda l, i: fetched[(l, i)]``.
    They are a subset of root_nodes(start), so at most log2(start) + 1 of them.
    """
    _check_int("start", start)
    _check_int("count", count)
    if count == 0:
        return []
    end = start + count
    needed: list[NodeKey] = []
    for level, idx in _range_nodes(0, start) if start else []:
        # This complete subtree of the old tree is read iff its parent completes in the batch,
        # i.e. it is a left child and its right sibling finishes by `end`.
        if idx % 2 == 0 and (idx + 2) << level <= end:
            needed.append((level, idx))
    return needed


# ---------------------------------------------------------------------------
# Verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2); never raises, returns False
# ---------------------------------------------------------------------------


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def _valid_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def verify_inclusion(index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: does ``proof`` show leaf hash ``leaf`` at ``index`` in tree ``root``?

    ``leaf`` is the leaf HASH (use leaf_hash(entry) for raw entry bytes).
    """
    if not (_valid_int(index) and _valid_int(tree_size)) or index >= tree_size:
        return False
    if not (_is_hash(leaf) and _is_hash(root) and all(_is_hash(p) for p in proof)):
        return False
    fn, sn, r = index, tree_size - 1, bytes(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: is the tree (second, second_root) an append-only extension of (first, first_root)?

    Edge cases: first == second needs an empty proof and equal roots; first == 0 needs an
    empty proof and first_root == EMPTY_ROOT (the empty tree is a prefix of every tree).
    """
    if not (_valid_int(first) and _valid_int(second)) or first > second:
        return False
    if not (_is_hash(first_root) and _is_hash(second_root) and all(_is_hash(p) for p in proof)):
        return False
    if first == 0:
        return len(proof) == 0 and first_root == EMPTY_ROOT
    if first == second:
        return len(proof) == 0 and first_root == second_root
    if len(proof) == 0:
        return False
    path = [bytes(p) for p in proof]
    if first & (first - 1) == 0:  # first is an exact power of two
        path.insert(0, bytes(first_root))
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# ---------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------


def checkpoint_message(tree_size: int, root_hash_b64: str, timestamp_ms: int) -> bytes:
    """The exact bytes the log key signs: ``apkd-log\\n{tree_size}\\n{root_hash}\\n{timestamp}\\n``.

    ``root_hash_b64`` must be the standard (padded) base64 of a 32-byte hash.
    """
    _check_int("tree_size", tree_size)
    _check_int("timestamp_ms", timestamp_ms)
    if not isinstance(root_hash_b64, str):
        raise MerkleError("root_hash must be a base64 string")
    try:
        raw = base64.b64decode(root_hash_b64.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise MerkleError("root_hash is not valid standard base64") from None
    if len(raw) != HASH_SIZE or base64.b64encode(raw).decode("ascii") != root_hash_b64:
        raise MerkleError("root_hash must be the standard base64 of a 32-byte SHA-256 hash")
    return f"apkd-log\n{tree_size}\n{root_hash_b64}\n{timestamp_ms}\n".encode()
