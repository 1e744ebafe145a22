"""The practices the tests build, in one place: each test's practice is one of these with its
changes named (`practice(booking=...)`, `{**BASE, "hours": ...}`), so what differs is what the
test is about.

- BASE: the smallest valid profile (Test Dental, one dentist, Monday and Tuesday), for the
  practice.toml tests that change one field and the unit tests that need any practice;
- SCHEDULING: two dentists (one part-time, away some days), a hygienist, a lunch break and a
  closure, for open times and the booking rules;
- LAKESIDE: the store, web and notify tests' practice (`practice(**overrides)`), optionally with a
  new-patient exam (`with_new_exam`);
- lakeside_all_day_toml: practice.toml text for the e2e stacks, open around the clock so a test
  passes at any hour, with the sections each one adds.
"""

from __future__ import annotations

from receptionist.domain.practice import Practice, parse_practice

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
WEEK = (*WEEKDAYS, "saturday", "sunday")

BASE = {
    "name": "Test Dental",
    "timezone": "America/Chicago",
    "region": "US",
    "phone": "+14145550100",
    "hours": {"monday": [["08:00", "17:00"]], "tuesday": [["08:00", "12:00"]]},
    "providers": [{"name": "Dr. Amara Okafor", "role": "Dentist"}],
    "visit_types": [
        {"id": "exam", "name": "exam", "duration_minutes": 30, "roles": ["dentist"]},
    ],
}

SCHEDULING = {
    "id": "t",
    "name": "T Dental",
    "timezone": "America/Chicago",
    "region": "US",
    "hours": {d: [["08:00", "12:00"], ["13:00", "17:00"]] for d in WEEKDAYS},
    "closures": [{"date": "2027-03-03", "reason": "training"}],
    "providers": [
        {"id": "dr-a", "name": "Dr. A", "role": "dentist"},
        {
            "id": "dr-b",
            "name": "Dr. B",
            "role": "dentist",
            "hours": {"tuesday": [["13:00", "17:00"]]},
            "closures": [{"start": "2027-03-09", "end": "2027-03-10"}],
        },
        {"id": "hy", "name": "Hy", "role": "hygienist"},
    ],
    "visit_types": [
        {
            "id": "exam",
            "name": "exam",
            "duration_minutes": 30,
            "roles": ["dentist"],
            "lead_time_hours": 1,
        },
        {
            "id": "clean",
            "name": "cleaning",
            "duration_minutes": 60,
            "roles": ["hygienist"],
            "patients": "existing",
            "lead_time_hours": 24,
        },
        {
            "id": "new",
            "name": "new patient exam",
            "duration_minutes": 60,
            "roles": ["dentist"],
            "patients": "new",
        },
    ],
}

LAKESIDE = {
    "id": "lakeside",
    "name": "Lakeside Test Dental",
    "timezone": "America/Chicago",
    "region": "US",
    "phone": "+14145550100",
    "hours": {
        d: [["08:00", "17:00"]] for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
    },
    "providers": [
        {"id": "dr-a", "name": "Dr. Able", "role": "dentist"},
        {"id": "dr-b", "name": "Dr. Baker", "role": "dentist"},
        {"id": "hy-c", "name": "Casey Hygienist", "role": "hygienist"},
    ],
    "visit_types": [
        {
            "id": "checkup",
            "name": "check-up",
            "duration_minutes": 60,
            "roles": ["hygienist"],
            "patients": "existing",
            "lead_time_hours": 2,
        },
        {
            "id": "exam",
            "name": "exam",
            "duration_minutes": 30,
            "roles": ["dentist"],
            "lead_time_hours": 1,
        },
    ],
}

NEW_EXAM = {
    "id": "new-exam",
    "name": "new patient exam",
    "duration_minutes": 60,
    "roles": ["dentist"],
    "patients": "new",
    "lead_time_hours": 1,
}


def practice(**overrides: object) -> Practice:
    """LAKESIDE with `overrides` (top-level fields replaced whole)."""
    return parse_practice({**LAKESIDE, **overrides})


def with_new_exam(**overrides: object) -> Practice:
    """LAKESIDE plus a new-patient exam (what a staff member books for a newcomer)."""
    return practice(**{"visit_types": [*LAKESIDE["visit_types"], NEW_EXAM], **overrides})


ONE_DENTIST_TOML = """[[practice.providers]]
id = "dr-a"
name = "Dr. Able"
role = "dentist"
[[practice.visit_types]]
id = "exam"
name = "exam"
duration_minutes = 30
roles = ["dentist"]
"""

REMINDERS_ALL_DAY_TOML = """[practice.reminders]
enabled = true
hours_before = [1, 48]
calling_hours = ["00:00", "23:59"]
"""


def lakeside_all_day_toml(name: str, number: str, *sections: str) -> str:
    """practice.toml for an e2e stack: Lakeside at `number`, open every day 00:00-23:59, then
    `sections` (TOML text, e.g. ONE_DENTIST_TOML and a [practice.reminders] table)."""
    hours = "".join(f'{day} = [["00:00", "23:59"]]\n' for day in WEEK)
    head = (
        f'\n[practice]\nid = "lakeside"\nname = "{name}"\ntimezone = "America/Chicago"\n'
        f'region = "US"\nphone = "{number}"\n[practice.hours]\n{hours}'
    )
    return head + "".join(sections)
