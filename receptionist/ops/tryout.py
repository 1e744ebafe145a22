"""`agent.py try`: the real receptionist in your terminal, with a local stand-in for the model.

A newcomer should hear the receptionist work before buying keys. This runs the real `Receptionist`
agent (its prompts, its tools, the greeting from code) in a real `AgentSession`, on the real book
(SQLite, with the demo patients), and puts the stand-in of receptionist/call/standin.py where the
language model would be. No keys, no network, no audio device, no LiveKit server: the session runs
text only, as `agent.py console --text` does, and the caller types.

A try-out is not a phone call: there is no SIP line, so the transfer tool refuses (and says so),
and nothing is written to the call log. Bookings and cancellations are real and stay in the book.

    uv run agent.py try
    printf 'what are your hours?\\ngoodbye\\n' | uv run agent.py try   # scripted

`agent.py` starts it and hands the tools in: this package never imports the tools package.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import textwrap
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from livekit.agents import ConversationItemAddedEvent, FunctionToolsExecutedEvent
from livekit.agents.testing import fake_job_context

from receptionist.call.control import CallControl
from receptionist.call.providers import Providers
from receptionist.call.session import (
    Receptionist,
    attach_call_handling,
    build_session,
    todays_practice,
)
from receptionist.call.standin import StandInLLM
from receptionist.call.state import CallState, utc_now
from receptionist.domain.calls import CallInfo
from receptionist.domain.practice import Practice, PracticeError, load_directory
from receptionist.ops.staff import DEMO_PATIENTS
from receptionist.paths import REPO_ROOT
from receptionist.settings import Settings
from receptionist.store import Outbox, Store, upgrade

ReadLine = Callable[[], Awaitable[str | None]]
Show = Callable[[str], None]
Tools = Callable[[], Sequence[Any]]  # one call's tools (tools.receptionist_tools)
# Where the try-out keeps its book when DATABASE_URL is not SQLite: demo patients must never land
# in a practice's real (PostgreSQL) book.
OWN_BOOK = REPO_ROOT / "tryout.db"
TRIES = (
    '"What are your opening hours?"',
    '"I\'d like to book a cleaning"',
    '"Cancel my appointment"',
    '"Can I talk to someone?"',
    '"Goodbye"',
)


@dataclass(frozen=True)
class ToolUse:
    """One real tool call the stand-in made, with what the tool answered."""

    name: str
    arguments: str
    output: str
    is_error: bool


@dataclass
class TryoutRun:
    """What happened: what the receptionist said (greeting first), the tools it used, how it
    ended."""

    state: CallState
    said: list[str] = field(default_factory=list)
    tools: list[ToolUse] = field(default_factory=list)
    ended: bool = False  # the session closed (goodbye, or the input ran out)


class _NoClips:
    """A try-out has no audio: the apology clips are only named."""

    def __init__(self, show: Show) -> None:
        self._show = show

    async def play(self, name: str) -> None:
        self._show(f"  (would play the recorded clip {name!r})")


def book_url(settings: Settings) -> str:
    """The book to try on: the configured one when it is SQLite, else a file of the try-out's."""
    if settings.database_url.startswith("sqlite"):
        return settings.database_url
    return f"sqlite+aiosqlite:///{OWN_BOOK}"


async def prepare_book(url: str, settings: Settings, practice: Practice) -> Store:
    """Migrates the book and registers the demo patients (both safe to repeat)."""
    await upgrade(url)
    store = Store(url, outbox=Outbox(settings.outbox_dir))
    for name, born, phone in DEMO_PATIENTS:
        await store.register_patient(practice.id, name, born, phone)
    return store


def banner(practice: Practice, url: str) -> list[str]:
    """The first screen, in 80 columns: what this is (and is not), what to type, whom to be."""
    own = url.endswith(str(OWN_BOOK))
    ann, bob = ((name, born) for name, born, _ in DEMO_PATIENTS[:2])
    return [
        f"{practice.name}: offline try-out with a STAND-IN for the model",
        "  The agent, its prompts, its tools and the book are real; the language model",
        "  is not: a local stand-in that knows a few requests answers instead, and",
        "  everything it says starts with (stand-in). No keys, no network. Not a phone",
        "  call: the transfer tool will refuse, and nothing goes in the call log.",
        "  Try: " + ", ".join(TRIES[:2]) + ",",
        "       " + ", ".join(TRIES[2:]) + ".",
        f"  Demo patients (made up): {ann[0]}, born {ann[1]:%B} {ann[1].day}, {ann[1].year};",
        f"                           {bob[0]}, born {bob[1]:%B} {bob[1].day}, {bob[1].year}.",
        f"  Book: {url}" + ("  (its own: DATABASE_URL is not SQLite)" if own else ""),
        "  Goodbye or Ctrl-D ends it. Real model: uv run agent.py console --text",
        "",
    ]


def _wrapped(first: str, text: str, rest: str) -> list[str]:
    """`text` folded to the terminal (at most 100 columns), `first` before it, `rest` after."""
    width = min(shutil.get_terminal_size((80, 24)).columns, 100)
    lines = textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest)
    return lines or [first.rstrip()]


def _show_tools(ev: FunctionToolsExecutedEvent, run: TryoutRun, show: Show) -> None:
    for call, output in zip(ev.function_calls, ev.function_call_outputs, strict=False):
        use = ToolUse(call.name, call.arguments, output.output if output else "", bool(
            output and output.is_error))  # fmt: skip
        run.tools.append(use)
        show(f"  -> {use.name}({use.arguments})")
        mark = "     !! " if use.is_error else "     <- "
        for line in (use.output or "(nothing)").splitlines():
            for folded in _wrapped(mark, line, " " * len(mark)):
                show(folded)


def _show_item(ev: ConversationItemAddedEvent, run: TryoutRun, show: Show) -> None:
    item = ev.item
    if item.type == "message" and item.role == "assistant" and item.text_content:
        run.said.append(item.text_content)
        for line in _wrapped("Receptionist: ", item.text_content, "    "):
            show(line)


async def converse(
    store: Store,
    practice: Practice,
    settings: Settings,
    tools: Tools,
    read_line: ReadLine,
    show: Show,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> TryoutRun:
    """The greeting, then one turn per line read, until goodbye or the lines run out."""
    practice = await todays_practice(store, practice, clock())
    state = CallState(
        info=CallInfo(),  # no SIP attributes: caller and dialled number are "unknown"
        practice=practice,
        store=store,
        control=CallControl(
            None,  # no LiveKit server: transfers are refused as "not a phone line"
            room_name="try-out",
            participant_identity="",
            ringing_timeout=settings.transfer_ringing_timeout,
        ),
        clips=_NoClips(show),
        started_at=clock(),
        clock=clock,
        room_name="try-out",
    )
    run = TryoutRun(state)
    greeted, finished = asyncio.Event(), asyncio.Event()

    def on_item(ev: ConversationItemAddedEvent) -> None:
        _show_item(ev, run, show)
        if run.said:
            greeted.set()

    async def on_finished(_: CallState) -> None:
        run.ended = True  # deliberately no call record: a try-out is not a call
        finished.set()

    # The caller types: no silence checks, and turns end when a line is entered.
    settings = settings.model_copy(update={"silence_timeout": 3600.0})
    providers = Providers(stt=None, llm=StandInLLM(), tts=None, turn_detection="manual")
    with fake_job_context():
        session = build_session(settings, providers, state, vad=None)
        attach_call_handling(session, state, settings, on_finished=on_finished)
        session.on("conversation_item_added", on_item)
        session.on("function_tools_executed", lambda ev: _show_tools(ev, run, show))
        await session.start(Receptionist(practice, tools()))
        try:
            await asyncio.wait_for(greeted.wait(), timeout=10.0)  # the greeting comes first
            while not finished.is_set():
                line = await read_line()
                if line is None:
                    break
                if line.strip():
                    await session.run(user_input=line.strip())
                if any(use.name == "end_call" for use in run.tools):
                    await asyncio.wait_for(finished.wait(), timeout=10.0)
        finally:
            await session.aclose()
            await asyncio.wait_for(finished.wait(), timeout=10.0)
    return run


def terminal_reader(show: Show) -> ReadLine:
    """Lines from the terminal (prompted) or a pipe (echoed, so a transcript reads whole).

    Each line is read on a daemon thread, so Ctrl-C never waits for a pending `input()`."""
    interactive = sys.stdin.isatty()

    def read() -> str | None:
        try:
            line = input("You: ") if interactive else sys.stdin.readline()
        except EOFError:
            return None
        if not interactive:
            if not line:
                return None
            show(f"You: {line.rstrip()}")
        return line

    async def next_line() -> str | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()

        def work() -> None:
            line = read()
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(line))

        threading.Thread(target=work, daemon=True).start()
        return await future

    return next_line


async def try_out(
    settings: Settings, practice: Practice, tools: Tools, show: Show = print
) -> TryoutRun:
    """The whole try-out in the terminal: banner, book, conversation."""
    url = book_url(settings)
    for line in banner(practice, url):
        show(line)
    store = await prepare_book(url, settings, practice)
    try:
        run = await converse(store, practice, settings, tools, terminal_reader(show), show)
    finally:
        await store.close()
    show("")
    show("(try-out ended. Bookings stay in the book: uv run receptionist appointments")
    show(" --date YYYY-MM-DD shows a day's visits.)")
    return run


def main(tools: Tools) -> int:
    """`agent.py try`: the settings and profile checked as every command does, then go."""
    from receptionist.ops import staff  # the staff commands' checks and messages

    settings = staff.settings_or_exit()
    try:
        directory = load_directory(settings.practice_file)
    except PracticeError as exc:
        staff.fail(str(exc), code=2)
    # The framework's own logs would drown the conversation; problems still show.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(try_out(settings, directory.default, tools))
    except KeyboardInterrupt:
        print("\n(try-out ended)")
    return 0
