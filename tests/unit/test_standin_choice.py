"""Which offered time the try-out's stand-in reads out of the caller's words: matched against what
was offered, a bare number an option number only when nothing else names a time, and a question
(several fits) rather than a guess when the words fit more than one."""

from __future__ import annotations

from datetime import date

import pytest

from receptionist.call.standin import Conversation, ToolCall
from receptionist.call.standin_words import Choice, Offered, choose

TODAY = date(2026, 12, 1)  # a Tuesday
OFFERED = (
    "tomorrow (Wednesday) at 8 AM with Maria Santos",
    "Thursday, December 3 at 8 AM with Maria Santos",
    "Monday, December 7 at 2:30 PM with Dr. James Okafor",
)


@pytest.mark.parametrize(
    ("said", "fits"),
    [
        # Weekdays and dates: "one" points at an offer here, it is not option 1.
        ("the Thursday one works", (1,)),
        ("Thursday works for me", (1,)),
        ("the Wednesday one", (0,)),
        ("tomorrow", (0,)),
        ("December 3", (1,)),
        ("dec 7th", (2,)),
        ("the 7th of December", (2,)),
        # Clock times, in figures and words; "8" fits two offers, so the caller is asked.
        ("2:30", (2,)),
        ("2 pm", (2,)),
        ("two thirty p.m.", (2,)),
        ("half past two", (2,)),
        ("the afternoon one", (2,)),
        ("8", (0, 1)),
        ("eight", (0, 1)),
        ("the one at 8", (0, 1)),
        ("Thursday at 8", (1,)),
        # The provider.
        ("with Dr Okafor", (2,)),
        # Positions and option numbers.
        ("the first one", (0,)),
        ("second please", (1,)),
        ("the last one", (2,)),
        ("the earliest", (0,)),
        ("option 2", (1,)),
        ("number two", (1,)),
        ("3", (2,)),  # no offer at 3: the third
        ("one", (0,)),
        # A bare 2 is the second offer or the 2:30 one: ask.
        ("2", (1, 2)),
        # "the 3rd": December 3 or the third offer: ask.
        ("the 3rd", (1, 2)),
        # A position that disagrees with the day: ask between them.
        ("the first Thursday", (0, 1)),
        ("Thursday, the second", (1,)),  # they agree
    ],
)
def test_picks_what_the_words_name_among_the_offers(said, fits):
    choice = choose(said, OFFERED, TODAY)
    assert choice.fits == fits and choice.understood


@pytest.mark.parametrize("said", ["Friday", "at 11", "option 5", "the fifth", "December 9"])
def test_a_time_that_was_not_offered_fits_nothing_but_is_understood(said):
    choice = choose(said, OFFERED, TODAY)
    assert choice.fits == () and choice.understood and choice.picked is None


@pytest.mark.parametrize("said", ["whenever", "hmm", "yes"])  # "yes" to three offers: which?
def test_words_that_name_no_time_are_not_understood(said):
    assert choose(said, OFFERED, TODAY) == Choice((), understood=False)


def test_yes_picks_the_only_offer_and_the_third_of_two_is_not_offered():
    assert choose("yes", OFFERED[:1]).picked == 0
    assert choose("the third", OFFERED[:2]).fits == ()


def test_an_offer_is_read_from_the_receptionists_own_words():
    assert Offered.read(OFFERED[0], TODAY) == Offered(
        weekday=2,
        day=(12, 2),
        relative="tomorrow",
        hour=8,
        minute=0,
        provider=frozenset({"maria", "santos"}),
    )
    assert Offered.read("today at 10:30 AM with Maria Santos", TODAY).weekday == 1
    assert Offered.read(OFFERED[2]).hour == 14 and Offered.read(OFFERED[2]).minute == 30


def offered_times() -> Conversation:
    talk = Conversation(verified=True, today=lambda: TODAY)
    talk.heard("book a cleaning")
    talk.tool_answered(
        "find_open_times",
        "Offer these times in words:\n"
        + "\n".join(f"opt-00000{i}: {when}" for i, when in enumerate(OFFERED)),
        False,
    )
    return talk


def test_the_conversation_books_the_named_time_and_asks_when_several_fit():
    talk = offered_times()
    asked = talk.heard("the one at 8")
    assert "Which one do you mean" in asked.text
    assert "the first, tomorrow (Wednesday)" in asked.text and "Monday" not in asked.text
    assert talk.heard("the Thursday one works") == ToolCall(
        "book_appointment", {"option_id": "opt-000001"}
    )


def test_a_time_not_offered_is_said_so_with_the_offers_again():
    talk = offered_times()
    said = talk.heard("Friday")
    assert "I don't have a time like that" in said.text and "Monday, December 7" in said.text
    assert talk.asked == "time"
