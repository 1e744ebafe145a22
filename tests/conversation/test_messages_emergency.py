"""Messages and emergencies through the agent, each ending in the database state it promised."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from receptionist.domain.calls import Outcome
from tests.conversation.book_support import ANN, book_directly, option_ids, tool_results
from tests.support.harness import CLOSED_TIME, example_practice, receptionist_call
from tests.support.scripted_llm import Call, Say, ScriptedLLM


async def test_message_is_stored_with_the_callers_number(book):
    script = ScriptedLLM(
        [
            Call(
                "take_message",
                caller_name="Dan Wu",
                reason="Question about last month's bill",
                urgency="soon",
            ),
            Say("I've passed that on; the team will call you back."),
        ]
    )
    async with book.call(script) as call:
        result = await call.session.run(user_input="Can someone call me about my bill? Dan Wu.")
        [(output, is_error)] = tool_results(result, "take_message")
        assert not is_error and "7103" in output and "4144007103" not in output
        [message] = await book.store.records.open_messages("lakeside")
    assert (message.caller_name, message.callback_number) == ("Dan Wu", "+14144007103")
    assert message.urgency == "soon" and message.call_id == "SCL_test123"
    assert call.state.outcomes == [Outcome.MESSAGE]


async def test_message_with_a_spoken_callback_number_and_a_bad_one(book):
    script = ScriptedLLM(
        [
            Call("take_message", caller_name="Dan Wu", reason="Call back", callback_number="12"),
            Call(
                "take_message",
                caller_name="Dan Wu",
                reason="Call back please",
                callback_number="(414) 555-0123",
            ),
            Say("Saved."),
        ]
    )
    async with book.call(script) as call:
        result = await call.session.run(user_input="Take a message, call me at 414 555 0123.")
        [(first, bad), (_, good)] = tool_results(result, "take_message")
        assert bad and "area code" in first and not good
        [message] = await book.store.records.open_messages()
    assert message.callback_number == "+14145550123"


async def test_message_is_kept_in_the_outbox_when_the_database_is_down(book, tmp_path):
    from receptionist.store import Outbox, Store

    down = Store(
        f"sqlite+aiosqlite:///{tmp_path}/missing/dir/book.db", outbox=Outbox(tmp_path / "ob")
    )
    script = ScriptedLLM(
        [Call("take_message", caller_name="Dan Wu", reason="Please call me"), Say("ok")]
    )
    async with receptionist_call(script, store=down) as call:
        result = await call.session.run(user_input="Leave a message please.")
        [(output, is_error)] = tool_results(result, "take_message")
    await down.close()
    assert not is_error and "Message saved" in output
    [pending] = Outbox(tmp_path / "ob").pending()
    assert pending.kind == "message" and pending.values["reason"] == "Please call me"
    book.store.outbox = Outbox(tmp_path / "ob")
    assert await book.store.flush_outbox() == 1
    [message] = await book.store.records.open_messages()
    assert message.id == pending.values["id"]


async def test_life_threatening_emergency_sends_the_caller_to_911_only(book):
    script = ScriptedLLM(
        [
            Call(
                "report_emergency",
                kind="life_threatening",
                summary="face swelling, hard to breathe",
            ),
            Say("Please hang up and call 911 right now."),
        ]
    )
    async with book.call(script) as call:
        result = await call.session.run(user_input="My face is swelling and I can't breathe well.")
        [(output, _)] = tool_results(result, "report_emergency")
        assert "call 911" in output
        assert await book.store.count("appointment") == 0
    assert call.api.transfers == []
    assert call.state.outcome == Outcome.EMERGENCY


async def test_urgent_dental_in_hours_goes_to_staff_and_leaves_a_note(book):
    script = ScriptedLLM(
        [
            Call("report_emergency", kind="urgent_dental", summary="knocked out a front tooth"),
            Call("transfer_to_staff", reason="knocked-out tooth"),
        ]
    )
    async with book.call(script) as call:
        result = await call.session.run(user_input="My son just knocked out his front tooth!")
        [(output, _)] = tool_results(result, "report_emergency")
        assert "transfer_to_staff" in output and "milk" in output
        [note] = await book.store.records.open_messages()
    assert note.urgency == "urgent" and note.reason.startswith("URGENT:")
    assert [t.transfer_to for t in call.api.transfers] == ["tel:+14145550101"]
    assert call.state.outcome == Outcome.EMERGENCY


async def test_urgent_dental_when_nobody_answers_books_the_soonest_urgent_visit(book):
    practice = example_practice().model_copy(
        update={"transfers": example_practice().transfers.model_copy(update={"after_hours": ""})}
    )
    script = ScriptedLLM(
        [
            Call("report_emergency", kind="urgent_dental", summary="severe toothache all night"),
            Say("The soonest urgent visit is Monday at 8. Shall I book it?"),
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx, "report_emergency")[0]),
            Say("Booked."),
        ]
    )
    async with book.call(script, practice=practice, at=CLOSED_TIME) as call:
        result = await call.session.run(user_input="I have terrible tooth pain.")
        [(output, _)] = tool_results(result, "report_emergency")
        assert "Nobody can take a call now" in output and "opt-" in output
        await call.session.run(user_input="Yes please. Ann Lee, February 29 1980.")
        [(appointment, _)] = await book.store.appointments.appointments_between(
            "lakeside", CLOSED_TIME, CLOSED_TIME.replace(month=12, day=20)
        )
    assert appointment.visit_type == "emergency"
    assert call.api.transfers == []
    assert call.state.outcomes[:2] == [Outcome.EMERGENCY, Outcome.MESSAGE]
    assert Outcome.BOOKED in call.state.outcomes


def _nobody_after_hours():
    return example_practice().model_copy(
        update={"transfers": example_practice().transfers.model_copy(update={"after_hours": ""})}
    )


async def test_urgent_dental_from_an_unknown_number_asks_for_one_and_takes_a_message(book):
    # A withheld number: no note with "unknown" as the callback, and no promise of a callback the
    # team cannot make. The model asks for a number and leaves the urgent message itself.
    script = ScriptedLLM(
        [
            Call("report_emergency", kind="urgent_dental", summary="broken tooth, severe pain"),
            Say("What's the best number for the team to call you back on?"),
            Call(
                "take_message",
                caller_name="Dan Wu",
                reason="URGENT: broken tooth, severe pain",
                callback_number="414 555 0123",
                urgency="urgent",
            ),
            Say("The team will call you back."),
        ]
    )
    withheld = {"sip.callID": "SCL_anon", "sip.phoneNumber": "anonymous"}
    async with book.call(
        script, practice=_nobody_after_hours(), at=CLOSED_TIME, attributes=withheld
    ) as call:
        result = await call.session.run(user_input="I broke a tooth and it really hurts.")
        [(output, is_error)] = tool_results(result, "report_emergency")
        assert not is_error and "take_message" in output and "callback number" in output
        assert "has an urgent note" not in output
        assert (
            await book.store.records.open_messages() == []
        )  # nothing with an "unknown" callback number
        await call.session.run(user_input="It's 414 555 0123, Dan Wu.")
        [message] = await book.store.records.open_messages()
    assert message.callback_number == "+14145550123" and message.urgency == "urgent"


async def test_an_urgent_note_that_could_not_be_saved_is_not_promised(book, caplog):
    script = ScriptedLLM(
        [
            Call("report_emergency", kind="urgent_dental", summary="severe toothache all night"),
            Say("Let me take a message for the team."),
        ]
    )
    async with book.call(script, practice=_nobody_after_hours(), at=CLOSED_TIME) as call:

        async def broken(**values):
            raise RuntimeError(f"disk full while writing {values['callback_number']}")

        book.store.records.add_message = broken
        result = await call.session.run(user_input="I have terrible tooth pain.")
        [(output, is_error)] = tool_results(result, "report_emergency")
    assert not is_error and "has an urgent note" not in output and "take_message" in output
    failures = [r for r in caplog.records if "urgent note" in r.getMessage()]
    assert failures and all("4144007103" not in r.getMessage() for r in failures)
    assert all(r.exc_info is None for r in failures)  # no traceback text (it can carry values)


async def test_the_soonest_urgent_visits_offered_to_a_known_caller_never_clash_with_her_own(book):
    # Ann has a cleaning Monday 8:00-9:00 with the hygienist; the dentists are free then. Once she
    # is verified, the urgent times offered to her leave that hour out (she cannot be in two
    # chairs), as every other search for a known patient does.
    monday_8am = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    await book_directly(book.store, ANN, monday_8am, visit_type="cleaning")
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="Ann Lee", date_of_birth="1980-02-29"),
            Say("Thanks, Ann. How can I help?"),
            Call("report_emergency", kind="urgent_dental", summary="severe toothache all night"),
            Say("The soonest urgent visit is Monday at 9. Shall I book it?"),
        ]
    )
    async with book.call(script, practice=_nobody_after_hours(), at=CLOSED_TIME) as call:
        await call.session.run(user_input="Ann Lee, February 29 1980.")
        result = await call.session.run(user_input="I have terrible tooth pain.")
        [(output, is_error)] = tool_results(result, "report_emergency")
        starts = [call.state.offers.get(o).start for o in re.findall(r"opt-[0-9a-f]{6}", output)]
    assert not is_error and starts
    assert all(not monday_8am <= s < monday_8am + timedelta(hours=1) for s in starts)
    assert min(starts) == monday_8am + timedelta(hours=1)
