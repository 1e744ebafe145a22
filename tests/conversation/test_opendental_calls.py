"""Calls that find, book, move and cancel through a practice on Open Dental, asserting what the
office's Open Dental (the simulator) holds at the end. The practice reaches the simulator only
through what a practice sets: `[practice.book]`'s base URL and the two keys."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from receptionist.domain.calls import Outcome
from tests.conversation.book_support import Book, option_ids, tool_results
from tests.support.opendental import Office, opendental_office
from tests.support.scripted_llm import Call, Say, ScriptedLLM, last_tool_output


@pytest.fixture
async def office(book: Book) -> AsyncIterator[Office]:
    async with opendental_office(book.store) as office:
        yield office


def on(office: Office):
    """A call at the Open Dental location: its book is the one Books.build chose."""
    return {
        "practice": office.practice,
        "prepare": lambda state: setattr(state, "book", office.books.for_practice(state.practice)),
    }


def listed_ref(chat_ctx) -> str:
    return re.findall(r"appt-\d+", last_tool_output(chat_ctx, "list_appointments"))[0]


def anns(office: Office) -> list[dict]:
    pat = office.sim.patient_named("Ann", "Lee")["PatNum"]
    return [a for a in office.sim.appointments.values() if a["PatNum"] == pat]


async def test_find_book_move_and_cancel_end_in_open_dental(book, office):
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
            Call("list_appointments"),  # a moved visit gets a fresh ref, as on the built-in book
            lambda ctx: Call("cancel_appointment", appointment_ref=listed_ref(ctx)),
            Say("Our policy is..."),
            lambda ctx: Call(
                "cancel_appointment", appointment_ref=listed_ref(ctx), caller_confirmed=True
            ),
            Say("Cancelled."),
        ]
    )
    async with book.call(script, **on(office)) as call:
        await call.session.run(user_input="Ann Lee, Feb 29 1980. A cleaning from Wednesday.")
        result = await call.session.run(user_input="The first one.")
        [(_, is_error)] = tool_results(result, "book_appointment")
        assert not is_error
        [booked] = [a for a in anns(office) if a["AptStatus"] == "Scheduled"]
        assert booked["AptDateTime"].startswith("2026-11-25")
        assert "SCL_test123" in booked["Note"]  # which call booked it
        assert booked["Op"] == 3 and booked["ProvHyg"] == 3
        await call.session.run(user_input="Actually, can we move it to December?")
        result = await call.session.run(user_input="The first one.")
        [(moved, is_error)] = tool_results(result, "reschedule_appointment")
        assert not is_error, moved
        [row] = [a for a in anns(office) if a["AptStatus"] == "Scheduled"]
        assert row["AptNum"] == booked["AptNum"] and row["AptDateTime"] >= "2026-12-02"
        await call.session.run(user_input="Hmm, no, just cancel it please.")
        result = await call.session.run(user_input="Yes, I understand, cancel it.")
        [(done, is_error)] = tool_results(result, "cancel_appointment")
        assert not is_error, done
    assert office.sim.appointments[booked["AptNum"]]["AptStatus"] == "UnschedList"
    assert [a["AptStatus"] for a in anns(office)].count("Scheduled") == 0
    assert Outcome.BOOKED in call.state.outcomes
    ann = await book.store.appointments.find_patient(
        "lakeside", "Ann Lee", datetime(1980, 2, 29).date()
    )
    # Nothing went into the receptionist's own book: Open Dental is this location's book.
    assert not await book.store.appointments.upcoming_for_patient(
        ann.id, after=datetime(2000, 1, 1).astimezone()
    )


async def test_the_desk_takes_the_time_first_and_the_caller_hears_fresh_options(book, office):
    taken = {}

    def desk(sim):
        mine = taken["start"]
        sim.add_appointment(6, 3, mine, 60, prov=1, hyg=3, note="booked at the desk")

    def book_first(ctx):
        option = option_ids(ctx)[0]
        slot = office_offers[0]._slots[option]
        taken["start"] = slot.start.astimezone(office.practice.tz).replace(tzinfo=None)
        office.sim.before("POST", "/appointments", desk)
        return Call("book_appointment", option_id=option)

    office_offers: list = []
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="checkup", date_from="2026-11-25"),
            Say("I have Wednesday at 10..."),
            book_first,
            Say("Sorry, that one just went; I have..."),
        ]
    )
    async with book.call(script, **on(office)) as call:
        office_offers.append(call.state.offers)
        await call.session.run(user_input="Ann Lee, Feb 29 1980. A cleaning from Wednesday.")
        result = await call.session.run(user_input="The first one.")
        [(output, is_error)] = tool_results(result, "book_appointment")
        assert is_error and "opt-" in output  # fresh options, not "booked"
        assert Outcome.BOOKED not in call.state.outcomes
    at = taken["start"].strftime("%Y-%m-%d %H:%M:%S")
    holding = [
        a
        for a in office.sim.appointments.values()
        if a["AptDateTime"] == at and a["AptStatus"] == "Scheduled"
    ]
    assert [a["PatNum"] for a in holding] == [6]  # only the desk's: never a double booking


@pytest.mark.parametrize("fault", [{"status": 401}, {"status": 429}, {"status": 503}])
async def test_a_failed_write_is_never_told_as_booked(book, office, fault):
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="checkup", date_from="2026-11-25"),
            Say("I have Wednesday at 10..."),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("I'm sorry, the book is not reachable."),
        ]
    )
    async with book.call(script, **on(office)) as call:
        await call.session.run(user_input="Ann Lee, Feb 29 1980. A cleaning from Wednesday.")
        office.sim.fault("POST", "/appointments", **fault)
        result = await call.session.run(user_input="The first one.")
        [(output, is_error)] = tool_results(result, "book_appointment")
        assert is_error and "not reachable" in output
        assert Outcome.BOOKED not in call.state.outcomes
    assert not [a for a in anns(office) if a["AptStatus"] == "Scheduled"]


async def test_a_lost_answer_is_booked_once(book, office):
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="checkup", date_from="2026-11-25"),
            Say("I have Wednesday at 10..."),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("Booked."),
        ]
    )
    async with book.call(script, **on(office)) as call:
        await call.session.run(user_input="Ann Lee, Feb 29 1980. A cleaning from Wednesday.")
        office.sim.fault("POST", "/appointments", lose_answer=True)
        result = await call.session.run(user_input="The first one.")
        [(output, is_error)] = tool_results(result, "book_appointment")
        assert not is_error and "Booked" in output
    assert len([a for a in anns(office) if a["AptStatus"] == "Scheduled"]) == 1
