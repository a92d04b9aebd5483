"""What an attempt's clock says now, and how times are written in exam responses (no database).

Attempt clocks are shown in UTC (``iso``); sessions, incidents and minutes in the site's zone
(``local_iso``, and ``local_text`` in Indonesian words). A paused attempt's deadline moves
with the pause, so the stored one is the deadline as of the pause's start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apkd.exams.models import Attempt
from apkd.exams.states import OPEN_STATUSES, AttemptState
from apkd.exams.timing import Clock, deadline, remaining_seconds
from apkd.timefmt import format_datetime_id


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def local_iso(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).isoformat()


def local_text(dt: datetime, tz: str) -> str:
    return format_datetime_id(dt, tz)


def clock_of(a: Attempt) -> Clock:
    return Clock(
        started_at=a.started_at,
        duration_seconds=a.duration_seconds,
        extension_seconds=a.extension_seconds,
        paused_seconds=a.paused_seconds,
        paused_at=a.paused_at,
    )


def deadline_now(a: Attempt, now: datetime) -> datetime:
    return deadline_at(a.status, clock_of(a), a.deadline, now)


def remaining(a: Attempt, now: datetime) -> int:
    return remaining_at(a.status, clock_of(a), now)


def deadline_at(status: str, clock: Clock, stored: datetime, now: datetime) -> datetime:
    """The deadline as of ``now`` of an attempt in ``status`` with ``clock`` and the stored one."""
    return deadline(clock, now) if status == AttemptState.PAUSED else stored


def remaining_at(status: str, clock: Clock, now: datetime) -> int:
    """Whole seconds left as of ``now`` of an attempt in ``status`` (0 once closed)."""
    return remaining_seconds(clock, now) if status in OPEN_STATUSES else 0


def aware(dt: datetime, tz: str) -> datetime:
    """A time from a request: naive times are read in the site's zone."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt.replace(tzinfo=ZoneInfo(tz))
    return dt


def store_clock(a: Attempt, c: Clock) -> None:
    a.extension_seconds, a.paused_seconds, a.paused_at = c.extension_seconds, c.paused_seconds, c.paused_at
    # Stored deadline: while paused, the deadline as of the pause's start (the view adds the
    # pause so far); the sweeper ignores paused attempts.
    a.deadline = deadline(c, c.paused_at) if c.paused_at is not None else deadline(c)
