"""Closures of part of a day (staff closing early for snow, a training afternoon): the office is
closed then, opens again after, offers no time that runs into it, and says so."""

from __future__ import annotations

from datetime import time

from receptionist.appointments import open_times
from receptionist.domain.practice import Closure, Interval
from receptionist.domain.spoken import closures_ahead, now_at_practice
from tests.unit.test_availability import MONDAY, PRACTICE, at, slots

AFTERNOON_OFF = Closure(start=MONDAY, reason="snow", hours=Interval(start=time(12), end=time(15)))
CLOSING_EARLY = PRACTICE.with_closures([AFTERNOON_OFF])


def test_the_office_is_closed_during_a_partial_closure_and_open_around_it():
    assert CLOSING_EARLY.is_open(at(MONDAY, 10))
    assert not CLOSING_EARLY.is_open(at(MONDAY, 13, 30))
    assert CLOSING_EARLY.is_open(at(MONDAY, 15, 30))
    assert CLOSING_EARLY.closure_at(at(MONDAY, 13)) == AFTERNOON_OFF
    assert CLOSING_EARLY.closure_on(MONDAY) is None  # the day as a whole is not closed


def test_it_opens_again_when_the_closure_ends():
    assert CLOSING_EARLY.next_opening(at(MONDAY, 12, 30)) == at(MONDAY, 15)


def test_no_offered_time_runs_into_the_closed_part():
    closed = open_times(
        CLOSING_EARLY,
        CLOSING_EARLY.visit_type("exam"),
        [],
        now=at(MONDAY, 7),
        date_from=MONDAY,
        date_to=MONDAY,
        limit=50,
    )
    starts = {s.start.time() for s in closed}
    assert time(11, 30) in starts and time(15) in starts  # right up to it, and right after
    assert all(s.end <= at(MONDAY, 12) or s.start >= at(MONDAY, 15) for s in closed)
    assert len(slots("exam", date_from=MONDAY, date_to=MONDAY, limit=50)) > len(closed)


def test_the_hours_answer_and_the_clock_name_the_partial_closure():
    text = closures_ahead(CLOSING_EARLY.closures, MONDAY)
    assert "closed March 1 from 12 PM to 3 PM for snow" in text
    assert "(snow)" in now_at_practice(CLOSING_EARLY, at(MONDAY, 13))


def test_with_no_extra_closures_the_profile_is_unchanged():
    assert PRACTICE.with_closures([]) is PRACTICE
    assert CLOSING_EARLY.closures[-1] == AFTERNOON_OFF and len(PRACTICE.closures) == 1
