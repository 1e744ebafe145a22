"""Booking through the agent: the model chooses, the code decides, the database holds the result."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from receptionist.domain.calls import Outcome
from tests.conversation.book_support import (
    ANN,
    BOB,
    active_appointments,
    book_directly,
    option_ids,
    tool_results,
)
from tests.support.scripted_llm import Call, Say, ScriptedLLM

CHICAGO = ZoneInfo("America/Chicago")


async def test_existing_patient_books_an_offered_time(book):
    chosen = {}

    def book_first(chat_ctx):
        chosen["id"] = option_ids(chat_ctx)[0]
        return Call("book_appointment", option_id=chosen["id"])

    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="ann lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="cleaning", part_of_day="morning"),
            Say("I have Wednesday at 10:15, Friday... Which suits you?"),
            book_first,
            Say("You're booked."),
        ]
    )
    async with book.call(script) as call:
        result = await call.session.run(
            user_input="Hi, it's Ann Lee, born February 29th 1980. I need a cleaning, mornings."
        )
        result.expect.next_event().is_function_call(name="verify_patient")
        result.expect.next_event().is_function_call_output(is_error=False)
        result.expect.next_event().is_function_call(name="find_open_times")
        offered = result.expect.next_event().is_function_call_output(is_error=False)
        assert "never say them" in offered.event().item.output
        on_offer = dict(call.state.offers._slots)
        result = await call.session.run(user_input="The first one please.")
        result.expect.next_event().is_function_call(name="book_appointment")
        result.expect.next_event().is_function_call_output(is_error=False)
        slot = on_offer[chosen["id"]]
        assert call.state.offers.get(chosen["id"]) is None  # booked: no longer on offer
        [appointment] = await active_appointments(book.store, ANN)
        assert call.state.outcomes == [Outcome.BOOKED]
    assert appointment.starts_at == slot.start
    assert appointment.visit_type == "checkup" and appointment.provider_id == "maria-santos"
    assert appointment.call_id == "SCL_test123"
    assert slot.start >= call.state.now() + timedelta(hours=24)  # the cleaning's lead time
    assert slot.start.astimezone(slot.start.tzinfo).hour < 12


async def test_new_patient_registers_and_books_the_new_patient_exam(book):
    script = ScriptedLLM(
        [
            Call("register_patient", full_name="Carla Diaz", date_of_birth="1992-07-14"),
            Call("find_open_times", visit_type="new-patient"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("Booked."),
        ]
    )
    async with book.call(script) as call:
        await call.session.run(user_input="I'm new, Carla Diaz, born July 14 1992, book me in.")
        carla = ("Carla Diaz", date(1992, 7, 14))
        patient = await book.store.appointments.find_patient("lakeside", *carla)
        [appointment] = await active_appointments(book.store, carla)
    assert patient.phone == "+14144007103"  # the caller's number, normalised, as the callback
    assert appointment.visit_type == "new-patient"
    assert call.state.identity.patient.is_new is True


async def test_an_invented_time_is_refused_and_nothing_is_booked(book):
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("book_appointment", option_id="opt-abc123"),
            Say("Let me find real times."),
        ]
    )
    async with book.call(script) as call:
        result = await call.session.run(user_input="Ann Lee, 2/29/1980. Book me Thursday 9am.")
        [(output, is_error)] = tool_results(result, "book_appointment")
        assert is_error and "find_open_times" in output
        assert await active_appointments(book.store, ANN) == []
    assert Outcome.BOOKED not in call.state.outcomes


async def test_booking_without_identity_is_refused(book):
    script = ScriptedLLM(
        [
            Call("find_open_times", visit_type="checkup"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("May I have your name and date of birth?"),
        ]
    )
    async with book.call(script) as call:
        result = await call.session.run(user_input="Book the first cleaning you have.")
        [(output, is_error)] = tool_results(result, "book_appointment")
        assert is_error and "verify_patient" in output
        assert await book.store.count("appointment") == 0


async def test_time_taken_meanwhile_gets_fresh_options_and_books_one(book):
    taken = {}

    def book_first(chat_ctx):
        return Call("book_appointment", option_id=option_ids(chat_ctx)[0])

    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="checkup"),
            Say("Wednesday at ten?"),
            book_first,
            Say("Sorry, that was just taken. How about ...?"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx, "book_appointment")[0]),
            Say("Booked."),
        ]
    )
    async with book.call(script) as call:
        await call.session.run(user_input="Ann Lee, 1980-02-29, a cleaning please.")
        first = min((s for s in call.state.offers._slots.values()), key=lambda s: s.start)
        taken["slot"] = first
        await book_directly(book.store, BOB, first.start)
        result = await call.session.run(user_input="Wednesday works.")
        result.expect.next_event().is_function_call(name="book_appointment")
        error = result.expect.next_event().is_function_call_output(is_error=True)
        assert "just taken" in error.event().item.output
        assert "opt-" in error.event().item.output
        await call.session.run(user_input="OK, the first of those then.")
        [mine] = await active_appointments(book.store, ANN)
    assert mine.starts_at != first.start
    assert Outcome.BOOKED in call.state.outcomes


async def test_patient_registered_on_an_earlier_call_books_the_new_patient_exam(book):
    # "New patient" comes from the database, not from this call: Carla registered yesterday and
    # hung up; today she verifies and books her first exam. Ann (an existing patient) cannot.
    first_call = ScriptedLLM(
        [
            Call("register_patient", full_name="Carla Diaz", date_of_birth="1992-07-14"),
            Say("You're registered. Anything else?"),
        ]
    )
    second_call = ScriptedLLM(
        [
            Call("verify_patient", full_name="Carla Diaz", date_of_birth="1992-07-14"),
            Call("find_open_times", visit_type="new-patient"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("Booked."),
        ]
    )
    ann_call = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="new-patient"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("That visit is for new patients."),
        ]
    )
    carla = ("Carla Diaz", date(1992, 7, 14))
    async with book.call(first_call) as call:
        await call.session.run(user_input="Register me please: Carla Diaz, July 14 1992.")
    assert await active_appointments(book.store, carla) == []
    async with book.call(second_call) as call:
        result = await call.session.run(user_input="Carla Diaz, 7/14/1992, my first exam.")
        [(verified, _)] = tool_results(result, "verify_patient")
        assert "new patient" in verified
        [(booked, is_error)] = tool_results(result, "book_appointment")
        assert not is_error and booked.startswith("Booked")
    [appointment] = await active_appointments(book.store, carla)
    assert appointment.visit_type == "new-patient"
    async with book.call(ann_call) as call:
        result = await call.session.run(user_input="Ann Lee, 2/29/1980, a new patient exam.")
        [(refused, is_error)] = tool_results(result, "book_appointment")
        assert is_error and "only for new patients" in refused
    assert await active_appointments(book.store, ANN) == []


async def test_booking_the_same_option_twice_says_it_is_already_booked(book):
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="checkup"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("Booked."),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("That one is already yours."),
        ]
    )
    async with book.call(script) as call:
        await call.session.run(user_input="Ann Lee, 1980-02-29, the first checkup you have.")
        result = await call.session.run(user_input="Did that go through? Book it.")
        [(output, is_error)] = tool_results(result, "book_appointment")
        assert is_error and "already booked" in output
        assert "just taken" not in output and "opt-" not in output
        assert len(await active_appointments(book.store, ANN)) == 1


async def test_an_offer_that_became_too_soon_is_refused_for_that_reason(book):
    # Offered while there was enough notice; by the time the caller chooses, the visit type's
    # lead time (24 hours for a check-up) no longer allows it. Nobody took it: say so.
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="checkup"),
            Say("Wednesday at 10?"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("That's now too soon; how about ..."),
        ]
    )
    async with book.call(script) as call:
        await call.session.run(user_input="Ann Lee, 1980-02-29, a checkup please.")
        first = min(call.state.offers._slots.values(), key=lambda s: s.start)
        later = first.start - timedelta(hours=2)
        call.state.clock = lambda: later
        result = await call.session.run(user_input="Wednesday works.")
        [(output, is_error)] = tool_results(result, "book_appointment")
        assert is_error and "just taken" not in output and "notice" in output
        assert await active_appointments(book.store, ANN) == []


async def test_a_known_caller_is_never_offered_a_time_that_clashes_with_their_own_visit(book):
    # Bob has a filling with Dr. Okafor on Wednesday 2 December at 8:00. Asked for a cleaning
    # that morning, he must not be offered 8:00 with the hygienist (he would be refused when he
    # chose it): the first time offered is the first one after his filling.
    filling_at = datetime(2026, 12, 2, 8, 0, tzinfo=CHICAGO)
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Bob Stone", date_of_birth="1975-06-01"),
            Call(
                "find_open_times",
                visit_type="checkup",
                date_from="2026-12-02",
                date_to="2026-12-02",
                part_of_day="morning",
            ),
            Say("I have Wednesday at 8:45, ... Which suits you?"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("You're booked."),
        ]
    )
    async with book.call(script) as call:
        filling = await book_directly(
            book.store, BOB, filling_at, provider_id="dr-okafor", visit_type="filling", minutes=45
        )
        await call.session.run(user_input="Bob Stone, June 1st 1975. A cleaning Wednesday morning.")
        offered = sorted(call.state.offers._slots.values(), key=lambda s: s.start)
        result = await call.session.run(user_input="The first one.")
        [(booked, is_error)] = tool_results(result, "book_appointment")
        visits = await active_appointments(book.store, BOB)
    assert offered, "the morning has other times"
    assert not [s for s in offered if s.start < filling.ends_at and filling.starts_at < s.end]
    assert offered[0].start == filling.ends_at  # 8:45, right after the filling
    assert not is_error and booked.startswith("Booked")
    assert sorted((a.visit_type, a.starts_at) for a in visits) == [
        ("checkup", filling.ends_at),
        ("filling", filling_at),
    ]
