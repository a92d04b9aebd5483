from __future__ import annotations

import pytest

from factories import bank_text


@pytest.fixture
def bank_source() -> str:
    """The exams tests' bank (two units of six items, three drawn from each)."""
    return bank_text()
