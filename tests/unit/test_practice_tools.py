"""What the practice_info and current_time tools say, read from the profile and the call's clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from receptionist.domain.practice import load_practice
from receptionist.domain.spoken import now_at_practice
from receptionist.paths import REPO_ROOT
from tools.practice_info import answer

PRACTICE = load_practice(REPO_ROOT / "practice.toml")


def describe_now(moment: datetime) -> str:
    return now_at_practice(PRACTICE, moment)


def today_at(moment: datetime):
    return moment.astimezone(PRACTICE.tz).date()


TUESDAY_10AM = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
THANKSGIVING = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)


def test_current_time_open_closed_and_holiday():
    assert describe_now(TUESDAY_10AM) == (
        "It is Tuesday, November 24, 2026, 10:00 AM at the practice. "
        "The office is open until 5:00 PM."
    )
    closed = describe_now(SATURDAY)
    assert "closed now" in closed and "opens again Monday, November 30 at 8 AM" in closed
    holiday = describe_now(THANKSGIVING)
    assert "closed now (Thanksgiving)" in holiday and "tomorrow (Friday) at 8 AM" in holiday


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("hours", "Wednesday: 8 AM to 12 PM and 1 PM to 7 PM"),
        ("hours", "closed November 26 for Thanksgiving"),
        ("address_parking", "Free parking behind the building"),
        ("insurance", "Delta Dental"),
        ("services", "new-patient: new patient exam, 60 minutes, new patients only"),
        ("payment", "payment plans"),
        ("new_patients", "photo ID"),
        ("cancellation", "24 hours"),
        ("providers", "Maria Santos (hygienist, id maria-santos)"),
    ],
)
def test_practice_info_topics_come_from_the_profile(topic, expected):
    assert expected in answer(PRACTICE, topic, today_at(TUESDAY_10AM))


def test_hours_list_the_nearest_upcoming_closures_whatever_their_order_in_the_file():
    from datetime import date

    from receptionist.domain.practice import Closure

    closures = [
        Closure(start=date(2027, 7, 4), reason="Independence Day"),
        Closure(start=date(2026, 11, 1), reason="already past"),
        Closure(start=date(2027, 1, 1), reason="New Year's Day"),
        Closure(start=date(2026, 12, 24), end=date(2026, 12, 26), reason="the holidays"),
        Closure(start=date(2026, 11, 26), reason="Thanksgiving"),
    ]
    practice = PRACTICE.model_copy(update={"closures": closures})
    text = answer(practice, "hours", today_at(TUESDAY_10AM))
    assert "already past" not in text and "Independence Day" not in text
    assert text.index("Thanksgiving") < text.index("the holidays") < text.index("New Year")
