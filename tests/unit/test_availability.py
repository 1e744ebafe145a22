"""Availability: provider hours minus bookings, closures and lead time, in the practice's zone,
across daylight-saving changes; at most three options, soonest first, spread across days."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receptionist.appointments import (
    Offers,
    PartOfDay,
    Reason,
    Refused,
    check_patient_kind,
    localize,
    open_times,
)
from receptionist.domain.practice import parse_practice
from receptionist.domain.spoken import spoken_time
from receptionist.store import Busy
from tests.support.profiles import SCHEDULING, WEEKDAYS
from tools._refusals import rule

PRACTICE = parse_practice(SCHEDULING)
TZ = PRACTICE.tz
MONDAY = date(2027, 3, 1)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=TZ)


def slots(visit: str = "exam", now: datetime | None = None, busy=(), **kw):
    return open_times(
        PRACTICE, PRACTICE.visit_type(visit), list(busy), now=now or at(MONDAY, 7), **kw
    )


def test_three_options_soonest_first_on_three_different_days():
    options = slots()
    assert [s.start for s in options] == [
        at(MONDAY, 8),
        at(MONDAY + timedelta(1), 8),
        at(date(2027, 3, 4), 8),
    ]
    assert [s.day for s in options] == sorted({s.day for s in options})  # Wed 3rd is closed


def test_never_in_the_past_and_lead_time_respected():
    now = at(MONDAY, 10, 7)
    first = slots(now=now, date_from=MONDAY, date_to=MONDAY)
    assert first[0].start == at(MONDAY, 11, 15)  # 1 h lead time, 15-minute grid
    assert all(s.start >= now + timedelta(hours=1) for s in first)
    cleaning = slots("clean", now=now)
    assert cleaning[0].start >= now + timedelta(hours=24)
    assert cleaning[0].start == at(MONDAY + timedelta(1), 10, 15)


def test_a_visit_never_straddles_lunch_or_closing_time():
    day = slots(
        "clean", now=at(MONDAY - timedelta(3), 7), date_from=MONDAY, date_to=MONDAY, limit=40
    )
    starts = {s.start.time() for s in day}
    assert time(11, 0) in starts and time(11, 15) not in starts  # would run into lunch
    assert time(16, 0) in starts and time(16, 15) not in starts  # would run past closing
    assert time(12, 0) not in starts


def test_bookings_are_subtracted_and_back_to_back_is_allowed():
    busy = [Busy("dr-a", at(MONDAY, 8), at(MONDAY, 9))]
    day = slots(busy=busy, date_from=MONDAY, date_to=MONDAY, limit=60)
    assert at(MONDAY, 8, 45) not in [s.start for s in day if s.provider_id == "dr-a"]
    assert day[0].start == at(MONDAY, 9) and day[0].provider_id == "dr-a"
    # A different provider is free: the same time goes to dr-b on his day.
    tuesday = MONDAY + timedelta(1)
    busy = [Busy("dr-a", at(tuesday, 13), at(tuesday, 17))]
    afternoon = slots(busy=busy, date_from=tuesday, date_to=tuesday, part_of_day="afternoon")
    assert afternoon[0].start == at(tuesday, 13) and afternoon[0].provider_id == "dr-b"


def test_the_patients_own_visits_rule_a_time_out_with_every_provider():
    # The patient has an exam with dr-a 9:00-9:30: no cleaning (or exam with anyone) may overlap
    # it; other patients' bookings count only for their provider, as before.
    tuesday = MONDAY + timedelta(1)
    own = [Busy("dr-a", at(tuesday, 9), at(tuesday, 9, 30))]
    now = at(MONDAY - timedelta(3), 7)
    cleanings = slots(
        "clean", now=now, date_from=tuesday, date_to=tuesday, limit=40, patient_busy=own
    )
    starts = [s.start.time() for s in cleanings]
    assert time(8, 0) in starts and time(9, 30) in starts  # back to back either side
    assert not {time(8, 15), time(8, 30), time(8, 45), time(9, 0), time(9, 15)} & set(starts)
    exams = slots(now=now, date_from=tuesday, date_to=tuesday, limit=40, patient_busy=own)
    assert not [s for s in exams if s.start < at(tuesday, 9, 30) and at(tuesday, 9) < s.end]
    everyone = slots("clean", now=now, date_from=tuesday, date_to=tuesday, limit=40)
    assert time(9, 0) in [s.start.time() for s in everyone]  # for anyone else it is open


def test_practice_and_provider_closures():
    wednesday = date(2027, 3, 3)
    assert slots(date_from=wednesday, date_to=wednesday) == []
    tuesday = date(2027, 3, 9)
    only_b = slots(date_from=tuesday, date_to=tuesday, provider_id="dr-b")
    assert only_b == []  # dr-b is away the 9th-10th
    assert slots(date_from=tuesday, date_to=tuesday, provider_id="dr-a")


def test_part_of_day_and_spacing_within_one_day():
    options = slots(date_from=MONDAY, date_to=MONDAY, part_of_day=PartOfDay.AFTERNOON)
    assert [s.start.time() for s in options] == [time(13), time(14), time(15)]
    morning = slots(date_from=MONDAY, date_to=MONDAY, part_of_day="morning")
    assert all(s.start.time() < time(12) for s in morning)
    assert slots(date_from=MONDAY, date_to=MONDAY, part_of_day="evening") == []


@contextmanager
def refused(reason: Reason, match: str):
    """The rules refuse with `reason`, and the model's coaching for it says `match`."""
    with pytest.raises(Refused) as caught:
        yield
    assert caught.value.reason is reason
    assert re.search(match, rule(caught.value.refusal)), rule(caught.value.refusal)


def test_bad_requests_are_refused_with_what_to_do():
    with refused(Reason.DATE_PAST, "in the past"):
        slots(date_from=MONDAY - timedelta(10), date_to=MONDAY - timedelta(5))
    with refused(Reason.BEYOND_HORIZON, "90 days ahead"):
        slots(date_from=MONDAY + timedelta(200))
    with refused(Reason.DATES_SWAPPED, "swap them"):
        slots(date_from=MONDAY + timedelta(5), date_to=MONDAY + timedelta(2))
    with refused(Reason.PROVIDER_CANNOT, "does not do exam"):
        slots(provider_id="hy")
    with refused(Reason.UNKNOWN_PROVIDER, "unknown provider 'dr-z'"):
        slots(provider_id="dr-z")
    with pytest.raises(ValueError):
        slots(part_of_day="midnight")


def test_past_start_date_is_clamped_to_today():
    now = at(MONDAY + timedelta(1), 7)
    assert slots(now=now, date_from=MONDAY - timedelta(30))[0].start == at(MONDAY + timedelta(1), 8)


def test_patient_kind_rules():
    check_patient_kind(PRACTICE.visit_type("new"), is_new_patient=True)
    with refused(Reason.NEW_PATIENTS_ONLY, "only for new patients"):
        check_patient_kind(PRACTICE.visit_type("new"), is_new_patient=False)
    with refused(Reason.EXISTING_PATIENTS_ONLY, "new patient exam first"):
        check_patient_kind(PRACTICE.visit_type("clean"), is_new_patient=True)


# --- daylight saving ------------------------------------------------------------------------

NIGHT = parse_practice(
    {
        **SCHEDULING,
        "hours": {
            d: [["00:00", "06:00"], ["08:00", "17:00"]] for d in (*WEEKDAYS, "saturday", "sunday")
        },
        "closures": [],
        "providers": [{"id": "dr-n", "name": "Dr. N", "role": "dentist"}],
        "visit_types": [
            {
                "id": "exam",
                "name": "exam",
                "duration_minutes": 60,
                "roles": ["dentist"],
                "lead_time_hours": 0,
            }
        ],
    }
)


def test_same_wall_time_gets_the_right_offset_either_side_of_spring_forward():
    # US DST starts Sunday 2027-03-14 at 02:00.
    before = open_times(
        PRACTICE,
        PRACTICE.visit_type("exam"),
        [],
        now=at(date(2027, 3, 12), 7),
        date_from=date(2027, 3, 12),
        date_to=date(2027, 3, 12),
    )
    after = open_times(
        PRACTICE,
        PRACTICE.visit_type("exam"),
        [],
        now=at(date(2027, 3, 12), 7),
        date_from=date(2027, 3, 15),
        date_to=date(2027, 3, 15),
    )
    assert before[0].start.astimezone(UTC).hour == 14  # 08:00 CST = 14:00 UTC
    assert after[0].start.astimezone(UTC).hour == 13  # 08:00 CDT = 13:00 UTC
    assert after[0].start.time() == time(8)


def test_no_slot_starts_in_the_spring_forward_gap_and_durations_are_real_time():
    day = date(2027, 3, 14)
    all_day = open_times(
        NIGHT,
        NIGHT.visit_type("exam"),
        [],
        now=at(date(2027, 3, 13), 0),
        date_from=day,
        date_to=day,
        part_of_day="morning",
        limit=100,
    )
    starts = [s.start for s in all_day if s.start.hour < 7]
    assert not any(s.hour == 2 for s in starts)  # 02:00-02:59 does not exist that night
    assert localize(day, time(2, 30), NIGHT.tz) is None
    for slot in all_day:  # (same-zone subtraction in Python is wall-clock: compare in UTC)
        assert slot.end.astimezone(UTC) - slot.start.astimezone(UTC) == timedelta(hours=1)
    one_thirty = next(s for s in all_day if s.start.time() == time(1, 30))
    assert one_thirty.end.time() == time(3, 30)  # an hour later by the clock on the wall
    assert one_thirty.start.tzname() == "CST" and one_thirty.end.tzname() == "CDT"


def test_fall_back_day_has_no_duplicate_or_overlapping_options():
    day = date(2027, 11, 7)  # US DST ends at 02:00 -> 01:00
    options = open_times(
        NIGHT,
        NIGHT.visit_type("exam"),
        [],
        now=at(date(2027, 11, 6), 0),
        date_from=day,
        date_to=day,
        limit=100,
    )
    instants = [s.start.astimezone(UTC) for s in options]
    assert len(instants) == len(set(instants)) and instants == sorted(instants)
    busy = [
        Busy(
            "dr-n", datetime(2027, 11, 7, 6, 0, tzinfo=UTC), datetime(2027, 11, 7, 8, 0, tzinfo=UTC)
        )
    ]
    blocked = open_times(
        NIGHT,
        NIGHT.visit_type("exam"),
        busy,
        now=at(date(2027, 11, 6), 0),
        date_from=day,
        date_to=day,
        limit=100,
    )
    for s in blocked:
        assert not (s.start.astimezone(UTC) < busy[0].ends_at and busy[0].starts_at < s.end)


def test_spoken_time_and_offers():
    assert spoken_time(at(MONDAY, 9), TZ) == "Monday, March 1 at 9 AM"
    assert spoken_time(at(MONDAY, 13, 30), TZ, today=MONDAY) == "today at 1:30 PM"
    assert spoken_time(at(MONDAY, 8), TZ, today=MONDAY - timedelta(1)).startswith("tomorrow")
    offers = Offers()
    [(a, slot)] = offers.add(slots()[:1])
    assert offers.add([slot])[0][0] == a  # offering the same slot again keeps its id
    assert offers.get(a) == slot and offers.get("opt-000000") is None
    offers.discard(a)
    assert offers.get(a) is None


# --- properties -------------------------------------------------------------------------------

busy_strategy = st.lists(
    st.tuples(st.sampled_from(["dr-a", "dr-b"]), st.integers(0, 14 * 24 * 4), st.integers(1, 16)),
    max_size=40,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    busy=busy_strategy,
    now_offset=st.integers(0, 10 * 24 * 60),
    part=st.sampled_from(list(PartOfDay)),
)
def test_every_option_is_bookable(busy, now_offset, part):
    origin = at(MONDAY, 0)
    busy_list = [
        Busy(p, origin + timedelta(minutes=15 * q), origin + timedelta(minutes=15 * (q + n)))
        for p, q, n in busy
    ]
    now = origin + timedelta(minutes=now_offset)
    options = slots(now=now, busy=busy_list, part_of_day=part)
    assert len(options) <= 3
    assert [o.start for o in options] == sorted(o.start for o in options)
    if len({o.day for o in options}) < len(options):
        # Repeating a day only happens when fewer than three days have room.
        assert len({o.day for o in options}) < 3
    for o in options:
        assert o.start >= now + timedelta(hours=1)
        assert part.admits(o.start.time())
        assert PRACTICE.closure_on(o.day) is None
        provider = PRACTICE.provider(o.provider_id)
        hours = PRACTICE.provider_hours(provider).on(o.day.weekday())
        assert any(s.start <= o.start.time() and o.end.time() <= s.end for s in hours)
        for b in busy_list:
            if b.provider_id == o.provider_id:
                assert not (o.start < b.ends_at and b.starts_at < o.end)
