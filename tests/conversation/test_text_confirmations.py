"""A call that books, moves or cancels queues the patient's confirmation text, and the staff app's
sender delivers it to the provider (Twilio's simulator, real HTTP) exactly once, through an outage
of the provider; no procedure name in it unless the practice opts in."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from receptionist.domain.practice import Practice, PracticeDirectory, parse_practice
from receptionist.paths import REPO_ROOT
from receptionist.settings import Settings, load_settings
from receptionist.store import Store
from receptionist.store.models import TextStatus
from receptionist.texts import providers
from receptionist.texts.sender import Sender
from tests.conversation.book_support import ANN, book_directly, option_ids
from tests.support.harness import OPEN_TIME
from tests.support.scripted_llm import Call, Say, ScriptedLLM
from tests.support.twilio_sim import TwilioSim

ANN_PHONE = "+14144007103"  # Ann's number in the book (book_support)


def texting_practice(**texts: object) -> Practice:
    data = tomllib.loads((REPO_ROOT / "practice.toml").read_text(encoding="utf-8"))
    data["practice"]["texts"] = {"enabled": True, "provider": "twilio", **texts}
    return parse_practice(data)


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioSim]:
    sim = TwilioSim(numbers={"+14145550100"})
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def _settings(sim: TwilioSim) -> Settings:
    return load_settings(
        _env_file=None,
        twilio_account_sid=sim.account_sid,
        twilio_auth_token=sim.auth_token,
        twilio_api_url=sim.base_url,
    )


async def _send(store: Store, practice: Practice, sim: TwilioSim, at: datetime) -> None:
    async with providers.client() as http:
        sender = Sender(
            store, _settings(sim), PracticeDirectory([practice]), http, clock=lambda: at
        )
        await sender.send_due()


async def test_a_call_that_books_sends_one_confirmation_text_through_an_outage(book, twilio):
    practice = texting_practice()
    script = ScriptedLLM(
        [
            Call("verify_patient", full_name="ann lee", date_of_birth="1980-02-29"),
            Call("find_open_times", visit_type="cleaning", part_of_day="morning"),
            lambda ctx: Call("book_appointment", option_id=option_ids(ctx)[0]),
            Say("You're booked, and we'll text you the details."),
        ]
    )
    async with book.call(script, practice=practice) as call:
        await call.session.run(user_input="It's Ann Lee, born February 29th 1980. A cleaning.")
        assert [e["kind"] for e in call.state.events][-2:] == ["booked", "text_queued"]
    [queued] = await book.store.texts.texts_to(practice.id, ANN_PHONE)
    assert (queued.kind, queued.status, queued.from_number) == (
        "booked",
        TextStatus.PENDING,
        "+14145550100",
    )

    twilio.outage = 1  # the provider is down for the first try
    await _send(book.store, practice, twilio, OPEN_TIME)
    assert twilio.sent == []
    await _send(book.store, practice, twilio, OPEN_TIME + timedelta(minutes=1))
    await _send(book.store, practice, twilio, OPEN_TIME + timedelta(minutes=5))

    [sent] = twilio.sent  # exactly one text reached the provider
    assert sent["To"] == ANN_PHONE
    assert sent["Body"].startswith("Lakeside Family Dental: you're booked ")
    assert "with Maria Santos" in sent["Body"] and "Reply C to confirm" in sent["Body"]
    assert "cleaning" not in sent["Body"].lower()  # no procedure name by default
    [delivered] = await book.store.texts.texts_to(practice.id, ANN_PHONE)
    assert (delivered.status, delivered.provider_message_id) == (TextStatus.SENT, sent["sid"])


async def _cancel_on_a_call(book, practice: Practice) -> None:
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
    async with book.call(script, practice=practice) as call:
        await call.session.run(user_input="Ann Lee, 1980-02-29. Cancel my appointment.")
        await call.session.run(user_input="Yes, cancel it.")


async def test_a_cancel_is_confirmed_by_text_unless_the_practice_turns_confirmations_off(book):
    await book_directly(book.store, ANN, OPEN_TIME + timedelta(days=7))
    off = texting_practice(confirmations=False)
    await _cancel_on_a_call(book, off)
    assert await book.store.texts.texts_to(off.id, ANN_PHONE) == []

    again = await book_directly(book.store, ANN, OPEN_TIME + timedelta(days=8))
    practice = texting_practice()
    await _cancel_on_a_call(book, practice)
    [text] = await book.store.texts.texts_to(practice.id, ANN_PHONE)
    assert (text.kind, text.appointment_id) == ("cancelled", again.id)
    assert text.body.startswith("Lakeside Family Dental: your appointment ")
    assert text.body.endswith(
        "is cancelled. Call (414) 555-0100 to book again. Reply STOP to opt out."
    )
