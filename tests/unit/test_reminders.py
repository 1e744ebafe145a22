"""Reminder calls as rules: the `[practice.reminders]` section (off by default, mistakes named
with their fix) and who is due a call now, or why not."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from receptionist.domain.practice import Closure, PracticeError, parse_practice
from receptionist.reminders.rules import (
    Candidate,
    Skip,
    after_unanswered,
    calling_closed,
    decide,
    due_now,
)
from receptionist.store.models import ReminderStatus
from tests.support.profiles import BASE

CHICAGO = ZoneInfo("America/Chicago")
ON = {"enabled": True}
# Tuesday 1 December 2026, 10:00 in Chicago: inside the default calling hours.
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=CHICAGO)


def practice(**reminders):
    return parse_practice({**BASE, "reminders": {**ON, **reminders}})


def candidate(**changes) -> Candidate:
    values = {
        "appointment_id": "a1",
        "patient_id": "p1",
        "phone": "+14145550123",
        "visit_type": "exam",
        "starts_at": NOW + timedelta(hours=30),
    }
    return Candidate(**{**values, **changes})


def _problems(**reminders) -> str:
    with pytest.raises(PracticeError) as caught:
        parse_practice({**BASE, "reminders": reminders})
    return str(caught.value)


# --- the profile section --------------------------------------------------------------------


def test_reminders_are_off_by_default_with_the_usual_defaults():
    reminders = parse_practice(BASE).reminders
    assert reminders.enabled is False
    assert reminders.hours_before == (24.0, 48.0)
    assert (reminders.calling_hours.start, reminders.calling_hours.end) == (time(9), time(20))
    assert reminders.attempts == 3 and reminders.retry_after == timedelta(minutes=120)
    assert calling_closed(parse_practice(BASE), NOW) is Skip.DISABLED


def test_the_section_reads_as_people_write_it():
    p = practice(
        hours_before=[12, 36],
        calling_hours=["8:30", "18:00"],
        visit_types=["exam"],
        callback_number="(414) 555-0111",
    )
    r = p.reminders
    assert r.nearest == timedelta(hours=12) and r.farthest == timedelta(hours=36)
    assert r.calling_hours.start == time(8, 30)
    assert r.callback_number == "+14145550111"
    assert r.reminds("exam") and not r.reminds("cleaning")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"hours_before": [48, 24]}, "practice.reminders.hours_before: [48, 24] is not a range"),
        ({"hours_before": 24}, "write the range as [nearest, farthest] hours"),
        ({"calling_hours": ["20:00", "09:00"]}, "practice.reminders.calling_hours"),
        ({"calling_hours": ["9am", "20:00"]}, '"HH:MM"'),
        ({"attempts": 0}, "practice.reminders.attempts"),
        ({"visit_types": ["cleaning"]}, "reminders.visit_types: 'cleaning' is not a visit type"),
        ({"callback_number": "555"}, "reminders.callback_number: '555' is not a complete"),
        ({"outbound_trunk": "trunk-1"}, "practice.reminders.outbound_trunk"),
        ({"enable": True}, "practice.reminders.enable: is not a known field"),
    ],
)
def test_each_mistake_names_the_field_and_the_fix(changes, expected):
    assert expected in _problems(**changes)


def test_reminders_need_the_practice_number_as_caller_id():
    with pytest.raises(PracticeError, match="reminders.enabled: .*set `phone`"):
        parse_practice({**{k: v for k, v in BASE.items() if k != "phone"}, "reminders": ON})


# --- the calling window ---------------------------------------------------------------------


def test_nobody_is_called_outside_the_calling_hours():
    p = practice()
    assert calling_closed(p, NOW.replace(hour=8, minute=59)) is Skip.OUTSIDE_HOURS
    assert calling_closed(p, NOW.replace(hour=9)) is None
    assert calling_closed(p, NOW.replace(hour=19, minute=59)) is None
    assert calling_closed(p, NOW.replace(hour=20)) is Skip.OUTSIDE_HOURS
    # The window is the practice's wall clock, whatever zone `now` is given in.
    assert calling_closed(p, datetime(2026, 12, 1, 2, 30, tzinfo=UTC)) is Skip.OUTSIDE_HOURS


def test_nobody_is_called_on_a_closure_whole_or_partial_profile_or_staff():
    p = practice()
    today = NOW.date()
    whole = p.with_closures([Closure(start=today, reason="snow")])
    assert calling_closed(whole, NOW) is Skip.CLOSURE
    afternoon = p.with_closures(
        [Closure.model_validate({"date": str(today), "hours": ["13:00", "17:00"]})]
    )
    assert calling_closed(afternoon, NOW) is Skip.CLOSURE  # closing early stops the day's calls
    assert decide(whole, candidate(), NOW).skip is Skip.CLOSURE
    yesterday = p.with_closures([Closure(start=today - timedelta(days=1))])
    assert calling_closed(yesterday, NOW) is None


# --- who is due -----------------------------------------------------------------------------


def test_a_booked_visit_in_the_window_with_a_number_is_due():
    assert decide(practice(), candidate(), NOW).due


@pytest.mark.parametrize(
    ("changes", "skip"),
    [
        ({"phone": "unknown"}, Skip.NO_NUMBER),
        ({"phone": ""}, Skip.NO_NUMBER),
        ({"opted_out": True}, Skip.OPTED_OUT),
        ({"booked": False}, Skip.NOT_BOOKED),
        ({"status": "confirmed"}, Skip.FINISHED),
        ({"status": "cancelled"}, Skip.FINISHED),
        ({"status": "left_message"}, Skip.FINISHED),
        ({"status": "gave_up"}, Skip.FINISHED),
        ({"starts_at": NOW + timedelta(hours=49)}, Skip.TOO_EARLY),
        ({"starts_at": NOW + timedelta(hours=23)}, Skip.TOO_LATE),
        ({"attempts": 3, "status": "pending"}, Skip.EXHAUSTED),
        (
            {"attempts": 1, "status": "pending", "last_attempt_at": NOW - timedelta(minutes=119)},
            Skip.TOO_SOON,
        ),
        (
            {"attempts": 1, "status": "calling", "lease_until": NOW + timedelta(minutes=5)},
            Skip.IN_FLIGHT,
        ),
    ],
)
def test_why_someone_is_not_called(changes, skip):
    assert decide(practice(), candidate(**changes), NOW).skip is skip


def test_a_retry_is_due_once_the_spacing_has_passed():
    again = candidate(attempts=1, status="pending", last_attempt_at=NOW - timedelta(minutes=120))
    assert decide(practice(), again, NOW).due


def test_a_call_whose_job_died_is_tried_again_after_its_lease():
    lost = candidate(
        attempts=1,
        status="calling",
        last_attempt_at=NOW - timedelta(hours=3),
        lease_until=NOW - timedelta(minutes=1),
    )
    assert decide(practice(), lost, NOW).due


def test_a_patient_skipped_for_no_number_is_called_once_the_number_is_fixed():
    assert decide(practice(), candidate(status="skipped"), NOW).due


def test_only_the_visit_types_named_are_reminded():
    p = practice(visit_types=["exam"])
    assert decide(p, candidate(), NOW).due
    other = parse_practice(
        {
            **BASE,
            "visit_types": [
                *BASE["visit_types"],
                {"id": "clean", "name": "cleaning", "duration_minutes": 30, "roles": ["dentist"]},
            ],
            "reminders": {**ON, "visit_types": ["exam"]},
        }
    )
    assert decide(other, candidate(visit_type="clean"), NOW).skip is Skip.VISIT_TYPE


def test_a_visit_on_a_closed_day_gets_no_reminder():
    visit = candidate()
    p = practice().with_closures([Closure(start=visit.starts_at.astimezone(CHICAGO).date())])
    assert decide(p, visit, NOW).skip is Skip.VISIT_CLOSED


def test_the_due_come_first_soonest_visit_first():
    later = candidate(appointment_id="late", starts_at=NOW + timedelta(hours=40))
    sooner = candidate(appointment_id="soon", starts_at=NOW + timedelta(hours=25))
    skipped = candidate(appointment_id="none", phone="unknown")
    order = [d.candidate.appointment_id for d in due_now(practice(), [skipped, later, sooner], NOW)]
    assert order == ["soon", "late", "none"]


# --- after a call ---------------------------------------------------------------------------


def test_unanswered_calls_are_retried_after_the_spacing_then_given_up():
    p = practice(attempts=2, retry_minutes=90)
    first = after_unanswered(p, attempts=1, now=NOW, why="busy")
    assert first.status == ReminderStatus.PENDING and first.retry_at == NOW + timedelta(minutes=90)
    last = after_unanswered(p, attempts=2, now=NOW, why="no answer")
    assert last.status == ReminderStatus.GAVE_UP and last.retry_at is None
    assert "every attempt used" in last.reason
