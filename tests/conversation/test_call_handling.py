"""Whole-call behaviour of the receptionist: greeting, transfers, keypad, hang-up, rescue."""

from __future__ import annotations

import asyncio

from livekit import api
from livekit.agents.voice.run_result import mock_tools

from receptionist.call import transfer
from receptionist.call.lifecycle import SILENT_GOODBYE, STILL_THERE
from receptionist.call.session import Receptionist
from receptionist.domain.calls import Outcome
from tests.support.harness import CLOSED_TIME, receptionist_call, sip_error
from tests.support.scripted_llm import Call, Fail, Say, ScriptedLLM


def assistant_texts(session) -> list[str]:
    return [
        item.text_content
        for item in session.history.items
        if item.type == "message" and item.role == "assistant"
    ]


async def wait_for(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_greets_naming_the_practice_and_saying_it_is_automated():
    async with receptionist_call(ScriptedLLM()) as call:
        await wait_for(lambda: assistant_texts(call.session))
        first = assistant_texts(call.session)[0]
    assert "Lakeside Family Dental" in first
    assert "automated assistant" in first
    assert "closed" not in first


async def test_greeting_outside_hours_says_closed_and_what_it_can_do():
    async with receptionist_call(ScriptedLLM(), at=CLOSED_TIME) as call:
        await wait_for(lambda: assistant_texts(call.session))
        first = assistant_texts(call.session)[0]
    assert "closed right now" in first
    assert "take a message" in first and "emergency" in first


async def test_transfer_tool_sends_refer_to_staff_with_ringing_timeout():
    script = ScriptedLLM([Call("transfer_to_staff", reason="billing question")])
    async with receptionist_call(script) as call:
        result = await call.session.run(user_input="Can I talk to a real person about my bill?")
        result.expect.next_event().is_function_call(name="transfer_to_staff")
        result.expect.next_event().is_message(role="assistant")  # the announcement, before REFER
        result.expect.next_event().is_function_call_output(is_error=False)
    [request] = call.api.transfers
    assert request.transfer_to == "tel:+14145550101"
    assert request.participant_identity == "sip_caller"
    assert request.room_name == "call-test"
    assert request.ringing_timeout.seconds == 30
    assert request.play_dialtone is False
    assert transfer.ANNOUNCE in assistant_texts(call.session)
    assert call.state.outcomes == [Outcome.TRANSFERRED]


async def test_transfer_outside_hours_goes_to_the_after_hours_line():
    script = ScriptedLLM([Call("transfer_to_staff", reason="wants the on-call dentist")])
    async with receptionist_call(script, at=CLOSED_TIME) as call:
        await call.session.run(user_input="Put me through to someone please.")
    [request] = call.api.transfers
    assert request.transfer_to == "tel:+14145550199"


async def test_failed_transfer_leads_to_the_offer_of_a_message():
    script = ScriptedLLM(
        [
            Call("transfer_to_staff", reason="question"),
            Say("I'm sorry, nobody could be reached. Would you like to leave a message?"),
        ]
    )
    async with receptionist_call(script) as call:
        call.api.transfer_error = sip_error(486, "Busy Here")
        result = await call.session.run(user_input="I need to speak to the front desk.")
        result.expect.next_event().is_function_call(name="transfer_to_staff")
        result.expect.next_event().is_message(role="assistant")  # the announcement
        output = result.expect.next_event().is_function_call_output().event().item.output
        result.expect.next_event().is_message(role="assistant")
    assert "offer to take a message" in output
    assert call.state.outcomes == []
    assert len(call.api.transfers) == 1


async def test_transfer_without_destination_offers_a_message_and_sends_nothing():
    script = ScriptedLLM(
        [Call("transfer_to_staff", reason="question"), Say("Can I take a message?")]
    )

    def no_destinations(state):
        state.practice = state.practice.model_copy(
            update={
                "transfers": state.practice.transfers.model_copy(
                    update={"staff": "", "after_hours": ""}
                )
            }
        )

    async with receptionist_call(script, prepare=no_destinations) as call:
        result = await call.session.run(user_input="Let me talk to someone.")
        result.expect.next_event().is_function_call(name="transfer_to_staff")
        output = result.expect.next_event().is_function_call_output().event().item.output
    assert "offer to take a message" in output
    assert call.api.transfers == []
    assert [e["kind"] for e in call.state.events] == ["transfer_failed"]  # staff see why


async def test_ending_the_call_says_goodbye_and_deletes_the_room():
    script = ScriptedLLM([Call("end_call"), Say("Thanks for calling, goodbye!")])
    async with receptionist_call(script) as call:
        result = await call.session.run(user_input="That's all, thank you. Bye!")
        result.expect.contains_function_call(name="end_call")
        await call.ended()
    assert call.api.deleted_rooms == ["call-test"]
    assert "goodbye" in assistant_texts(call.session)[-1].lower()


async def test_keypad_zero_transfers_to_staff_without_the_model():
    script = ScriptedLLM(then=Fail())  # the model is down: the keypad must not need it
    async with receptionist_call(script) as call:
        call.state.keypad.press("0")
        await call.state.keypad.drain()
    assert [r.transfer_to for r in call.api.transfers] == ["tel:+14145550101"]
    assert call.state.outcomes == [Outcome.TRANSFERRED]
    assert script.requests == []


async def test_keypad_zero_when_transfer_fails_offers_a_message():
    async with receptionist_call(ScriptedLLM()) as call:
        call.api.transfer_error = sip_error(603, "Decline")
        call.state.keypad.press("0")
        await call.state.keypad.drain()
        assert transfer.UNAVAILABLE in assistant_texts(call.session)


async def test_keypad_digits_reach_the_model_when_it_asked_for_them():
    script = ScriptedLLM([Call("start_keypad_entry", what="date_of_birth"), Say("Please type it.")])
    script.add(Say("Thank you."))
    async with receptionist_call(script) as call:
        await call.session.run(user_input="I'd rather type my birthday.")
        for digit in "03141985#":
            call.state.keypad.press(digit)
        await call.state.keypad.drain()
        await wait_for(lambda: len(script.requests) == 3)
    typed = [
        m.text_content
        for m in script.requests[-1].items
        if m.type == "message" and m.role == "user"
    ]
    assert typed[-1].endswith("03141985")
    assert call.api.transfers == []  # the 0 inside the date is a digit, not the operator


async def test_silent_caller_is_asked_then_the_call_ends():
    async with receptionist_call(ScriptedLLM(), user_away_timeout=0.2) as call:
        await call.ended(timeout=15)
        said = assistant_texts(call.session)
    assert STILL_THERE in said
    assert SILENT_GOODBYE in said
    assert call.api.deleted_rooms == ["call-test"]


async def test_provider_failure_plays_apology_clip_and_transfers():
    script = ScriptedLLM(then=Fail())
    async with receptionist_call(script) as call:
        await call.keep_talking_until_ended("Hello? I want to book a cleaning.")
    assert call.clips.played == ["trouble-transfer"]
    assert [r.transfer_to for r in call.api.transfers] == ["tel:+14145550101"]
    assert call.state.outcomes == [Outcome.TRANSFERRED]
    assert call.api.deleted_rooms == ["call-test"]


async def test_provider_failure_with_refused_transfer_plays_goodbye_and_hangs_up():
    script = ScriptedLLM(then=Fail())
    async with receptionist_call(script) as call:
        call.api.transfer_error = sip_error(480, "Temporarily Unavailable")
        await call.keep_talking_until_ended("Hello?")
    assert call.clips.played == ["trouble-transfer", "trouble-goodbye"]
    assert call.api.deleted_rooms == ["call-test"]


async def test_transcript_is_kept_only_when_the_practice_enables_it():
    def transcripts_on(state):
        records = state.practice.records.model_copy(update={"transcripts": True})
        state.practice = state.practice.model_copy(update={"records": records})

    script = [Say("We open at eight.")]
    async with receptionist_call(ScriptedLLM(script), prepare=transcripts_on) as call:
        await call.session.run(user_input="When do you open on Monday?")
    kept = {(t["role"], t["text"]) for t in call.state.transcript}
    assert ("user", "When do you open on Monday?") in kept
    assert ("assistant", "We open at eight.") in kept
    assert len(call.state.transcript) == 3  # with the greeting

    async with receptionist_call(ScriptedLLM(script)) as call:
        await call.session.run(user_input="When do you open on Monday?")
    assert call.state.transcript == []


async def test_browser_caller_is_not_transferred_and_gets_the_number_instead():
    script = ScriptedLLM([Call("transfer_to_staff", reason="question"), Say("You can call us.")])
    async with receptionist_call(script, is_sip=False, attributes={}) as call:
        result = await call.session.run(user_input="Can I talk to a person?")
        result.expect.next_event().is_function_call(name="transfer_to_staff")
        output = result.expect.next_event().is_function_call_output().event().item.output
    assert "not on a phone line" in output
    assert call.api.transfers == []
    [failed] = [e for e in call.state.events if e["kind"] == "transfer_failed"]
    assert failed["detail"] == "caller is not on a phone line"
    assert transfer.ANNOUNCE not in assistant_texts(call.session)


async def test_a_crashing_tool_does_not_end_the_call_and_keypad_zero_still_works():
    def broken_transfer(reason: str) -> str:
        raise RuntimeError("bug in the transfer tool")

    script = ScriptedLLM(
        [Call("transfer_to_staff", reason="question"), Say("Sorry, please press zero.")]
    )
    async with receptionist_call(script) as call:
        with mock_tools(Receptionist, {"transfer_to_staff": broken_transfer}):
            result = await call.session.run(user_input="Let me talk to a person.")
        result.expect.next_event().is_function_call(name="transfer_to_staff")
        result.expect.next_event().is_function_call_output(is_error=True)
        result.expect.next_event().is_message(role="assistant")
        call.state.keypad.press("0")
        await call.state.keypad.drain()
    assert [r.transfer_to for r in call.api.transfers] == ["tel:+14145550101"]


async def test_pressing_zero_twice_sends_one_transfer():
    async with receptionist_call(ScriptedLLM()) as call:
        call.state.keypad.press("0")
        call.state.keypad.press("0")
        await call.state.keypad.drain()
    assert len(call.api.transfers) == 1


async def test_transfer_the_server_reports_failed_offers_a_message():
    script = ScriptedLLM([Call("transfer_to_staff", reason="question"), Say("Message?")])
    async with receptionist_call(script) as call:
        call.api.transfer_response = api.TransferSIPParticipantResponse(
            status=api.SIPTransferStatus.STS_TRANSFER_FAILED,
            reason=api.SIPTransferReason.STR_RINGING_TIMEOUT,
        )
        result = await call.session.run(user_input="Put me through please.")
        result.expect.next_event().is_function_call(name="transfer_to_staff")
        result.expect.next_event().is_message(role="assistant")
        output = result.expect.next_event().is_function_call_output().event().item.output
    assert "offer to take a message" in output
    assert call.state.outcomes == []


async def test_keypad_zero_with_a_network_error_still_tells_the_caller():
    async with receptionist_call(ScriptedLLM()) as call:
        call.api.transfer_error = TimeoutError()
        call.state.keypad.press("0")
        await call.state.keypad.drain()
        assert transfer.UNAVAILABLE in assistant_texts(call.session)


async def test_keypad_zero_works_while_the_model_is_failing():
    script = ScriptedLLM(then=Fail())
    async with receptionist_call(script) as call:
        call.session.generate_reply(user_input="Hello?")
        await wait_for(lambda: len(script.requests) == 1)
        call.state.keypad.press("0")
        await call.state.keypad.drain()
    assert [r.transfer_to for r in call.api.transfers] == ["tel:+14145550101"]


async def test_silence_while_a_transfer_rings_does_not_hang_up():
    async with receptionist_call(ScriptedLLM(), user_away_timeout=0.2) as call:
        call.api.transfer_seconds = 1.5  # the staff phone rings longer than the silence timeout
        call.state.keypad.press("0")
        await call.state.keypad.drain()
        assert STILL_THERE not in assistant_texts(call.session)
        assert call.api.deleted_rooms == []
    assert call.state.outcomes == [Outcome.TRANSFERRED]


async def test_a_broken_rescue_still_hangs_up():
    async def broken_player(name: str) -> None:
        raise OSError("audio device gone")

    script = ScriptedLLM(then=Fail())
    async with receptionist_call(script) as call:
        call.clips.play = broken_player
        await call.keep_talking_until_ended("Hello?")
    assert call.api.deleted_rooms == ["call-test"]


async def test_provider_failure_during_a_ringing_transfer_waits_for_it_and_refers_once():
    script = ScriptedLLM(then=Fail())
    async with receptionist_call(script) as call:
        call.api.transfer_seconds = 1.0
        call.state.keypad.press("0")
        await wait_for(lambda: call.api.transfers)  # the REFER is ringing
        await call.keep_talking_until_ended("Hello?")
        assert call.api.deleted_rooms == ["call-test"]
        assert not call.api.deleted_while_ringing
    assert len(call.api.transfers) == 1
    assert call.clips.played == []  # the caller was transferred: no apology needed
    assert call.state.outcomes == [Outcome.TRANSFERRED]


async def test_session_ending_during_a_ringing_transfer_hangs_up_only_after_it():
    async with receptionist_call(ScriptedLLM()) as call:
        call.api.transfer_seconds = 1.0
        call.state.keypad.press("0")
        await wait_for(lambda: call.api.transfers)
        call.session.shutdown()
        await call.ended()
        assert call.api.deleted_rooms == ["call-test"]
        assert not call.api.deleted_while_ringing
