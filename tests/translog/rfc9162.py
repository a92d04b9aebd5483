"""A small, independent RFC 9162 reference for tests (no import from apkd).

Written straight from RFC 9162: MTH (2.1.1), PATH (2.1.3.1) and PROOF (2.1.4.1) over raw
entries, and verifiers that re-derive the roots from a proof by following those same
recursive definitions (not the bit-twiddling algorithms of 2.1.3.2 / 2.1.4.2 that production
uses). Shared by tests/translog/test_merkle.py and the service/API tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

# ---------------------------------------------------------------------------
# Naive reference, straight from RFC 9162 (operates on raw entries)
# ---------------------------------------------------------------------------


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """Largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _sha(b"")
    if n == 1:
        return _sha(b"\x00" + d[0])
    k = _k(n)
    return _sha(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def _ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*_ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*_ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return _ref_subproof(m, d, True)


# ---------------------------------------------------------------------------
# Independent verifier (recomputes roots by following the recursive definitions)
# ---------------------------------------------------------------------------


class _Bad(Exception):
    pass


def _h(left: bytes, right: bytes) -> bytes:
    return _sha(b"\x01" + left + right)


def _root_from_path(m: int, n: int, leaf: bytes, path: list[bytes]) -> bytes:
    if n == 1:
        if path:
            raise _Bad
        return leaf
    if not path:
        raise _Bad
    k = _k(n)
    sibling, rest = path[-1], path[:-1]
    if m < k:
        return _h(_root_from_path(m, k, leaf, rest), sibling)
    return _h(sibling, _root_from_path(m - k, n - k, leaf, rest))


def indep_verify_inclusion(m: int, n: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> bool:
    if not 0 <= m < n:
        return False
    try:
        return _root_from_path(m, n, leaf, list(path)) == root
    except _Bad:
        return False


def _roots_from_subproof(
    m: int, n: int, b: bool, first_root: bytes, path: list[bytes]
) -> tuple[bytes, bytes]:
    """(old subtree hash, new subtree hash) implied by SUBPROOF(m, D[n], b) = path."""
    if m == n:
        if b:
            if path:
                raise _Bad
            return first_root, first_root
        if len(path) != 1:
            raise _Bad
        return path[0], path[0]
    if not path:
        raise _Bad
    k = _k(n)
    last, rest = path[-1], path[:-1]
    if m <= k:
        old, new = _roots_from_subproof(m, k, b, first_root, rest)
        return old, _h(new, last)
    old, new = _roots_from_subproof(m - k, n - k, False, first_root, rest)
    return _h(last, old), _h(last, new)


def indep_verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    if not 0 < first <= second:
        return False
    try:
        old, new = _roots_from_subproof(first, second, True, first_root, list(path))
    except _Bad:
        return False
    return old == first_root and new == second_root
