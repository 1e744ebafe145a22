"""A call that finds, books, moves and cancels through a practice on NexHealth, asserting what the
PMS behind NexHealth (the simulator) holds at the end. The practice reaches the simulator only
through what a practice sets: `[practice.book]` and the NEXHEALTH_* settings."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from receptionist.domain.calls import Outcome
from tests.conversation.book_support import Book, option_ids, tool_results
from tests.support.nexhealth import Location, nexhealth_location
from tests.support.scripted_llm import Call, Say, ScriptedLLM, last_tool_output


@pytest.fixture
async def location(book: Book) -> AsyncIterator[Location]:
    async with nexhealth_location(book.store) as location:
        yield location


def on(location: Location):
    """A call at the NexHealth location: its book is the one Books.build chose."""
    return {
        "practice": location.practice,
        "prepare": lambda state: setattr(
            state, "book", location.books.for_practice(state.practice)
        ),
    }


def listed_ref(chat_ctx) -> str:
    return re.findall(r"appt-\d+", last_tool_output(chat_ctx, "list_appointments"))[0]


def anns(location: Location) -> list[dict]:
    pat = location.sim.patient_named("Ann", "Lee")["id"]
    return [
        a
        for a in location.sim.appointments.values()
        if a["patient_id"] == pat and a["start_time"] >= "2026-11-24"
    ]


async def test_find_book_move_and_cancel_end_in_the_pms_behind_nexhealth(book, location):
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="checkup", date_from="2026-11-25"),
            Say("I have Wednesday at 10..."),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("Booked."),
            Call("list_appointments"),
            Call(
                "find_open_times",
                visit_type="checkup",
                date_from="2026-12-02",
                appointment_ref="appt-1",
            ),
            Say("Wednesday the 2nd..."),
            lambda ctx: Call(
                "reschedule_appointment", appointment_ref="appt-1", option_id=option_ids(ctx)[0]
            ),
            Say("Moved."),
            Call("list_appointments"),
            lambda ctx: Call("cancel_appointment", appointment_ref=listed_ref(ctx)),
            Say("Our policy is..."),
            lambda ctx: Call(
                "cancel_appointment", appointment_ref=listed_ref(ctx), caller_confirmed=True
            ),
            Say("Cancelled."),
        ]
    )
    async with book.call(script, **on(location)) as call:
        await call.session.run(user_input="Ann Lee, Feb 29 1980. A cleaning from Wednesday.")
        result = await call.session.run(user_input="The first one.")
        [(_, is_error)] = tool_results(result, "book_appointment")
        assert not is_error
        [booked] = [a for a in anns(location) if not a["cancelled"]]
        assert booked["start_time"].startswith("2026-11-25") and booked["foreign_id"]
        assert "SCL_test123" in booked["note"]  # which call booked it
        assert booked["operatory_id"] == 303 and booked["provider_id"] == 203
        await call.session.run(user_input="Actually, can we move it to December?")
        result = await call.session.run(user_input="The first one.")
        [(moved, is_error)] = tool_results(result, "reschedule_appointment")
        assert not is_error, moved
        [new] = [a for a in anns(location) if not a["cancelled"]]
        assert new["start_time"] >= "2026-12-02" and new["foreign_id"]
        assert location.sim.appointments[booked["id"]]["cancelled"] is True
        await call.session.run(user_input="Hmm, no, just cancel it please.")
        result = await call.session.run(user_input="Yes, I understand, cancel it.")
        [(done, is_error)] = tool_results(result, "cancel_appointment")
        assert not is_error, done
    assert all(a["cancelled"] for a in anns(location))
    assert location.sim.appointments[new["id"]]["cancelled"] is True
    assert Outcome.BOOKED in call.state.outcomes
    ann = await book.store.appointments.find_patient(
        "lakeside", "Ann Lee", datetime(1980, 2, 29).date()
    )
    # Nothing went into the receptionist's own book: the PMS is this location's book.
    assert not await book.store.appointments.upcoming_for_patient(
        ann.id, after=datetime(2000, 1, 1).astimezone()
    )


@pytest.mark.parametrize(
    "fault", [{"status": 401}, {"status": 429, "retry_after": "30"}, {"status": 503}]
)
async def test_an_outage_is_the_same_honest_refusal_as_open_dentals(book, location, fault):
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="checkup", date_from="2026-11-25"),
            Say("I have Wednesday at 10..."),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("I'm sorry, the book is not reachable."),
        ]
    )
    async with book.call(script, **on(location)) as call:
        await call.session.run(user_input="Ann Lee, Feb 29 1980. A cleaning from Wednesday.")
        location.sim.fault("POST", "/appointments", times=3, **fault)
        result = await call.session.run(user_input="The first one.")
        [(output, is_error)] = tool_results(result, "book_appointment")
        assert is_error and "not reachable" in output and "message" in output
        assert Outcome.BOOKED not in call.state.outcomes
    assert not [a for a in anns(location) if not a["cancelled"]]
