"""Moving and cancelling through the agent, each ending in the database state it promised."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from receptionist.call.records import finish_call
from receptionist.domain.calls import Outcome
from receptionist.store.models import AppointmentStatus
from tests.conversation.book_support import (
    ANN,
    BOB,
    active_appointments,
    book_directly,
    option_ids,
    tool_results,
)
from tests.support.scripted_llm import Call, Say, ScriptedLLM

# Thursday 26 Nov is Thanksgiving (closed); Ann's visit is Monday 30 Nov 9:00 Chicago.
ANN_VISIT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


async def test_reschedule_moves_the_callers_own_appointment(book):
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("list_appointments"),
            Say("I see your cleaning on Monday the 30th at 9. When would you like instead?"),
            Call(
                "find_open_times",
                visit_type="checkup",
                date_from="2026-12-01",
                part_of_day="afternoon",
            ),
            Say("I have Tuesday the first at 1, ..."),
            lambda ctx: Call(
                "reschedule_appointment", appointment_ref="appt-1", option_id=option_ids(ctx)[0]
            ),
            Say("Done."),
        ]
    )
    async with book.call(script) as call:
        old = await book_directly(book.store, ANN, ANN_VISIT)
        result = await call.session.run(
            user_input="Ann Lee, Feb 29 1980, I need to move my cleaning."
        )
        [(listing, _)] = tool_results(result, "list_appointments")
        assert "appt-1" in listing and old.id not in listing  # database ids never reach the model
        await call.session.run(user_input="An afternoon in December.")
        result = await call.session.run(user_input="The first one.")
        [(output, is_error)] = tool_results(result, "reschedule_appointment")
        assert not is_error and "Moved from" in output
        [new] = await active_appointments(book.store, ANN)
        previous = await book.store.appointments.get_appointment(old.id)
    assert (
        previous.status == AppointmentStatus.RESCHEDULED and new.status == AppointmentStatus.BOOKED
    )
    assert new.replaces_id == old.id and new.starts_at > ANN_VISIT
    assert new.starts_at.astimezone(call.state.practice.tz).hour >= 12
    assert call.state.outcomes == [Outcome.RESCHEDULED]


async def test_cancel_states_the_policy_then_cancels_on_confirmation(book):
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("list_appointments"),
            Call("cancel_appointment", appointment_ref="appt-1"),
            Say("Our policy asks for 24 hours notice... Do you still want to cancel?"),
            Call("cancel_appointment", appointment_ref="appt-1", caller_confirmed=True),
            Say("It's cancelled."),
        ]
    )
    async with book.call(script) as call:
        old = await book_directly(book.store, ANN, ANN_VISIT)
        result = await call.session.run(user_input="Ann Lee, 1980-02-29. Cancel my appointment.")
        [(policy, _)] = tool_results(result, "cancel_appointment")
        assert "24 hours" in policy and "caller_confirmed" in policy
        # not before confirmation
        assert (
            await book.store.appointments.get_appointment(old.id)
        ).status == AppointmentStatus.BOOKED
        result = await call.session.run(user_input="Yes, cancel it.")
        [(done, is_error)] = tool_results(result, "cancel_appointment")
        assert not is_error and "Cancelled" in done
        assert (
            await book.store.appointments.get_appointment(old.id)
        ).status == AppointmentStatus.CANCELLED
        assert await active_appointments(book.store, ANN) == []
    assert call.state.outcomes == [Outcome.CANCELLED]


async def test_a_call_that_cancels_a_visit_another_call_booked_names_her_in_its_record(book):
    # The visit carries the other call's id, the call that cancelled it booked nothing and took
    # no message: only its record links it to Ann, so a look at it is in her audit.
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("list_appointments"),
            Call("cancel_appointment", appointment_ref="appt-1"),
            Say("Our policy asks for 24 hours notice... Do you still want to cancel?"),
            Call("cancel_appointment", appointment_ref="appt-1", caller_confirmed=True),
            Say("It's cancelled."),
        ]
    )
    async with book.call(script) as call:
        old = await book_directly(book.store, ANN, ANN_VISIT, call_id="SCL_earlier")
        await call.session.run(user_input="Ann Lee, 1980-02-29. Cancel my appointment.")
        await call.session.run(user_input="Yes, cancel it.")
        assert (
            await book.store.appointments.get_appointment(old.id)
        ).status == AppointmentStatus.CANCELLED
        await finish_call(call.state, None)  # the record, as the lifecycle writes it at the end
        [record] = await book.store.records.recent_calls()
        assert record.patient_ids == [old.patient_id]
        assert await book.store.staff.call_patient_ids(record) == [old.patient_id]


async def test_late_cancellation_is_flagged_as_short_notice(book):
    soon = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # tomorrow 9:00, under 24 h away
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("list_appointments"),
            Call("cancel_appointment", appointment_ref="appt-1"),
            Say("That's short notice..."),
        ]
    )
    async with book.call(script) as call:
        old = await book_directly(book.store, ANN, soon)
        result = await call.session.run(user_input="Ann Lee, 1980-02-29, cancel tomorrow's visit.")
        [(policy, _)] = tool_results(result, "cancel_appointment")
        assert policy.startswith("This is short notice")
        assert (
            await book.store.appointments.get_appointment(old.id)
        ).status == AppointmentStatus.BOOKED


async def test_refs_are_never_reused_after_a_move(book):
    # Two visits listed as appt-1 and appt-2; appt-1 is moved; the new listing must not hand the
    # moved visit the ref appt-2 (still meaning the second visit), or a cancel of "appt-2" would
    # hit the wrong appointment.
    second_visit = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("list_appointments"),
            Call("find_open_times", visit_type="checkup", date_from="2026-12-02"),
            Say("I can move the first one to ..."),
            lambda ctx: Call(
                "reschedule_appointment", appointment_ref="appt-1", option_id=option_ids(ctx)[0]
            ),
            Call("list_appointments"),
            Say("You now have ..."),
            Call("cancel_appointment", appointment_ref="appt-2"),
            Say("Our policy is ... Still cancel?"),
            Call("cancel_appointment", appointment_ref="appt-2", caller_confirmed=True),
            Say("Cancelled."),
        ]
    )
    async with book.call(script) as call:
        first = await book_directly(book.store, ANN, ANN_VISIT)
        second = await book_directly(book.store, ANN, second_visit)
        await call.session.run(user_input="Ann Lee, 1980-02-29. Move my first visit.")
        result = await call.session.run(user_input="Yes, the first time. What do I have now?")
        [(moved, _)] = tool_results(result, "reschedule_appointment")
        assert "Moved from" in moved
        [(listing, _)] = tool_results(result, "list_appointments")
        refs = dict(line.split(": ", 1) for line in listing.splitlines()[1:])
        assert len(refs) == 2 and "appt-1" not in refs
        assert "December 8" in refs["appt-2"]  # appt-2 still means the second visit
        [moved_ref] = set(refs) - {"appt-2"}
        assert moved_ref == "appt-3"
        await call.session.run(user_input="Cancel the December 8 one.")
        await call.session.run(user_input="Yes.")
        [moved_visit] = [a for a in await active_appointments(book.store, ANN) if a.id != second.id]
    assert (
        await book.store.appointments.get_appointment(second.id)
    ).status == AppointmentStatus.CANCELLED
    assert moved_visit.replaces_id == first.id and moved_visit.status == AppointmentStatus.BOOKED


async def test_a_confirmed_cancel_without_the_policy_is_refused(book):
    # The model skips the policy (straight to caller_confirmed), then tells it and confirms in
    # the same reply, before the caller could answer: both refused. Only after the caller has
    # heard the policy and answered does the cancel go through.
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Call("list_appointments"),
            Call("cancel_appointment", appointment_ref="appt-1", caller_confirmed=True),
            Call("cancel_appointment", appointment_ref="appt-1"),
            Say("Before I cancel: our policy asks for 24 hours notice. Still cancel?"),
            [
                Call("cancel_appointment", appointment_ref="appt-1"),
                Call("cancel_appointment", appointment_ref="appt-1", caller_confirmed=True),
            ],
            Say("Cancelled."),
        ]
    )
    async with book.call(script) as call:
        old = await book_directly(book.store, ANN, ANN_VISIT)
        result = await call.session.run(user_input="Ann Lee, 1980-02-29. Cancel it, no questions.")
        [(skipped, skipped_error), (policy, policy_error)] = tool_results(
            result, "cancel_appointment"
        )
        assert skipped_error and "policy" in skipped and "caller_confirmed" in skipped
        assert not policy_error and "24 hours" in policy
        assert (
            await book.store.appointments.get_appointment(old.id)
        ).status == AppointmentStatus.BOOKED
        result = await call.session.run(user_input="Yes, cancel it.")
        outputs = tool_results(result, "cancel_appointment")
        assert any(not err and "Cancelled" in out for out, err in outputs)
        assert (
            await book.store.appointments.get_appointment(old.id)
        ).status == AppointmentStatus.CANCELLED
    assert call.state.outcomes == [Outcome.CANCELLED]


async def test_moving_a_visit_offers_times_its_own_time_would_block(book):
    # Bob's filling is Monday 30 November 9:00-9:45 with Dr. Okafor. Moving it, the search names
    # the visit (appointment_ref), so 9:00 with Dr. Lindqvist is offered: the visit being moved
    # does not count against Bob. His other visits still would.
    filling_at = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 9:00 in Chicago
    search = {
        "visit_type": "filling",
        "date_from": "2026-11-30",
        "date_to": "2026-11-30",
        "provider_id": "dr-lindqvist",
    }
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Bob Stone", date_of_birth="1975-06-01"),
            Call("list_appointments"),
            Call("find_open_times", **search),
            Call("find_open_times", **search, appointment_ref="appt-1"),
            Say("Dr. Lindqvist has 9:00 the same morning."),
            lambda ctx: Call(
                "reschedule_appointment",
                appointment_ref="appt-1",
                option_id=option_ids(ctx)[1],
            ),
            Say("Done."),
        ]
    )
    async with book.call(script) as call:
        old = await book_directly(
            book.store, BOB, filling_at, provider_id="dr-okafor", visit_type="filling", minutes=45
        )
        result = await call.session.run(user_input="Bob Stone, 1975-06-01: move my filling.")
        [staying, moving] = [
            [call.state.offers.get(i).start for i in re.findall(r"opt-[0-9a-f]{6}", output)]
            for output, _ in tool_results(result, "find_open_times")
        ]
        assert filling_at not in staying and filling_at in moving
        assert moving.index(filling_at) == 1  # the option the script then chooses
        result = await call.session.run(user_input="9 with Dr. Lindqvist, please.")
        [(output, is_error)] = tool_results(result, "reschedule_appointment")
        assert not is_error and "Moved from" in output
        [new] = await active_appointments(book.store, BOB)
    assert (
        await book.store.appointments.get_appointment(old.id)
    ).status == AppointmentStatus.RESCHEDULED
    assert (new.provider_id, new.starts_at) == ("dr-lindqvist", filling_at)
