"""The practice profile: the example loads, mistakes name the field and the fix, the dialled
number selects the location."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path

import pytest

from receptionist.domain.practice import (
    PatientKind,
    PracticeError,
    load_directory,
    load_practice,
    parse_practice,
)
from tests.support.profiles import BASE

REPO = Path(__file__).resolve().parents[2]


def _problems(**changes) -> str:
    with pytest.raises(PracticeError) as caught:
        parse_practice({**BASE, **changes})
    return str(caught.value)


def test_example_profile_loads_with_everything_the_agent_needs():
    practice = load_practice(REPO / "practice.toml")
    assert practice.id == "lakeside"
    assert {p.role for p in practice.providers} == {"dentist", "hygienist"}
    assert practice.visit_type("new-patient").patients is PatientKind.NEW
    assert practice.emergency.visit_type == "emergency"
    assert practice.insurance.accepted and practice.policies.cancellation
    assert practice.records.transcripts is False
    assert practice.closure_on(date(2026, 12, 25)).reason == "the holidays"
    assert practice.transfers.after_hours.startswith("tel:+")


def test_defaults_ids_and_normalises_roles():
    practice = parse_practice(BASE)
    assert practice.id == "test-dental"
    assert practice.providers[0].id == "dr-amara-okafor" and practice.providers[0].role == "dentist"
    assert practice.provider_hours(practice.providers[0]) == practice.hours


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"timezone": "Mars/Base"}, "practice.timezone: 'Mars/Base' is not an IANA time zone"),
        ({"region": "XX"}, "practice.region"),
        ({"hours": {"monday": [["17:00", "08:00"]]}}, "closes (08:00) before it opens (17:00)"),
        ({"hours": {"funday": []}}, "practice.hours.funday: is not a known field"),
        ({"name": None} | {"name": ""}, "practice.name"),
        ({"phone": "12"}, "not a complete phone number for region US"),
        (
            {
                "visit_types": [
                    {"id": "exam", "name": "x", "duration_minutes": 30, "roles": ["surgeon"]}
                ]
            },
            "visit_types.exam.roles: no provider has role surgeon; use one of dentist",
        ),
        (
            {
                "visit_types": [
                    {"id": "Exam!", "name": "x", "duration_minutes": 30, "roles": ["dentist"]}
                ]
            },
            "practice.visit_types[0].id",
        ),
        (
            {
                "visit_types": [
                    {"id": "exam", "name": "x", "duration_minutes": 2, "roles": ["dentist"]}
                ]
            },
            "practice.visit_types[0].duration_minutes",
        ),
        (
            {
                "providers": [
                    {"name": "Dr A", "role": "dentist", "hours": {"monday": [["07:00", "12:00"]]}}
                ]
            },
            "providers.dr-a.hours.monday: 07:00-12:00 is outside the practice's opening hours",
        ),
        (
            {"emergency": {"visit_type": "nope"}},
            "emergency.visit_type: 'nope' is not a visit type id",
        ),
        ({"closures": [{"start": "2026-12-26", "end": "2026-12-24"}]}, "swap them"),
        (
            {"transfers": {"staff": "555-1234"}},
            "transfers.staff: '555-1234' is not a valid phone number",
        ),
        ({"colour": "blue"}, "practice.colour: is not a known field"),
    ],
)
def test_each_mistake_names_the_field_and_the_fix(changes, expected):
    assert expected in _problems(**changes)


def test_missing_field_says_where_to_add_it():
    data = dict(BASE)
    del data["timezone"]
    with pytest.raises(
        PracticeError, match=r"practice.timezone: is required: add it under \[practice\]"
    ):
        parse_practice(data)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(PracticeError, match="PRACTICE_FILE"):
        load_practice(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[practice\nname=")
    with pytest.raises(PracticeError, match="not valid TOML"):
        load_practice(bad)


def test_closures_and_open_hours():
    practice = parse_practice({**BASE, "closures": [{"date": "2027-03-01", "reason": "training"}]})
    tz = practice.tz
    assert not practice.is_open(datetime(2027, 3, 1, 9, 0, tzinfo=tz))  # closed Monday
    assert practice.is_open(datetime(2027, 3, 8, 9, 0, tzinfo=tz))
    assert not practice.is_open(datetime(2027, 3, 8, 17, 0, tzinfo=tz))  # end is exclusive
    assert practice.next_opening(datetime(2027, 3, 1, 9, 0, tzinfo=tz)) == datetime(
        2027, 3, 2, 8, 0, tzinfo=tz
    )


LOCATIONS = """
[practice]
id = "main"
name = "Main Street Dental"
timezone = "America/Chicago"
region = "US"
phone = "(414) 555-0100"
dialled_numbers = ["+14145550111"]
[practice.hours]
monday = [["08:00", "17:00"]]
[practice.policies]
payment = "Cards and cash."

[[location]]
id = "west"
name = "West Side Dental"
phone = "+14145550200"
address = "88 West Road"
"""


def test_locations_inherit_and_the_dialled_number_selects(tmp_path, caplog):
    path = tmp_path / "practice.toml"
    path.write_text(LOCATIONS)
    directory = load_directory(path)
    assert [p.id for p in directory] == ["main", "west"]
    west = directory.select("+14145550200")
    assert west.name == "West Side Dental" and west.policies.payment == "Cards and cash."
    assert west.phone == "+14145550200" and west.dialled_numbers == []
    assert directory.select("+14145550111").id == "main"
    assert directory.select("+14145550100").id == "main"  # local format normalised
    with caplog.at_level(logging.WARNING):
        assert directory.select("+14145559876") is directory.default
    assert "***9876" in caplog.text and "4145559876" not in caplog.text


def test_directory_of_files_and_duplicate_numbers(tmp_path):
    (tmp_path / "a.toml").write_text(LOCATIONS.split("[[location]]")[0].replace('"main"', '"a"'))
    (tmp_path / "practice.toml").write_text(LOCATIONS.split("[[location]]")[0])
    with pytest.raises(PracticeError, match="also reaches"):
        load_directory(tmp_path)
    (tmp_path / "a.toml").write_text(
        LOCATIONS.split("[[location]]")[0]
        .replace('"main"', '"a"')
        .replace("0100", "0300")
        .replace("0111", "0311")
    )
    directory = load_directory(tmp_path)
    assert directory.default.id == "main" and directory.select("+14145550300").id == "a"


def test_bad_location_names_its_index(tmp_path):
    path = tmp_path / "practice.toml"
    path.write_text(LOCATIONS + 'timezone = "Nowhere/Land"\n')
    with pytest.raises(PracticeError, match=r"location\[0\].timezone"):
        load_directory(path)
