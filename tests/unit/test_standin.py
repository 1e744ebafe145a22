"""The try-out's stand-in for the model: which requests it recognises, what it reads out of the
caller's words, and which real tool it calls next (its whole behaviour, without a session).
Which offered time the caller picks: tests/unit/test_standin_choice.py."""

from __future__ import annotations

from datetime import date

import pytest

from receptionist.call.standin import HELP, LABEL, Conversation, Reply, ToolCall
from receptionist.call.standin_words import (
    Intent,
    emergency_kind,
    parse_birth_date,
    parse_callback,
    parse_name,
    recognise,
)


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("What are your opening hours?", Intent.HOURS),
        ("Are you open on Saturday?", Intent.HOURS),
        ("When do you close today", Intent.HOURS),
        ("I'd like to book a cleaning", Intent.BOOK),
        ("Can I make an appointment?", Intent.BOOK),
        ("I need a check-up", Intent.BOOK),
        ("Cancel my appointment", Intent.CANCEL),
        ("I have to cancel", Intent.CANCEL),
        ("Can I talk to someone?", Intent.PERSON),
        ("I want to speak to a human", Intent.PERSON),
        ("Put me through to the staff", Intent.PERSON),
        ("I'd like to leave a message", Intent.MESSAGE),
        ("Could someone call me back?", Intent.MESSAGE),  # a message, not a transfer
        ("my tooth hurts", Intent.EMERGENCY),
        ("I knocked out a tooth, can I book an appointment?", Intent.EMERGENCY),
        ("There's swelling and bleeding", Intent.EMERGENCY),
        ("Goodbye", Intent.GOODBYE),
        ("ok bye!", Intent.GOODBYE),
        ("That's all, thanks", Intent.GOODBYE),
        ("Ann Lee", Intent.UNKNOWN),
        ("February 29, 1980", Intent.UNKNOWN),
        ("the first one", Intent.UNKNOWN),
        ("we reopened the abbey", Intent.UNKNOWN),  # whole words only: no "open", no "bye"
    ],
)
def test_recognises_its_few_requests_by_their_words(said, intent):
    assert recognise(said) is intent


@pytest.mark.parametrize(
    ("said", "born"),
    [
        ("1980-02-29", date(1980, 2, 29)),
        ("2/29/1980", date(1980, 2, 29)),
        ("February 29, 1980", date(1980, 2, 29)),
        ("feb 29th 1980", date(1980, 2, 29)),
        ("born on the 1st of June 1975", date(1975, 6, 1)),
        ("29 February 1980", date(1980, 2, 29)),
        ("February 30, 1980", None),  # no such day
        ("February 1980", None),  # no day
        ("in the spring", None),
    ],
)
def test_reads_a_date_of_birth_as_people_say_it(said, born):
    assert parse_birth_date(said) == born


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("Ann Lee", "Ann Lee"),
        ("my name is ann lee", "Ann Lee"),
        ("It's Bob Stone, born June 1 1975", "Bob Stone"),
        ("I'm Carla Diaz", "Carla Diaz"),
        ("Ann", None),  # a first and last name is what verify_patient needs
        ("12345", None),
    ],
)
def test_reads_a_first_and_last_name(said, name):
    assert parse_name(said) == name


@pytest.mark.parametrize(
    ("said", "kind"),
    [
        ("I knocked out a tooth", "urgent_dental"),
        ("severe pain in my jaw", "urgent_dental"),
        ("My face is swelling and I can't breathe", "life_threatening"),
        ("the swelling is spreading to my eye", "life_threatening"),
        ("it won't stop bleeding", "life_threatening"),
    ],
)
def test_tells_a_life_threatening_emergency_from_an_urgent_dental_one(said, kind):
    assert emergency_kind(said) == kind


@pytest.mark.parametrize(
    ("said", "number"),
    [
        ("414-555-0123", "414-555-0123"),
        ("my number is (414) 555 0123, thanks", "(414) 555 0123"),
        ("+1 414 555 0123", "+1 414 555 0123"),
        ("the number I'm calling from", ""),
        ("12", None),
        ("I'd rather not say", None),
    ],
)
def test_reads_a_callback_number_as_typed(said, number):
    assert parse_callback(said) == number


def test_booking_asks_who_then_verifies_then_offers_then_books():
    talk = Conversation()
    asked = talk.heard("I'd like to book a cleaning")
    assert isinstance(asked, Reply) and "name" in asked.text
    assert isinstance(talk.heard("Ann Lee"), Reply)  # now the date of birth
    assert talk.heard("February 29, 1980") == ToolCall(
        "verify_patient", {"full_name": "Ann Lee", "date_of_birth": "1980-02-29"}
    )
    assert talk.tool_answered("verify_patient", "Verified: Ann, an existing patient.", False) == (
        ToolCall("find_open_times", {"visit_type": "cleaning"})
    )
    offered = talk.tool_answered(
        "find_open_times",
        "Offer these times in words:\nopt-aaa111: Wednesday at 8 AM with Maria Santos\n"
        "opt-bbb222: Thursday at 9 AM with Maria Santos",
        False,
    )
    assert "Wednesday at 8 AM" in offered.text and "opt-" not in offered.text
    assert talk.heard("the second one") == ToolCall("book_appointment", {"option_id": "opt-bbb222"})


def test_name_and_birth_date_in_one_line_go_straight_to_the_check():
    talk = Conversation()
    talk.heard("book a cleaning")
    step = talk.heard("It's Bob Stone, born June 1, 1975")
    assert step == ToolCall(
        "verify_patient", {"full_name": "Bob Stone", "date_of_birth": "1975-06-01"}
    )


def test_no_match_asks_again_and_names_a_demo_patient():
    talk = Conversation()
    talk.heard("book a cleaning")
    talk.heard("Zed Nobody")
    talk.heard("1/1/1990")
    step = talk.tool_answered("verify_patient", "No patient matches that name.", False)
    assert "Ann Lee" in step.text and talk.asked == "name"


def test_cancelling_tells_the_policy_and_waits_for_a_yes():
    talk = Conversation(verified=True)
    assert talk.heard("cancel my appointment") == ToolCall("list_appointments")
    listed = "Upcoming for Ann (refs ...):\nappt-1: check-up Wednesday at 8 AM with Maria Santos"
    assert talk.tool_answered("list_appointments", listed, False) == ToolCall(
        "cancel_appointment", {"appointment_ref": "appt-1"}
    )
    policy = talk.tool_answered(
        "cancel_appointment",
        "Tell the caller the policy: 24 hours' notice please. Ask if they still want to cancel.",
        False,
    )
    assert "24 hours' notice" in policy.text and policy.text.endswith("cancel it?")
    assert talk.heard("yes please") == ToolCall(
        "cancel_appointment", {"appointment_ref": "appt-1", "caller_confirmed": True}
    )


def test_a_person_hours_and_goodbye_are_tool_calls_at_any_moment():
    talk = Conversation()
    talk.heard("book a cleaning")  # half-way through identity
    assert talk.heard("can I talk to someone").name == "transfer_to_staff"
    assert talk.heard("what are your hours") == ToolCall("practice_info", {"topic": "hours"})
    assert talk.heard("goodbye") == ToolCall("end_call")


def test_a_refused_transfer_is_said_plainly():
    refused = Conversation().tool_answered(
        "transfer_to_staff", "This caller is not on a phone line, so they cannot be put through.",
        False,
    )  # fmt: skip
    assert "not a phone call" in refused.text and "SIP transfer" in refused.text


def test_everything_it_says_is_labelled_as_the_stand_in():
    talk = Conversation()
    replies = [
        talk.heard("tell me a joke"),
        talk.heard("book a cleaning"),
        talk.tool_answered("practice_info", "Monday: 8 AM to 5 PM.", False),
        talk.tool_answered("end_call", "Say a short, warm goodbye in one sentence.", False),
        talk.tool_answered("book_appointment", "Ask for the caller's name.", True),
    ]
    assert replies[0] == Reply(HELP)
    assert all(isinstance(r, Reply) and r.text.startswith(LABEL) for r in replies)


def test_a_message_collects_name_reason_and_number_then_calls_take_message():
    talk = Conversation()
    assert "name" in talk.heard("I'd like to leave a message").text
    assert "team to know" in talk.heard("Carla Diaz").text
    assert "call you back" in talk.heard("It's about my appointment and your hours").text
    assert talk.heard("414 555 0177") == ToolCall(
        "take_message",
        {
            "caller_name": "Carla Diaz",
            "reason": "It's about my appointment and your hours",  # an answer, not a request
            "callback_number": "414 555 0177",
            "urgency": "routine",
        },
    )
    again = talk.tool_answered(
        "take_message", "Ask for the best callback number, with the area code.", True
    )
    assert talk.asked == "msg_number" and "did not work" in again.text


def test_an_urgent_dental_problem_reports_it_then_takes_an_urgent_message():
    talk = Conversation()
    assert talk.heard("I broke a tooth") == ToolCall(
        "report_emergency", {"kind": "urgent_dental", "summary": "I broke a tooth"}
    )
    told = talk.tool_answered(
        "report_emergency",
        "Share this guidance: Rinse with warm water. Nobody can take a call now. Offer the "
        "soonest urgent visit, and ask for their callback number and call take_message with "
        "urgency urgent so the team calls back. If it gets worse, call 911.",
        False,
    )
    assert told.text.startswith(f"{LABEL} Rinse with warm water.") and "urgent message" in told.text
    talk.heard("Ann Lee")
    step = talk.heard("414 400 7103")
    assert step.name == "take_message"
    assert step.arguments["urgency"] == "urgent"
    assert step.arguments["reason"] == "URGENT: I broke a tooth"


def test_a_life_threatening_emergency_says_the_emergency_number_at_once():
    talk = Conversation()
    talk.heard("book a cleaning")
    step = talk.heard("I can't breathe")  # even in the middle of another request
    assert step == ToolCall(
        "report_emergency", {"kind": "life_threatening", "summary": "I can't breathe"}
    )
    said = talk.tool_answered(
        "report_emergency",
        "Tell the caller now, calmly: hang up and call 911 right away, or go to the nearest "
        "emergency room. Do not book, transfer or diagnose.",
        False,
    )
    assert said.text == (
        f"{LABEL} Hang up and call 911 right away, or go to the nearest emergency room."
    )
