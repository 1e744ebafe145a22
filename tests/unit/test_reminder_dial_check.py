"""What a reminder call's job does instead of dialling when the book says the call is no longer
wanted (`instead_of_dialling`): the visit cancelled or moved, the patient opted out, its time
changed, or the claim lost since the runner dispatched it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from receptionist.domain.reminders import NOT_HELD, TIME_CHANGED, Next, instead_of_dialling
from receptionist.store.models import (
    BOOKED,
    CANCELLED,
    REMINDER_CALLING,
    REMINDER_CANCELLED,
    REMINDER_MOVED,
    REMINDER_OPTED_OUT,
    REMINDER_PENDING,
    RESCHEDULED,
)
from receptionist.store.reminders import OPTED_OUT, VISIT_CANCELLED, VISIT_MOVED, DialCheck

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
VISIT = NOW + timedelta(hours=24)


def check(**changes) -> DialCheck:
    values = {
        "status": REMINDER_CALLING,
        "attempts": 2,
        "reason": "",
        "visit_status": BOOKED,
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
        ({"visit_status": CANCELLED}, Next(REMINDER_CANCELLED, None, VISIT_CANCELLED)),
        ({"visit_status": RESCHEDULED}, Next(REMINDER_MOVED, None, VISIT_MOVED)),
        ({"opted_out": True}, Next(REMINDER_OPTED_OUT, None, OPTED_OUT)),
        # Same row, another time: the runner decides again on the new time.
        ({"starts_at": VISIT + timedelta(hours=2)}, Next(REMINDER_PENDING, NOW, TIME_CHANGED)),
    ],
)
def test_a_visit_no_longer_booked_at_that_time_or_an_opt_out_ends_the_attempt(changes, expected):
    assert instead(check(**changes)) == expected


def test_a_reminder_settled_or_claimed_again_meanwhile_keeps_what_the_book_says():
    settled = check(status=REMINDER_CANCELLED, reason=VISIT_CANCELLED, visit_status=CANCELLED)
    assert instead(settled) == Next(REMINDER_CANCELLED, None, VISIT_CANCELLED)
    assert instead(check(attempts=3)) == Next(REMINDER_CALLING, None, NOT_HELD)
    assert instead(None) == Next("", None, NOT_HELD)
