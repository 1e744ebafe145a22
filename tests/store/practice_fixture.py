"""A small practice profile for store-level scheduling tests (independent of practice.toml)."""

from __future__ import annotations

from receptionist.domain.practice import Practice, parse_practice

PROFILE = {
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


def test_practice(**overrides) -> Practice:
    return parse_practice({**PROFILE, **overrides})
