"""Fixtures of the grading tests; the factories live in gradingkit.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gradingkit import GradingFactory, RecordedEffects
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.grading import effects


@pytest.fixture
def factory(db: AsyncSession) -> GradingFactory:
    return GradingFactory(db)


@pytest.fixture
def recorded_effects() -> Iterator[RecordedEffects]:
    """A credential side that remembers what grading asked of it (idempotent like the real one)."""
    previous = effects.registered()
    rec = RecordedEffects(issued=[], revoked=[])
    effects.register(rec)
    yield rec
    effects.register(previous)
