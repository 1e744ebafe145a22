"""The try-out's stand-in for the model: which requests it recognises, what it reads out of the
caller's words, and which real tool it calls next (its whole behaviour, without a session)."""

from __future__ import annotations

from datetime import date

import pytest

from receptionist.call.standin import (
    HELP,
    LABEL,
    Conversation,
    Intent,
    Reply,
    ToolCall,
    parse_birth_date,
    parse_choice,
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
        ("Goodbye", Intent.GOODBYE),
        ("ok bye!", Intent.GOODBYE),
        ("That's all, thanks", Intent.GOODBYE),
        ("Ann Lee", Intent.UNKNOWN),
        ("February 29, 1980", Intent.UNKNOWN),
        ("the first one", Intent.UNKNOWN),
        ("my tooth hurts", Intent.UNKNOWN),
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
    ("said", "count", "picked"),
    [
        ("the first one", 3, 0),
        ("second please", 3, 1),
        ("3", 3, 2),
        ("the last one", 3, 2),
        ("yes", 1, 0),
        ("the third", 2, None),  # only two were offered
        ("whenever", 3, None),
    ],
)
def test_reads_which_offer_was_picked(said, count, picked):
    assert parse_choice(said, count) == picked


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
