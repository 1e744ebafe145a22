"""What a text says and what a patient's one-word answer means: segments counted as the carriers
bill them, keywords read however they are typed, templates filled with the minimum necessary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from receptionist.domain.texts import TextKind
from receptionist.store.models import Appointment
from receptionist.texts.compose import render, segments
from receptionist.texts.inbound import CONFIRM, HELP, RESCHEDULE, START, STOP, keyword
from tests.support.profiles import practice


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # GSM-7's extension set: two characters each
        ("é" * 160, 1),  # in GSM-7's basic set
        ("ł" * 70, 1),  # outside GSM-7: UCS-2, 70 a segment
        ("ł" * 71, 2),
    ],
)
def test_segments_are_counted_as_carriers_bill_them(body: str, count: int):
    assert segments(body) == count


@pytest.mark.parametrize(
    ("body", "word"),
    [("STOP", "STOP"), (" stop. ", "STOP"), ("Unsubscribe!", "UNSUBSCRIBE"), ("c", "C")],
)
def test_a_one_word_answer_is_a_keyword_however_it_is_typed(body: str, word: str):
    assert keyword(body) == word


def test_a_sentence_is_never_a_keyword_and_the_keyword_sets_do_not_overlap():
    assert keyword("please stop calling") == "" and keyword("") == ""
    sets = [STOP, START, HELP, CONFIRM, RESCHEDULE]
    assert sum(len(s) for s in sets) == len(set().union(*sets))
    assert {"STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"} <= STOP


def _visit() -> Appointment:
    return Appointment(
        id="a1",
        practice_id="lakeside",
        provider_id="dr-a",
        patient_id="p1",
        visit_type="checkup",
        starts_at=datetime(2027, 3, 2, 15, 0, tzinfo=UTC),
        ends_at=datetime(2027, 3, 2, 16, 0, tzinfo=UTC),
    )


def test_templates_name_no_procedure_unless_the_practice_opts_in():
    booked = "{practice}: your {visit} {when} with {provider}."
    plain = practice(texts={"templates": {"booked": booked}})
    assert render(plain, TextKind.BOOKED, _visit()) == (
        "Lakeside Test Dental: your appointment Tue, March 2 at 9 AM with Dr. Able."
    )
    detailed = practice(texts={"details": True, "templates": {"booked": booked}})
    assert "your check-up Tue" in render(detailed, TextKind.BOOKED, _visit())
