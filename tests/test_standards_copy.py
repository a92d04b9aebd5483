"""The vendored standards files (tests/standards/) are the specifications' own files, not a
copy that drifted: where the steering repo's ../shared/standards/ sits beside the checkout (as
it does for a developer and in CI), every file the tests read must equal it byte for byte, and
none may be missing. In a lone clone (no ../shared) there is nothing to compare and the test
says so by skipping."""

from __future__ import annotations

from pathlib import Path

import pytest

from standards_files import STANDARDS

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "standards"


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != "README.md"}


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/standards beside this checkout")
def test_vendored_standards_equal_the_shared_originals() -> None:
    vendored, shared = _files(STANDARDS), _files(SHARED)
    assert vendored, "tests/standards holds no files"
    assert shared - vendored == set(), f"files in ../shared/standards not vendored: {sorted(shared - vendored)}"
    assert vendored - shared == set(), f"vendored files with no original: {sorted(vendored - shared)}"
    changed = [name for name in sorted(vendored) if (STANDARDS / name).read_bytes() != (SHARED / name).read_bytes()]
    assert changed == [], f"vendored files differ from ../shared/standards: {changed}"
