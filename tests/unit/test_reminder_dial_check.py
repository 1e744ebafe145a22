"""What a reminder call's job does instead of dialling when the book says the call is no longer
wanted (`instead_of_dialling`): the visit cancelled or moved, the patient opted out, its time
changed, or the claim lost since the runner dispatched it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from receptionist.reminders.rules import NOT_HELD, TIME_CHANGED, Next, instead_of_dialling
from receptionist.store.models import AppointmentStatus, ReminderStatus
from receptionist.store.reminders import OPTED_OUT, VISIT_CANCELLED, VISIT_MOVED, DialCheck

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
VISIT = NOW + timedelta(hours=24)


def check(**changes) -> DialCheck:
    values = {
        "status": ReminderStatus.CALLING,
        "attempts": 2,
        "reason": "",
        "visit_status": AppointmentStatus.BOOKED,
        "starts_at": VISIT,
        "opted_out": False,
    }
    return DialCheck(**{**values, **changes})


def instead(found: DialCheck | None) -> Next | None:
    return instead_of_dialling(found, attempt=2, starts_at=VISIT, now=NOW)


def test_a_held_claim_on_a_booked_visit_is_dialled():
    assert instead(check()) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"visit_status": AppointmentStatus.CANCELLED},
            Next(ReminderStatus.CANCELLED, None, VISIT_CANCELLED),
        ),
        (
            {"visit_status": AppointmentStatus.RESCHEDULED},
            Next(ReminderStatus.MOVED, None, VISIT_MOVED),
        ),
        ({"opted_out": True}, Next(ReminderStatus.OPTED_OUT, None, OPTED_OUT)),
        # Same row, another time: the runner decides again on the new time.
        (
            {"starts_at": VISIT + timedelta(hours=2)},
            Next(ReminderStatus.PENDING, NOW, TIME_CHANGED),
        ),
    ],
)
def test_a_visit_no_longer_booked_at_that_time_or_an_opt_out_ends_the_attempt(changes, expected):
    assert instead(check(**changes)) == expected


def test_a_reminder_settled_or_claimed_again_meanwhile_keeps_what_the_book_says():
    settled = check(
        status=ReminderStatus.CANCELLED,
        reason=VISIT_CANCELLED,
        visit_status=AppointmentStatus.CANCELLED,
    )
    assert instead(settled) == Next(ReminderStatus.CANCELLED, None, VISIT_CANCELLED)
    assert instead(check(attempts=3)) == Next(ReminderStatus.CALLING, None, NOT_HELD)
    assert instead(None) == Next("", None, NOT_HELD)
