"""Times, dates and hours in Spanish, against the forms a native speaker says (and English kept)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from receptionist.domain.practice import WeeklyHours
from receptionist.domain.spoken import (
    clock,
    spoken_birth_date,
    spoken_date,
    spoken_time,
    week_hours,
)

CHICAGO = ZoneInfo("America/Chicago")
TUESDAY_915 = datetime(2026, 12, 1, 15, 15, tzinfo=UTC)  # 9:15 in Chicago


@pytest.mark.parametrize(
    ("moment", "en", "es"),
    [
        (time(9, 0), "9 AM", "9:00"),
        (time(13, 30), "1:30 PM", "13:30"),
        (time(0, 5), "12:05 AM", "0:05"),
    ],
)
def test_a_time_of_day(moment, en, es):
    assert (clock(moment), clock(moment, "es")) == (en, es)


def test_a_date_and_a_date_of_birth():
    assert spoken_date(date(2026, 11, 26), "es") == "26 de noviembre"
    assert spoken_birth_date(date(1985, 3, 3), "es") == "3 de marzo de 1985"
    assert spoken_birth_date(date(1985, 3, 3)) == "March 3, 1985"


def test_an_appointment_time_far_off_today_and_tomorrow():
    assert spoken_time(TUESDAY_915, CHICAGO, lang="es") == "martes 1 de diciembre a las 9:15"
    assert spoken_time(TUESDAY_915, CHICAGO) == "Tuesday, December 1 at 9:15 AM"
    assert spoken_time(TUESDAY_915, CHICAGO, date(2026, 12, 1), "es") == "hoy a las 9:15"
    assert (
        spoken_time(TUESDAY_915, CHICAGO, date(2026, 11, 30), "es") == "mañana (martes) a las 9:15"
    )


def test_the_week_in_spanish():
    hours = WeeklyHours(
        monday=[["08:00", "17:00"]], wednesday=[["08:00", "12:00"], ["13:00", "19:00"]]
    )
    said = week_hours(hours, "es").split("; ")
    assert said[0] == "Lunes: de 8:00 a 17:00"
    assert said[1] == "Martes: cerrado"
    assert said[2] == "Miércoles: de 8:00 a 12:00 y de 13:00 a 19:00"
    assert week_hours(hours).split("; ")[0] == "Monday: 8 AM to 5 PM"
