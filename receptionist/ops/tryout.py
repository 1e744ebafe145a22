"""`agent.py try`: the real receptionist in your terminal, with a local stand-in for the model.

A newcomer should hear the receptionist work before buying keys. This runs the real `Receptionist`
agent (its prompts, its tools, the greeting from code) in a real `AgentSession`, on a real book
(SQLite, with the demo patients), and puts the stand-in of receptionist/call/standin.py where the
language model would be. No keys, no network, no audio device, no LiveKit server: the session runs
text only, as `agent.py console --text` does, and the caller types.

The book is the try-out's own: a SQLite file (and an outbox) in a folder of its own, `var/tryout/`
in the repository unless `--folder` names another, created owner-only and migrated on first use.
It is never the book `DATABASE_URL` names, SQLite or not: made-up patients, bookings and messages
must not land in a practice's real book (nor in its outbox, which would carry them there).

A try-out is not a phone call: there is no SIP line, so the transfer tool refuses (and says so),
and nothing is written to the call log. Bookings, cancellations and messages are real and stay in
the try-out's book.

    uv run agent.py try
    printf 'what are your hours?\\ngoodbye\\n' | uv run agent.py try   # scripted
    uv run agent.py try --folder /tmp/fresh-tryout                      # another book

`agent.py` starts it and hands the tools in: this package never imports the tools package.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import textwrap
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from livekit.agents import ConversationItemAddedEvent, FunctionToolsExecutedEvent
from livekit.agents.testing import fake_job_context

from receptionist.call.control import CallControl
from receptionist.call.providers import Providers
from receptionist.call.session import (
    AgentTools,
    Receptionist,
    attach_call_handling,
    build_session,
    todays_practice,
)
from receptionist.call.standin import StandInLLM
from receptionist.call.state import CallState, utc_now
from receptionist.domain.calls import CallInfo
from receptionist.domain.practice import Practice, PracticeError, load_directory
from receptionist.ops.demo import CALLERS
from receptionist.paths import REPO_ROOT
from receptionist.settings import Settings, SettingsError, load_settings
from receptionist.store import Outbox, Store, upgrade
from receptionist.store.engine import DatabaseUrlError, normalize_url, sqlite_file

ReadLine = Callable[[], Awaitable[str | None]]
Show = Callable[[str], None]
Tools = Callable[[], AgentTools]  # one call's tools (tools.receptionist_tools)
# The try-out's own folder: its book and its outbox, never DATABASE_URL's (see the docstring).
DEFAULT_FOLDER = REPO_ROOT / "var" / "tryout"
FOLDER_MODE = 0o700  # the book holds (made-up) patient data: owner-only, like the real one
TRIES = (
    '"What are your opening hours?"',
    '"I\'d like to book a cleaning"',
    '"Cancel my appointment"',
    '"Please take a message"',
    '"I knocked out a tooth"',
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

    async def play(self, name: str, lang: str = "en") -> None:
        self._show(f"  (would play the recorded clip {name!r}, {lang})")


class TryoutError(RuntimeError):
    """The try-out cannot use its folder; the message says why and what to do."""


@dataclass(frozen=True)
class OwnBook:
    """The try-out's book and outbox, in one folder of their own."""

    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / "book.db"

    @property
    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self.path}"

    @property
    def outbox(self) -> Path:
        return self.folder / "outbox"

    def check(self, settings: Settings) -> None:
        """Refuses a folder whose book is the one DATABASE_URL names: the try-out's demo data
        must never land in the practice's book, even when someone points one at the other."""
        try:
            configured = sqlite_file(normalize_url(settings.database_url).database)
        except DatabaseUrlError:
            return  # not a book the try-out could touch anyway
        if configured is not None and configured.resolve() == self.path.resolve():
            raise TryoutError(
                f"DATABASE_URL names the try-out's own book ({self.path}). The try-out never "
                "writes to DATABASE_URL's book: give it another folder (agent.py try --folder "
                "DIR) or point DATABASE_URL at the practice's book."
            )


async def open_book(book: OwnBook, settings: Settings, practice: Practice) -> Store:
    """The try-out's book, ready: its folder created owner-only on first use, migrated, and the
    demo patients registered (all safe to repeat)."""
    book.check(settings)
    if not book.folder.exists():
        book.folder.mkdir(parents=True, mode=FOLDER_MODE)
        book.folder.chmod(FOLDER_MODE)  # mkdir's mode is masked by the umask
    await upgrade(book.url)
    store = Store(book.url, outbox=Outbox(book.outbox))
    for name, born, phone in CALLERS:
        await store.appointments.register_patient(practice.id, name, born, phone)
    return store


def _shown(path: Path) -> str:
    """`path` as the user can type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def banner(practice: Practice, book: OwnBook) -> list[str]:
    """The first screen, in 80 columns: what this is (and is not), what to type, whom to be,
    and which book it writes to."""
    ann, bob = ((name, born) for name, born, _ in CALLERS[:2])
    return [
        f"{practice.name}: offline try-out with a STAND-IN for the model",
        f"  Its own book (never DATABASE_URL's): {_shown(book.path)}",
        "  The agent, its prompts, its tools and the book are real; the language model",
        "  is not: a local stand-in that knows a few requests answers instead, and",
        "  everything it says starts with (stand-in). No keys, no network. Not a phone",
        "  call: the transfer tool will refuse, and nothing goes in the call log.",
        "  Try: " + ", ".join(TRIES[:2]) + ",",
        "       " + ", ".join(TRIES[2:4]) + ",",
        "       " + ", ".join(TRIES[4:]) + ".",
        f"  Demo patients (made up): {ann[0]}, born {ann[1]:%B} {ann[1].day}, {ann[1].year};",
        f"                           {bob[0]}, born {bob[1]:%B} {bob[1].day}, {bob[1].year}.",
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
    standin = StandInLLM(today=lambda: state.local_now().date())
    providers = Providers(stt=None, llm=standin, tts=None, turn_detection="manual")
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

            def deliver() -> None:
                if not future.done():  # cancelled meanwhile (Ctrl-C)
                    future.set_result(line)

            loop.call_soon_threadsafe(deliver)

        threading.Thread(target=work, daemon=True).start()
        return await future

    return next_line


async def try_out(
    settings: Settings,
    practice: Practice,
    tools: Tools,
    show: Show = print,
    *,
    folder: Path = DEFAULT_FOLDER,
) -> TryoutRun:
    """The whole try-out in the terminal: banner, its own book, conversation."""
    book = OwnBook(folder)
    book.check(settings)  # before the banner: a refusal is the first and only thing said
    for line in banner(practice, book):
        show(line)
    store = await open_book(book, settings, practice)
    try:
        run = await converse(store, practice, settings, tools, terminal_reader(show), show)
    finally:
        await store.close()
    show("")
    show("(try-out ended. Its bookings and messages stay in its own book. To see them:")
    show(f" DATABASE_URL=sqlite+aiosqlite:///{_shown(book.path)} \\")
    show("   uv run receptionist messages      (or: appointments --date YYYY-MM-DD)")
    show(f" Delete {_shown(book.folder)} to start afresh.)")
    return run


def arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="agent.py try",
        description="The real receptionist in your terminal, with a labelled stand-in for the "
        "model: no keys, no network.",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        default=DEFAULT_FOLDER,
        help="where the try-out keeps its own book and outbox (created owner-only on first "
        f"use; default {DEFAULT_FOLDER}); never the book DATABASE_URL names",
    )
    return parser.parse_args(argv)


def _stop(message: str) -> int:
    """A problem the user can fix, said plainly (no traceback): exit status 2, as agent.py."""
    print(message, file=sys.stderr)
    return 2


def main(tools: Tools, argv: Sequence[str] | None = None) -> int:
    """`agent.py try [--folder DIR]`: the settings and profile checked as every command does,
    then go."""
    options = arguments(sys.argv[2:] if argv is None else argv)
    try:
        settings = load_settings()
        directory = load_directory(settings.practice_file)
    except (SettingsError, PracticeError) as exc:
        return _stop(str(exc))
    # The framework's own logs would drown the conversation; problems still show.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(try_out(settings, directory.default, tools, folder=options.folder))
    except TryoutError as exc:
        return _stop(str(exc))
    except KeyboardInterrupt:
        print("\n(try-out ended)")
    return 0
