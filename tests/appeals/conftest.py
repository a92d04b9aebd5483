"""Fixtures of the appeals tests: the grading factory (a bank, sessions, attempts with answers)."""

from __future__ import annotations

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from grading.gradingkit import GradingFactory


@pytest.fixture
def factory(db: AsyncSession) -> GradingFactory:
    return GradingFactory(db)
