"""Hostile and unlucky callers through the whole agent: guesses spread over many calls, one
person's verification carried over to another, one caller filling the book, and sloppy or
oversized tool arguments. Each ends in database state: nothing disclosed, nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from receptionist.store.models import SECURITY, AppointmentStatus
from tests.conversation.book_support import (
    ANN,
    active_appointments,
    book_directly,
    option_ids,
    tool_results,
)
from tests.support.harness import CALLER_ATTRIBUTES, example_practice, receptionist_call
from tests.support.scripted_llm import Call, Say, ScriptedLLM

ANN_VISIT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
WRONG_BIRTHDAYS = ["1980-01-01", "1981-02-28", "1979-02-28"]


def _from(number: str) -> dict[str, str]:
    return {**CALLER_ATTRIBUTES, "sip.phoneNumber": number, "sip.callID": f"SCL_{number[-4:]}"}


async def _guessing_call(store, name: str, birthdays: list[str], number: str):
    script = ScriptedLLM(
        [
            *[Call("verify_patient", full_name=name, date_of_birth=b) for b in birthdays],
            Say("I can't find that record."),
        ]
    )
    async with receptionist_call(script, store=store, attributes=_from(number)) as call:
        result = await call.session.run(user_input=f"{name}, born ... let me think.")
    return tool_results(result, "verify_patient"), call.state


async def test_guessing_a_birthday_over_many_calls_locks_the_name_and_tells_the_staff(book):
    await book_directly(book.store, ANN, ANN_VISIT)
    for number in ("+14145550161", "+14145550162"):  # two calls, three guesses each
        await _guessing_call(book.store, "Ann Lee", WRONG_BIRTHDAYS, number)
    # A third call from a new number, now with the right birthday: still locked.
    outputs, state = await _guessing_call(book.store, "Ann Lee", ["1980-02-29"], "+14145550163")
    [(output, _)] = outputs
    assert "locked" in output and "Verified" not in output and "December" not in output
    assert state.identity.patient_id is None
    security = [m for m in await book.store.records.open_messages() if m.kind == SECURITY]
    assert len(security) == 2  # when the lock was reached, and on the refused call
    assert all("ann lee" in m.reason and "0163" not in m.caller_name for m in security)
    assert "***" in security[-1].reason  # the number masked in what staff read


async def test_one_number_guessing_many_names_is_locked_by_number(book):
    number = "+14145550170"
    await book_directly(book.store, ANN, ANN_VISIT)
    for name in ("Zed Alpha", "Zed Beta"):
        await _guessing_call(book.store, name, WRONG_BIRTHDAYS, number)
    outputs, state = await _guessing_call(book.store, "Ann Lee", ["1980-02-29"], number)
    [(output, _)] = outputs
    assert "locked" in output and state.identity.patient_id is None


async def test_a_failed_check_for_another_person_ends_the_earlier_verification(book):
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("list_appointments"),
            Say("I see your visit."),
            Call("verify_patient", full_name="Bob Stone", date_of_birth="1999-09-09"),
            Say("That does not match."),
            Call("list_appointments"),
            Call("cancel_appointment", appointment_ref="appt-1", caller_confirmed=True),
            Say("I can't do that."),
        ]
    )
    async with book.call(script) as call:
        mine = await book_directly(book.store, ANN, ANN_VISIT)
        first = await call.session.run(user_input="Ann Lee, February 29 1980. My visits?")
        [(listing, _)] = tool_results(first, "list_appointments")
        assert "Upcoming for Ann" in listing  # results say whose record they are about
        await call.session.run(user_input="Now for my husband, Bob Stone, 9 September 1999.")
        result = await call.session.run(user_input="What does he have? Cancel appt-1.")
        [(listed, list_error)] = tool_results(result, "list_appointments")
        [(cancelled, cancel_error)] = tool_results(result, "cancel_appointment")
        assert list_error and "December" not in listed
        assert cancel_error and "Cancelled" not in cancelled
        assert (
            await book.store.appointments.get_appointment(mine.id)
        ).status == AppointmentStatus.BOOKED
    assert call.state.identity.patient_id is None


async def test_a_new_patient_books_one_new_patient_exam_not_six(book):
    def book_option(index: int):
        return lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[index])

    script = ScriptedLLM(
        [
            Call("register_patient", full_name="Carla Diaz", date_of_birth="1992-07-14"),
            Call("find_open_times", visit_type="new-patient"),
            book_option(0),
            Say("Booked."),
            Call("find_open_times", visit_type="new-patient", date_from="2026-12-10"),
            book_option(0),
            Say("Sorry."),
        ]
    )
    async with book.call(script) as call:
        await call.session.run(user_input="I'm new, Carla Diaz, July 14 1992, book me in.")
        result = await call.session.run(user_input="And book another exam the week after.")
        [(output, is_error)] = tool_results(result, "book_appointment")
        assert is_error and "already has a new patient exam booked" in output.lower()
        booked = await active_appointments(book.store, ("Carla Diaz", datetime(1992, 7, 14).date()))
    assert [a.visit_type for a in booked] == ["new-patient"]


async def test_one_call_books_at_most_the_practices_cap(book):
    practice = example_practice()
    capped = practice.model_copy(
        update={"booking": practice.booking.model_copy(update={"max_per_call": 1})}
    )

    def book_first(ctx):
        return Call("book_appointment", option_id=option_ids(ctx)[0])

    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="checkup"),
            book_first,
            Say("Booked."),
            Call("find_open_times", visit_type="checkup", date_from="2027-01-10"),
            book_first,
            Say("Sorry."),
        ]
    )
    async with book.call(script, practice=capped) as call:
        await call.session.run(user_input="Ann Lee, February 29 1980: a cleaning please.")
        result = await call.session.run(user_input="And another one in January.")
        [(output, is_error)] = tool_results(result, "book_appointment")
        assert is_error and "the most one call can book" in output
        booked = await active_appointments(book.store, ANN)
    assert len(booked) == 1


async def test_an_option_id_with_spaces_is_the_same_option(book):
    def book_padded(pad: str):
        return lambda ctx: Call("book_appointment", option_id=f"{pad}{option_ids(ctx)[0]}{pad}")

    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="checkup"),
            book_padded("  "),
            Say("Booked."),
            book_padded(""),
            Say("Already booked."),
        ]
    )
    async with book.call(script) as call:
        await call.session.run(user_input="Ann Lee, February 29 1980: a cleaning please.")
        result = await call.session.run(user_input="Did that go through? Book it.")
        [(output, is_error)] = tool_results(result, "book_appointment")
        assert is_error and "already booked in this call" in output
        booked = await active_appointments(book.store, ANN)
    assert len(booked) == 1  # no second visit offered as "just taken"


async def test_absurd_dates_and_huge_ids_get_a_short_clear_error(book):
    huge = "x" * 200_000
    script = ScriptedLLM(
        [
            Call("find_open_times", visit_type="checkup", date_from="9999-12-31"),
            Call("find_open_times", visit_type="checkup", provider_id=huge),
            Call("find_open_times", visit_type=huge),
            Say("Let me look again."),
        ]
    )
    async with book.call(script) as call:
        result = await call.session.run(user_input="Something in the year 9999, with Dr X.")
        outputs = tool_results(result, "find_open_times")
    assert len(outputs) == 3 and all(is_error for _, is_error in outputs)
    assert "days ahead" in outputs[0][0]
    assert all(len(output) < 1000 for output, _ in outputs)


async def test_a_sip_call_id_longer_than_the_column_still_books(book):
    attributes = {**CALLER_ATTRIBUTES, "sip.callID": "SCL_" + "9" * 300}

    def book_first(ctx):
        return Call("book_appointment", option_id=option_ids(ctx)[0])

    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="checkup"),
            book_first,
            Say("Booked."),
        ]
    )
    async with book.call(script, attributes=attributes) as call:
        await call.session.run(user_input="Ann Lee, February 29 1980: a cleaning please.")
        [appointment] = await active_appointments(book.store, ANN)
    assert appointment.call_id.startswith("SCL_999") and len(appointment.call_id) <= 64
    assert appointment.starts_at > datetime(2026, 11, 24, tzinfo=UTC) - timedelta(days=1)
