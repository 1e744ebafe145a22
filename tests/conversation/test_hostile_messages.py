"""A message the caller was promised is never dropped, and never promised when it was not kept:
caller text is made storable at intake, only a real outage goes to the outbox, and a message
that cannot be kept anywhere is reported to the model so it can help the caller another way."""

from __future__ import annotations

from receptionist.store import Outbox, Store
from tests.conversation.book_support import tool_results
from tests.support.harness import receptionist_call
from tests.support.scripted_llm import Call, Say, ScriptedLLM

HOSTILE = "Ann\x00 Lee\u202e [/b] \ud800swelling\x1b]0;pwned\x07 since last night"


async def test_a_message_with_hostile_characters_is_stored_clean_not_queued(book, tmp_path):
    script = ScriptedLLM(
        [
            Call("take_message", caller_name="Dan\x00 Wu\u202e", reason=HOSTILE, urgency="urgent"),
            Say("The team will call you back."),
        ]
    )
    async with book.call(script) as call:
        result = await call.session.run(user_input="Please have someone call me about swelling.")
        [(output, is_error)] = tool_results(result, "take_message")
        assert not is_error and "Message saved" in output
        [message] = await book.store.records.open_messages()
    assert message.caller_name == "Dan Wu"
    assert "\x00" not in message.reason and "\u202e" not in message.reason
    assert "\ud800" not in message.reason and "\x1b" not in message.reason
    assert "swelling" in message.reason and "[/b]" in message.reason  # text stays text
    assert Outbox(tmp_path / "outbox").pending() == []


async def test_an_emergency_note_with_hostile_characters_reaches_the_book(book, tmp_path):
    script = ScriptedLLM(
        [
            Call("report_emergency", kind="urgent_dental", summary=HOSTILE),
            Say("I've let the team know."),
        ]
    )
    async with book.call(script) as call:
        result = await call.session.run(user_input="My face is swelling badly.")
        [(output, _)] = tool_results(result, "report_emergency")
        assert "not saved" not in output  # it believes the note is kept, and it is
        [message] = await book.store.records.open_messages()
    assert message.urgency == "urgent" and "\ud800" not in message.reason
    assert Outbox(tmp_path / "outbox").pending() == []


async def test_a_message_that_cannot_be_kept_is_never_reported_saved(tmp_path):
    not_a_folder = tmp_path / "outbox-is-a-file"
    not_a_folder.write_text("")
    down = Store(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/book.db", outbox=Outbox(not_a_folder))
    script = ScriptedLLM(
        [
            Call("take_message", caller_name="Dan Wu", reason="Please call me back"),
            Say("I'm sorry, let me put you through."),
        ]
    )
    async with receptionist_call(script, store=down) as call:
        result = await call.session.run(user_input="Leave a message please.")
        [(output, is_error)] = tool_results(result, "take_message")
    await down.close()
    assert is_error and "NOT be saved" in output and "transfer_to_staff" in output
    assert "Message saved" not in output
