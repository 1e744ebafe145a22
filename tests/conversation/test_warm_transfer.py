"""Warm transfers in the real agent and session, with a scripted staff member standing in for the
room (tests/support/warm.py): the caller holds, the staff member is dialled and briefed from the
call's state, and yes/1 connects, no/2 declines; every other ending gives the caller back to the
assistant with the offer of a message (or, for warm_then_cold, a cold transfer).

The LiveKit mechanics (permissions, UpdateSubscriptions, RTP at both phones) are covered by
tests/e2e/test_warm_transfer_calls.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from receptionist.call import briefing, transfer, warm
from receptionist.call.legs import dialled_number
from receptionist.call.state import CallState
from receptionist.domain.calls import Outcome
from receptionist.domain.identity import VerifiedPatient
from receptionist.domain.lines import Line
from receptionist.domain.practice import Practice, TransferMode
from tests.support.harness import example_practice, receptionist_call, sip_error
from tests.support.scripted_llm import Call, Fail, Say, ScriptedLLM
from tests.support.warm import CALLER, TRUNK, FakeLegs, Staff

STAFF_LINE = "tel:+14145550101"


def assistant_texts(session) -> list[str]:
    return [
        item.text_content
        for item in session.history.items
        if item.type == "message" and item.role == "assistant"
    ]


def warm_practice(mode: TransferMode = TransferMode.WARM, **transfers) -> Practice:
    practice = example_practice()
    changes = {"mode": mode, **transfers}
    return practice.model_copy(update={"transfers": practice.transfers.model_copy(update=changes)})


def with_legs(legs: FakeLegs):
    def prepare(state: CallState) -> None:
        state.control.legs = legs

    return prepare


class Said:
    """Everything the session was asked to say, including lines kept out of the chat (the
    staff's briefing)."""

    def __init__(self, session) -> None:
        self.lines: list[str] = []
        original = session.say

        def say(text, **kw):
            self.lines.append(text)
            return original(text, **kw)

        session.say = say


async def until(predicate, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_staff_presses_1_caller_is_connected_and_the_agent_leaves():
    legs = FakeLegs(Staff(presses=["1"]))
    script = ScriptedLLM([Call("transfer_to_staff", reason="a billing question")])
    async with receptionist_call(script, practice=warm_practice(), prepare=with_legs(legs)) as call:
        said = Said(call.session)
        result = await call.session.run(user_input="Can I talk to someone about my bill?")
        result.expect.contains_function_call(name="transfer_to_staff")
        staff = legs.dialled[0].identity
        # Held, dialled, briefed, joined; nobody hears the agent; the hold stops.
        assert legs.kinds()[:6] == [
            "hold ready",  # the hold track is published while the hold line plays
            "hold",
            "agent heard by",
            "dial",
            "agent heard by",
            "join",
        ]
        assert legs.done[2] == ("agent heard by", False, staff)  # hold for caller, agent for staff
        assert legs.done[4] == ("agent heard by", False, None)  # nobody, once connected
        assert ("hold stopped",) in legs.done
        assert call.state.outcomes == [Outcome.TRANSFERRED]
        assert call.api.transfers == []  # no REFER: the caller stays on their own line
        # The session ends; the call goes on until a phone hangs up, then the room is deleted.
        await until(lambda: call.session._closing_task is not None)
        assert call.api.deleted_rooms == [] and not call.finished
        legs.hang_up(staff)
        await call.ended()
    assert call.api.deleted_rooms[:1] == ["call-test"]
    assert warm.HOLD_LINE in said.lines
    [brief] = [line for line in legs.told if line.startswith("Hello, this is the assistant")]
    assert "a billing question" in brief and "not identified" in brief
    assert brief not in assistant_texts(call.session)  # the briefing is not the caller's chat
    steps = [e["detail"] for e in call.state.events if e["kind"] == "warm_transfer"]
    assert steps[:4] == ["dialling the team", "staff answered", "staff briefed", "staff agreed"]
    assert steps[4].startswith("connected after") and steps[5].startswith("staff hung up after")
    assert call.state.transfer_destination == STAFF_LINE


async def test_the_staff_leg_is_dialled_over_the_trunk_with_the_practice_as_caller_id():
    legs = FakeLegs(Staff(presses=["1"]))
    script = ScriptedLLM([Call("transfer_to_staff", reason="question")])
    async with receptionist_call(script, practice=warm_practice(), prepare=with_legs(legs)) as call:
        await call.session.run(user_input="A person please.")
        legs.hang_up(CALLER)
        await call.ended()
    [dialled] = legs.dialled
    assert dialled.trunk_id == TRUNK and dialled.number == "+14145550101"
    assert dialled.caller_id == "+14145550100"
    assert dialled.identity.startswith("staff-") and "555" not in dialled.identity
    # Rings no longer than the transfer timeout, nor past the hold limit less the briefing.
    assert dialled.ringing_seconds == 30
    assert legs.done[:2] == [("hold ready",), ("hold", "")]  # "": LiveKit's hold music


async def test_keypad_0_in_warm_mode_holds_and_the_staff_says_yes():
    legs = FakeLegs(Staff(says=["Yes, put them through."]))
    script = ScriptedLLM(then=Fail())  # the keypad needs no model
    async with receptionist_call(script, practice=warm_practice(), prepare=with_legs(legs)) as call:
        call.state.keypad.press("0")
        await until(lambda: ("join", legs.dialled[0].identity) in legs.done if legs.dialled else 0)
        legs.hang_up(CALLER)
        await call.ended()
    assert call.state.outcomes == [Outcome.TRANSFERRED]
    [brief] = [line for line in legs.told if line.startswith("Hello")]
    assert briefing.KEYPAD_REASON in brief
    steps = [e["detail"] for e in call.state.events if e["kind"] == "warm_transfer"]
    assert steps[-1].startswith("caller hung up after")


async def test_staff_presses_2_the_caller_is_told_and_offered_a_message():
    legs = FakeLegs(Staff(presses=["2"]))
    script = ScriptedLLM(
        [Call("transfer_to_staff", reason="question"), Say("Of course, what's the message?")]
    )
    async with receptionist_call(script, practice=warm_practice(), prepare=with_legs(legs)) as call:
        result = await call.session.run(user_input="Can I talk to a person?")
        result.expect.contains_function_call(name="transfer_to_staff")
        staff = legs.dialled[0].identity
        assert legs.kinds()[-4:] == ["remove", "agent heard by", "hold stopped", "closed"]
        assert legs.done[-3] == ("agent heard by", True, None)  # everyone hears the agent again
        assert warm.DECLINED in assistant_texts(call.session)
        assert legs.told[-1] == warm.STAFF_THANKS and legs.quieted
        assert ("remove", staff) in legs.done and "join" not in legs.kinds()
        assert not call.state.control.transfer_lock.locked()
        # The call goes on with the assistant: the caller leaves a message.
        later = await call.session.run(user_input="Yes, please tell them I called.")
        later.expect.contains_message(role="assistant")
    assert Outcome.TRANSFERRED not in call.state.outcomes
    steps = [e["detail"] for e in call.state.events if e["kind"] == "warm_transfer"]
    assert steps[-1] == "declined by staff"
    assert ("transfer_failed", "warm: declined by staff") in [
        (e["kind"], e["detail"]) for e in call.state.events
    ]


async def test_an_unclear_answer_is_asked_again():
    legs = FakeLegs(Staff(says=["Who is it?", "Okay, yes."]))
    script = ScriptedLLM([Call("transfer_to_staff", reason="question")])
    async with receptionist_call(script, practice=warm_practice(), prepare=with_legs(legs)) as call:
        await call.session.run(user_input="A person please.")
        legs.hang_up(CALLER)
        await call.ended()
    assert briefing.ASK_AGAIN in legs.told
    assert call.state.outcomes == [Outcome.TRANSFERRED]


@pytest.mark.parametrize(
    ("line", "status", "ending"),
    [
        (Line.NO_ANSWER, 480, "no answer"),
        (Line.BUSY, 486, "busy"),
        (Line.FAILED, 503, "call to staff failed"),
    ],
)
async def test_an_unreached_staff_line_gives_the_caller_back_with_a_message_offer(
    line, status, ending
):
    legs = FakeLegs(Staff(line=line, sip_status=status))
    script = ScriptedLLM([Call("transfer_to_staff", reason="question")])
    async with receptionist_call(script, practice=warm_practice(), prepare=with_legs(legs)) as call:
        result = await call.session.run(user_input="A person please.")
        result.expect.contains_function_call(name="transfer_to_staff")
        assert warm.UNREACHED in assistant_texts(call.session)
    assert call.api.transfers == []  # warm: no cold REFER after all
    assert "join" not in legs.kinds() and ("hold stopped",) in legs.done
    steps = [e["detail"] for e in call.state.events if e["kind"] == "warm_transfer"]
    assert steps[-1] == ending


async def test_warm_then_cold_hands_an_unanswered_caller_over_cold():
    legs = FakeLegs(Staff(line=Line.NO_ANSWER, sip_status=None))
    practice = warm_practice(TransferMode.WARM_THEN_COLD)
    script = ScriptedLLM([Call("transfer_to_staff", reason="question")])
    async with receptionist_call(script, practice=practice, prepare=with_legs(legs)) as call:
        await call.session.run(user_input="A person please.")
    [refer] = call.api.transfers
    assert refer.transfer_to == STAFF_LINE
    assert transfer.ANNOUNCE in assistant_texts(call.session)
    assert call.state.outcomes == [Outcome.TRANSFERRED]


async def test_warm_then_cold_still_offers_a_message_when_the_staff_declines():
    legs = FakeLegs(Staff(presses=["2"]))
    practice = warm_practice(TransferMode.WARM_THEN_COLD)
    script = ScriptedLLM([Call("transfer_to_staff", reason="question")])
    async with receptionist_call(script, practice=practice, prepare=with_legs(legs)) as call:
        await call.session.run(user_input="A person please.")
        assert warm.DECLINED in assistant_texts(call.session)
    assert call.api.transfers == []


async def test_warm_then_cold_with_a_refused_refer_says_nobody_could_be_reached():
    legs = FakeLegs(Staff(line=Line.BUSY, sip_status=486))
    practice = warm_practice(TransferMode.WARM_THEN_COLD)
    async with receptionist_call(ScriptedLLM(), practice=practice, prepare=with_legs(legs)) as call:
        call.api.transfer_error = sip_error(486, "Busy Here")
        call.state.keypad.press("0")
        await call.state.keypad.drain()
        texts = assistant_texts(call.session)
    assert texts.count(warm.UNREACHED) == 1 and transfer.UNAVAILABLE not in texts


async def test_no_outbound_trunk_falls_back_to_a_cold_transfer():
    legs = FakeLegs(trunk=None)
    script = ScriptedLLM([Call("transfer_to_staff", reason="question")])
    async with receptionist_call(script, practice=warm_practice(), prepare=with_legs(legs)) as call:
        await call.session.run(user_input="A person please.")
    assert [r.transfer_to for r in call.api.transfers] == [STAFF_LINE]
    assert legs.dialled == [] and "hold" not in legs.kinds()
    assert ("warm_transfer", "no outbound trunk") in [
        (e["kind"], e["detail"]) for e in call.state.events
    ]


async def test_caller_hanging_up_on_hold_ends_the_staff_leg():
    legs = FakeLegs(Staff(ring_seconds=30))
    script = ScriptedLLM([Call("transfer_to_staff", reason="question")])
    async with receptionist_call(script, practice=warm_practice(), prepare=with_legs(legs)) as call:
        run = asyncio.ensure_future(call.session.run(user_input="A person please."))
        await until(lambda: legs.dialled)
        legs.hang_up(CALLER)
        await until(lambda: ("closed",) in legs.done)
        await run
    staff = legs.dialled[0].identity
    assert ("remove", staff) in legs.done and "join" not in legs.kinds()
    assert warm.UNREACHED not in assistant_texts(call.session)
    steps = [e["detail"] for e in call.state.events if e["kind"] == "warm_transfer"]
    assert steps[-1] == "caller hung up on hold"


async def test_staff_hanging_up_during_the_briefing_gives_the_caller_back():
    legs = FakeLegs(Staff(hangs_up=True))
    script = ScriptedLLM([Call("transfer_to_staff", reason="question")])
    async with receptionist_call(script, practice=warm_practice(), prepare=with_legs(legs)) as call:
        await call.session.run(user_input="A person please.")
        assert warm.DECLINED in assistant_texts(call.session)
    steps = [e["detail"] for e in call.state.events if e["kind"] == "warm_transfer"]
    assert steps[-1] == "staff hung up before answering"


async def test_the_hold_never_outlasts_the_practice_limit(monkeypatch):
    legs = FakeLegs(Staff(ring_seconds=60))
    practice = warm_practice(hold_limit_seconds=1)  # model_copy: below the file's minimum
    monkeypatch.setattr(warm, "BRIEF_RESERVE", 0)
    script = ScriptedLLM([Call("transfer_to_staff", reason="question")])
    async with receptionist_call(script, practice=practice, prepare=with_legs(legs)) as call:
        started = asyncio.get_running_loop().time()
        await call.session.run(user_input="A person please.")
        assert warm.HELD_TOO_LONG in assistant_texts(call.session)
        assert asyncio.get_running_loop().time() - started < 15
    assert ("remove", legs.dialled[0].identity) in legs.done
    steps = [e["detail"] for e in call.state.events if e["kind"] == "warm_transfer"]
    assert steps[-1] == "hold limit reached"


async def test_cold_mode_stays_cold_even_with_a_room_for_legs():
    legs = FakeLegs(Staff(presses=["1"]))
    script = ScriptedLLM([Call("transfer_to_staff", reason="question")])
    async with receptionist_call(script, prepare=with_legs(legs)) as call:  # practice.toml: cold
        await call.session.run(user_input="A person please.")
    assert call.state.practice.transfers.mode is TransferMode.COLD
    assert [r.transfer_to for r in call.api.transfers] == [STAFF_LINE]
    assert legs.done == []


async def test_warm_mode_without_a_room_for_legs_transfers_cold():
    script = ScriptedLLM([Call("transfer_to_staff", reason="question")])
    async with receptionist_call(script, practice=warm_practice()) as call:  # no legs
        await call.session.run(user_input="A person please.")
    assert [r.transfer_to for r in call.api.transfers] == [STAFF_LINE]


async def test_a_second_0_while_holding_is_ignored():
    legs = FakeLegs(Staff(ring_seconds=0.5, presses=["1"]))
    async with receptionist_call(
        ScriptedLLM(), practice=warm_practice(), prepare=with_legs(legs)
    ) as call:
        call.state.keypad.press("0")
        await until(lambda: legs.dialled)
        call.state.keypad.press("0")
        await until(lambda: "join" in legs.kinds())
        legs.hang_up(CALLER)
        await call.ended()
    assert len(legs.dialled) == 1 and call.api.transfers == []


# --- the briefing ----------------------------------------------------------------------------


def _state(**events) -> CallState:
    from receptionist.call.control import CallControl
    from receptionist.domain.calls import CallInfo

    practice = example_practice()
    state = CallState(
        info=CallInfo(caller="+14144007103", dialled="+14145550100", is_sip=True),
        practice=practice,
        store=None,  # type: ignore[arg-type]
        control=CallControl(None, room_name="r", participant_identity="c", ringing_timeout=30),
        clips=None,  # type: ignore[arg-type]
        started_at=datetime(2026, 11, 24, 16, tzinfo=UTC),
    )
    for kind, detail in events.items():
        state.note(kind, detail)
    return state


def test_briefing_names_an_unverified_caller_by_number_and_what_was_done():
    state = _state(booked="a check-up on Tuesday at 9 AM with Dr. Okafor", message_taken="normal")
    text = briefing.briefing(state, "moving a payment date")
    assert "not identified, calling from (414) 400-7103" in text
    assert "need help with: moving a payment date" in text
    assert "booked a check-up on Tuesday at 9 AM with Dr. Okafor and took a message" in text
    assert text.endswith(briefing.QUESTION)


def test_briefing_names_a_verified_patient():
    state = _state()
    state.identity.adopt(VerifiedPatient(id="p1", full_name="Ann Lee", is_new=False))
    text = briefing.briefing(state, "")
    assert "Ann Lee, identity confirmed" in text and briefing.KEYPAD_REASON in text
    assert "Nothing has been done on the call yet." in text


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("Yes.", briefing.StaffAnswer.CONNECT),
        ("Sure, put them through", briefing.StaffAnswer.CONNECT),
        ("No, I'm with a patient.", briefing.StaffAnswer.DECLINE),
        ("I can't right now", briefing.StaffAnswer.DECLINE),
        ("Who is it?", None),
        ("No problem, put them through", None),  # both: asked again
    ],
)
def test_the_staff_answer_is_read_in_code(said, answer):
    assert briefing.read_answer(said) is answer


def test_the_trunk_dials_the_number_or_the_sip_user():
    assert dialled_number("tel:+14145550101") == "+14145550101"
    assert dialled_number("sip:frontdesk@pbx.example.com") == "frontdesk"
