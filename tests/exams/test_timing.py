from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from apkd.exams.timing import (
    GRACE_SECONDS,
    Clock,
    accepts_saves,
    deadline,
    extend,
    pause,
    remaining_seconds,
    resume,
)

T0 = datetime(2026, 3, 2, 1, 0, 0, tzinfo=UTC)  # 09:00 WITA


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


CLOCK = Clock(started_at=T0, duration_seconds=90 * 60)


def test_deadline_is_start_plus_duration():
    assert deadline(CLOCK) == at(5400)
    assert deadline(CLOCK, at(100)) == at(5400)
    assert deadline(CLOCK).tzinfo is not None


def test_deadline_is_given_in_utc_for_a_start_with_another_offset():
    wita = timezone(timedelta(hours=8))
    clock = Clock(started_at=T0.astimezone(wita), duration_seconds=60)
    assert deadline(clock) == at(60)
    assert deadline(clock).utcoffset() == timedelta(0)


def test_remaining_counts_down_and_never_goes_negative():
    assert remaining_seconds(CLOCK, T0) == 5400
    assert remaining_seconds(CLOCK, at(400)) == 5000
    assert remaining_seconds(CLOCK, at(5400)) == 0
    assert remaining_seconds(CLOCK, at(9999)) == 0


def test_remaining_rounds_up_so_zero_means_time_is_up():
    assert remaining_seconds(CLOCK, at(5399.2)) == 1
    assert remaining_seconds(CLOCK, at(0.5)) == 5400


def test_saves_accepted_until_deadline_plus_grace_inclusive():
    assert GRACE_SECONDS == 10
    assert accepts_saves(CLOCK, T0)
    assert accepts_saves(CLOCK, at(5400))
    assert accepts_saves(CLOCK, at(5410))
    assert not accepts_saves(CLOCK, at(5410.001))
    assert not accepts_saves(CLOCK, at(6000))


def test_pause_freezes_remaining_and_moves_the_deadline():
    paused = pause(CLOCK, at(600))
    assert paused.is_paused
    assert remaining_seconds(paused, at(600)) == 4800
    assert remaining_seconds(paused, at(900)) == 4800
    assert remaining_seconds(paused, at(7000)) == 4800  # even past the original deadline
    assert deadline(paused, at(900)) == at(5700)
    assert not accepts_saves(paused, at(700))


def test_resume_adds_the_pause_to_the_deadline():
    clock = resume(pause(CLOCK, at(600)), at(900))
    assert not clock.is_paused
    assert clock.paused_seconds == 300
    assert deadline(clock) == at(5700)
    assert remaining_seconds(clock, at(900)) == 4800
    assert accepts_saves(clock, at(5710))
    assert not accepts_saves(clock, at(5711))


def test_several_pauses_add_up():
    clock = resume(pause(CLOCK, at(100)), at(160))
    clock = resume(pause(clock, at(1000)), at(1120))
    assert clock.paused_seconds == 180
    assert deadline(clock) == at(5580)
    assert remaining_seconds(clock, at(1120)) == 5400 - 100 - (1000 - 160)


def test_deadline_while_paused_equals_deadline_after_resume_at_that_instant():
    paused = pause(CLOCK, at(600.25))
    for now in (at(600.25), at(601), at(777.7), at(10_000)):
        assert deadline(paused, now) == deadline(resume(paused, now))


def test_partial_pause_seconds_round_up_for_the_candidate():
    clock = resume(pause(CLOCK, at(10)), at(12.3))
    assert clock.paused_seconds == 3


def test_deadline_of_a_paused_clock_needs_now():
    with pytest.raises(ValueError):
        deadline(pause(CLOCK, at(1)))


def test_pause_and_resume_are_idempotent():
    paused = pause(CLOCK, at(600))
    assert pause(paused, at(700)) == paused
    assert resume(CLOCK, at(700)) == CLOCK


def test_pause_after_the_deadline_gives_no_time_back():
    clock = resume(pause(CLOCK, at(5405)), at(6000))
    assert remaining_seconds(clock, at(6000)) == 0
    # the grace left when paused (5 s) is still there after resuming
    assert accepts_saves(clock, at(6005))
    assert not accepts_saves(clock, at(6006))


def test_extend_adds_minutes():
    clock = extend(CLOCK, 15)
    assert clock.extension_seconds == 900
    assert deadline(clock) == at(6300)
    assert remaining_seconds(extend(clock, 5), at(6300)) == 300


def test_extend_while_paused_adds_to_the_frozen_remaining():
    paused = extend(pause(CLOCK, at(600)), 10)
    assert paused.is_paused
    assert remaining_seconds(paused, at(800)) == 4800 + 600
    resumed = resume(paused, at(900))
    assert deadline(resumed) == at(5400 + 300 + 600)


@pytest.mark.parametrize("minutes", [0, -5, True, 1.5])
def test_extend_refuses_non_positive_or_non_int_minutes(minutes):
    with pytest.raises(ValueError):
        extend(CLOCK, minutes)


def test_naive_datetimes_are_refused():
    naive = datetime(2026, 3, 2, 9, 0, 0)
    with pytest.raises(ValueError):
        Clock(started_at=naive, duration_seconds=60)
    with pytest.raises(ValueError):
        Clock(started_at=T0, duration_seconds=60, paused_at=naive)
    for fn in (remaining_seconds, accepts_saves, pause, resume, deadline):
        with pytest.raises(ValueError):
            fn(CLOCK, naive)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration_seconds": 0},
        {"duration_seconds": -1},
        {"duration_seconds": 60, "extension_seconds": -1},
        {"duration_seconds": 60, "paused_seconds": -1},
        {"duration_seconds": 60.0},
    ],
)
def test_bad_clock_values_are_refused(kwargs):
    with pytest.raises(ValueError):
        Clock(started_at=T0, **kwargs)


def test_now_before_pause_start_does_not_shorten_the_time():
    # a worker whose clock is slightly behind the one that paused
    paused = pause(CLOCK, at(600))
    assert remaining_seconds(paused, at(599)) == 4801
    assert resume(paused, at(599)).paused_seconds == 0
