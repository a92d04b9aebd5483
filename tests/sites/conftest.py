from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "exams_conftest", Path(__file__).resolve().parents[1] / "exams" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_exams = importlib.util.module_from_spec(_spec)
sys.modules["exams_conftest"] = _exams
_spec.loader.exec_module(_exams)


@pytest.fixture
def bank_source() -> str:
    """The exams tests' bank (two units of six items, three drawn from each)."""
    return str(_exams.bank_text())
