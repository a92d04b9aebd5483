"""Exam time, owned by the server. Pure module (no database).

A ``Clock`` is the stored state of an attempt's time. Every function takes the current
server time explicitly, so the rules are testable and the same on every worker.

    deadline = started_at + duration + extensions + time paused so far

While the clock is paused the deadline moves with the pause: the running pause counts up
to ``now``, so ``deadline(c, now) - now`` (the remaining time) stays frozen, and
``deadline(c, now) == deadline(resume(c, now))`` at every instant.

Pauses are stored in whole seconds, rounded up in the candidate's favour (at most one
second per pause). All datetimes must be timezone-aware; deadlines come back in UTC.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "GRACE_SECONDS",
    "Clock",
    "accepts_saves",
    "deadline",
    "extend",
    "pause",
    "remaining_seconds",
    "resume",
]

GRACE_SECONDS = 10  # saves in flight up to 10 s past the deadline are still accepted

_SECOND = timedelta(seconds=1)


def _require_aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got a naive datetime")
    return value


def _require_seconds(name: str, value: object, *, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value}")
    return value


def _ceil_seconds(delta: timedelta) -> int:
    """Whole seconds in ``delta``, rounded up (exact, no float)."""
    return -((-delta) // _SECOND)


@dataclass(frozen=True)
class Clock:
    started_at: datetime
    duration_seconds: int
    extension_seconds: int = 0
    paused_seconds: int = 0  # completed pauses only
    paused_at: datetime | None = None  # set while paused

    def __post_init__(self) -> None:
        _require_aware("started_at", self.started_at)
        _require_seconds("duration_seconds", self.duration_seconds, positive=True)
        _require_seconds("extension_seconds", self.extension_seconds)
        _require_seconds("paused_seconds", self.paused_seconds)
        if self.paused_at is not None:
            _require_aware("paused_at", self.paused_at)

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


def _running_pause_seconds(c: Clock, now: datetime) -> int:
    """Seconds of the pause under way, up to ``now`` (0 when running or if now < paused_at)."""
    if c.paused_at is None:
        return 0
    return max(0, _ceil_seconds(now - c.paused_at))


def deadline(c: Clock, now: datetime | None = None) -> datetime:
    """The instant time is up, in UTC.

    While paused the deadline depends on ``now`` (the pause so far counts), so ``now`` is
    required then; a ValueError says so if it is missing.
    """
    if now is not None:
        _require_aware("now", now)
    elif c.is_paused:
        raise ValueError("now is required to compute the deadline of a paused clock")
    total = c.duration_seconds + c.extension_seconds + c.paused_seconds
    if now is not None:
        total += _running_pause_seconds(c, now)
    return (c.started_at + timedelta(seconds=total)).astimezone(UTC)


def remaining_seconds(c: Clock, now: datetime) -> int:
    """Whole seconds left, rounded up (0 only once time is up); never negative.

    Frozen while paused. Before ``started_at`` it can exceed the duration; callers do not
    create clocks in the future.
    """
    left = deadline(c, now) - _require_aware("now", now)
    return max(0, _ceil_seconds(left))


def accepts_saves(c: Clock, now: datetime) -> bool:
    """True when a response saved at ``now`` is accepted: running and within deadline + grace."""
    _require_aware("now", now)
    if c.is_paused:
        return False
    return now <= deadline(c) + timedelta(seconds=GRACE_SECONDS)


def pause(c: Clock, now: datetime) -> Clock:
    """Pause at ``now``. Pausing a paused clock returns it unchanged (idempotent).

    Pausing after the deadline gives no time back: the pause only shifts the deadline by
    its own length, so the time between the deadline and the pause stays lost.
    """
    _require_aware("now", now)
    if c.is_paused:
        return c
    return dataclasses.replace(c, paused_at=now)


def resume(c: Clock, now: datetime) -> Clock:
    """Resume at ``now``, adding the pause (rounded up) to ``paused_seconds``.

    Resuming a running clock returns it unchanged (idempotent).
    """
    _require_aware("now", now)
    if not c.is_paused:
        return c
    return dataclasses.replace(
        c, paused_seconds=c.paused_seconds + _running_pause_seconds(c, now), paused_at=None
    )


def extend(c: Clock, minutes: int) -> Clock:
    """Add ``minutes`` (a positive int) to the time allowed; works while paused too."""
    _require_seconds("minutes", minutes, positive=True)
    return dataclasses.replace(c, extension_seconds=c.extension_seconds + minutes * 60)
