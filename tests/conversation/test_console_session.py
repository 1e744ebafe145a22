"""`agent.py console`: the greeting is shown first when typing, and a console session is not a
call, so it never reaches the call log (where it would read as an unknown caller who abandoned)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from livekit.agents import cli
from livekit.agents.testing import fake_job_context
from rich.console import Console

from receptionist.call.session import show_greeting_in_console, write_call_record
from tests.support import harness
from tests.support.harness import receptionist_call
from tests.support.scripted_llm import Say, ScriptedLLM


async def _finished_call(store):
    """A call that ended, on `store`, with nothing achieved (what a console try often is)."""
    async with receptionist_call(ScriptedLLM(), store=store) as call:
        state = call.state
    return state


async def test_a_console_session_is_not_written_to_the_call_log(book):
    state = await _finished_call(book.store)
    with fake_job_context():
        await write_call_record(state, None, console=True)
    assert await book.store.count("call") == 0
    # The same call on a phone line is recorded as ever.
    with fake_job_context():
        await write_call_record(state, None, console=False)
    [record] = await book.store.records.recent_calls()
    assert record.outcome == "abandoned" and record.caller == "+14144007103"


async def test_the_text_console_prints_the_greeting_before_anything_is_typed(monkeypatch):
    screen = Console(record=True, width=100, force_terminal=False)
    # The local console's rich screen, not enabled, so the session keeps its own (no) audio.
    local = SimpleNamespace(console=screen, enabled=False, io_acquired=False, record=False)
    monkeypatch.setattr(cli.AgentsConsole, "_instance", local)
    attach = harness.attach_call_handling

    def attach_and_show(session, *args, **kwargs):
        show_greeting_in_console(session)  # as run_call does in `console --text`
        return attach(session, *args, **kwargs)

    monkeypatch.setattr(harness, "attach_call_handling", attach_and_show)
    async with receptionist_call(ScriptedLLM([Say("Of course.")])) as call:
        async with asyncio.timeout(5):
            while "Thank you for calling" not in screen.export_text(clear=False):
                await asyncio.sleep(0.02)
        await call.session.run(user_input="Can you help me?")
    printed = screen.export_text()
    assert printed.lstrip().startswith("\u25cf Agent")
    assert "Thank you for calling Lakeside Family Dental" in printed
    assert "Of course." not in printed  # replies to typed lines are the console's own to print
