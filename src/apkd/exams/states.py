"""The states of registrations and attempts (pure: no database; stored as their string values).

An attempt is open while ``in_progress`` or ``paused`` and closed once ``submitted``,
``expired`` (deadline + grace passed) or ``terminated`` (by a proctor); a closed attempt never
opens again.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ATTEMPT_STATUSES",
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "AttemptState",
    "RegistrationState",
]


class AttemptState(StrEnum):
    """An attempt's ``status`` (stored and sent as its value)."""

    IN_PROGRESS = "in_progress"
    PAUSED = "paused"  # by a proctor: the clock stops
    SUBMITTED = "submitted"
    EXPIRED = "expired"  # deadline + grace passed
    TERMINATED = "terminated"  # by a proctor


class RegistrationState(StrEnum):
    """A registration's ``status``: admitted once a proctor checked the candidate's identity."""

    REGISTERED = "registered"
    ADMITTED = "admitted"


ATTEMPT_STATUSES: tuple[AttemptState, ...] = tuple(AttemptState)
OPEN_STATUSES = (AttemptState.IN_PROGRESS, AttemptState.PAUSED)
CLOSED_STATUSES = (AttemptState.SUBMITTED, AttemptState.EXPIRED, AttemptState.TERMINATED)
