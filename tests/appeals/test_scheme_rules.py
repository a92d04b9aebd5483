"""The process rules of a scheme in its bank file: optional, bounded, and absent from the
content hash while at their defaults (existing banks import unchanged)."""

from __future__ import annotations

from apkd.banks.bankfile import parse_bank
from apkd.banks.service import scheme_hash
from grading.gradingkit import BANK


def test_rules_are_optional_bounded_and_keep_old_hashes() -> None:
    plain, errors = parse_bank(BANK, "tst.yaml")
    assert errors == [] and plain is not None
    assert (plain.scheme.appeal_days, plain.scheme.resit_wait_days, plain.scheme.sittings_per_year) == (
        14,
        0,
        0,
    )
    ruled_text = BANK.replace(
        "  pass_score: 70\n",
        "  pass_score: 70\n  appeal_days: 14\n  resit_wait_days: 30\n  sittings_per_year: 3\n",
    )
    ruled, errors = parse_bank(ruled_text, "tst.yaml")
    assert errors == [] and ruled is not None
    assert (ruled.scheme.resit_wait_days, ruled.scheme.sittings_per_year) == (30, 3)
    assert scheme_hash(ruled.scheme) != scheme_hash(plain.scheme)
    same_as_default = BANK.replace("  pass_score: 70\n", "  pass_score: 70\n  appeal_days: 14\n")
    again, _ = parse_bank(same_as_default, "tst.yaml")
    assert again is not None and scheme_hash(again.scheme) == scheme_hash(plain.scheme)
    _, errors = parse_bank(
        BANK.replace("  pass_score: 70\n", "  pass_score: 70\n  appeal_days: 0\n"), "tst.yaml"
    )
    assert any("appeal_days" in str(e) and "1..365" in str(e) for e in errors), errors
