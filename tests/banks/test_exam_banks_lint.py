"""CI lints exam_banks/ the way a reviewer runs it: `apkd bank lint exam_banks`.

Every check holds at the issue's thresholds (the CLI defaults), including references: each
one names a Pasal or a Lampiran part (decision 050). A reference whose article cannot be
confirmed is rewritten to one that can, or its item is replaced; the lint fails otherwise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from apkd.banks.bankfile import load_banks
from apkd.banks.lint import lint_bank

ROOT = Path(__file__).resolve().parents[2]
SCHEMES = {"BPG", "BPN", "PPK"}


def test_every_check_passes_at_the_issue_thresholds() -> None:
    banks, errors = load_banks([ROOT / "exam_banks"])
    assert errors == []
    assert {b.scheme.code for b in banks} == SCHEMES
    for bank in banks:
        result = lint_bank(bank)
        failing = {c.code: c.details for c in result.checks if not c.ok}
        assert failing == {}, (bank.scheme.code, failing)
        unanchored = next(c for c in result.checks if c.code == "rujukan_pasal")
        assert unanchored.value == "0", unanchored.details


def test_cli_lints_exam_banks_at_the_defaults() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "apkd", "bank", "lint", "exam_banks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 skema diperiksa; semua lulus" in r.stdout


def test_items_added_after_the_review_are_drafts_with_a_level() -> None:
    """Items written without a second reader say so: review `draft` and a cognitive level."""
    added = set(
        [
            "BPG-A-016",
            "BPG-D-016",
            "BPG-D-017",
            "BPG-D-018",
            "BPG-D-019",
            "BPG-D-020",
            "BPG-F-021",
            "BPG-F-022",
            "BPG-F-023",
            "BPG-F-024",
            "BPN-A-016",
            "BPN-F-026",
            "BPN-F-027",
            "BPN-F-028",
            "BPN-F-029",
            "BPN-F-030",
            "BPN-F-031",
            "BPN-F-032",
            "BPN-F-033",
            "BPN-F-034",
            "BPN-F-035",
            "BPN-F-036",
            "BPN-C-016",
            "BPN-C-017",
            "BPN-C-018",
            "BPN-C-019",
            "BPN-C-020",
            "PPK-B-015",
            "PPK-B-016",
            "PPK-F-021",
            "PPK-F-022",
            "PPK-C-022",
            "PPK-C-023",
            "PPK-F-023",
            "PPK-F-024",
            "PPK-F-025",
            "PPK-F-026",
            "PPK-F-027",
            "PPK-F-028",
            "PPK-F-029",
            "PPK-F-030",
        ]
    )
    seen = set()
    for path in sorted((ROOT / "exam_banks").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]:
            if item["id"] in added:
                seen.add(item["id"])
                assert item.get("review") == "draft", item["id"]
                assert item.get("level") in {"pengetahuan", "penerapan", "penalaran"}, item["id"]
    assert seen == added
