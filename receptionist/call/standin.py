"""A local stand-in for the language model, so a newcomer can try the receptionist without keys.

It is not a model and does not pretend to be one: it recognises a handful of requests by their
words (opening hours, booking a cleaning, cancelling an appointment, asking for a person,
goodbye), asks for what the real tools need (name, date of birth, which time) and then drives the
agent's real tools through real function calls, exactly as the model would. Everything it says
starts with "(stand-in)". The greeting and the receptionist's fixed lines come from code, not from
here. `agent.py try` (receptionist/ops/tryout.py) runs it in the terminal.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from livekit.agents import llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectOptions

LABEL = "(stand-in)"
HELP = (
    f"{LABEL} I'm a local stand-in for the language model, so I only understand a few "
    "requests: opening hours, booking a cleaning, cancelling an appointment, talking to "
    "someone, and goodbye. With an OpenAI key, `uv run agent.py console --text` uses the real "
    "model."
)
ASK_NAME = "First I need to check who you are. What is your first and last name?"
DEMO_HINT = "The demo patients include Ann Lee, born February 29, 1980."


class Intent(StrEnum):
    HOURS = "hours"
    BOOK = "book"
    CANCEL = "cancel"
    PERSON = "person"
    GOODBYE = "goodbye"
    UNKNOWN = "unknown"


# Checked in this order: "cancel my appointment" is a cancellation, not a booking.
_KEYWORDS: tuple[tuple[Intent, tuple[str, ...]], ...] = (
    (Intent.GOODBYE, ("goodbye", "bye", "that's all", "that is all", "nothing else", "hang up")),
    (Intent.PERSON, ("someone", "somebody", "person", "human", "staff", "operator",
                     "receptionist", "talk to", "speak to", "speak with", "talk with")),
    (Intent.CANCEL, ("cancel",)),
    (Intent.HOURS, ("hour", "open", "close", "closing")),
    (Intent.BOOK, ("book", "appointment", "cleaning", "check-up", "checkup", "schedule",
                   "come in")),
)  # fmt: skip
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sept", "sep"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_ORDINALS = (("first", "1", "earliest"), ("second", "2"), ("third", "3"))
# Checked after the ordinals: "the second one" is the second.
_NUMBERS = ("one", "two", "three")
_YES = ("yes", "yeah", "yep", "sure", "please do", "go ahead", "cancel it", "correct", "ok")
_NO = ("no", "nope", "keep it", "don't", "do not", "never mind")
_NAME_PREFIXES = ("my name is", "name is", "this is", "it's", "it is", "i'm", "i am")
_OPTION = re.compile(r"^(opt-[0-9a-f]+): (.+)$", re.MULTILINE)
_REF = re.compile(r"^(appt-\d+): (.+)$", re.MULTILINE)


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9'\- ]+", " ", text.lower()) + " "


def _has(text: str, phrase: str) -> bool:
    """Whole-word match: "open" is not found in "reopen", nor "bye" in "abbey"."""
    return re.search(rf"(?<![a-z]){re.escape(phrase)}", _words(text)) is not None


def recognise(text: str) -> Intent:
    """Which of the stand-in's few requests `text` is, by its words."""
    for intent, phrases in _KEYWORDS:
        if any(_has(text, phrase) for phrase in phrases):
            return intent
    return Intent.UNKNOWN


def parse_birth_date(text: str) -> date | None:
    """A date as people say or type it: 1980-02-29, 2/29/1980 (US order), February 29th 1980,
    29 Feb 1980. None when there is no whole date in `text`."""
    lowered = text.lower()
    try:
        if m := re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", lowered):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.search(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b", lowered):
            return date(int(m[3]), int(m[1]), int(m[2]))
        month = next((n for w, n in _MONTHS.items() if re.search(rf"\b{w}\b", lowered)), None)
        year = re.search(r"\b(1[89]\d\d|20\d\d)\b", lowered)
        day = re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\b", re.sub(r"\b\d{4}\b", "", lowered))
        if month and year and day:
            return date(int(year[1]), month, int(day[1]))
    except ValueError:  # February 30th and the like
        return None
    return None


def parse_name(text: str) -> str | None:
    """A first and last name from "Ann Lee", "my name is Ann Lee, born ...": None if not two
    words of letters."""
    lowered = text.strip().lower()
    for prefix in _NAME_PREFIXES:
        if lowered.startswith(prefix):
            text = text.strip()[len(prefix) :]
            break
    text = re.split(r",|\bborn\b|\bdate of birth\b|\d", text, maxsplit=1)[0]
    words = [w for w in re.findall(r"[^\W\d_][^\W\d_'’.\-]*", text) if w.lower() != "and"]
    if len(words) < 2 or len(words) > 4:
        return None
    return " ".join(w[:1].upper() + w[1:] for w in words)


def parse_choice(text: str, count: int) -> int | None:
    """Which of `count` offered things the caller picked (0-based), or None."""
    lowered = _words(text)
    for index, words in enumerate(_ORDINALS[:count]):
        if any(f" {w} " in lowered for w in words):
            return index
    if count > 1 and (" last " in lowered or " latest " in lowered):
        return count - 1
    for index, word in enumerate(_NUMBERS[:count]):
        if f" {word} " in lowered:
            return index
    if count == 1 and is_yes(text):
        return 0
    return None


def is_yes(text: str) -> bool:
    return any(_has(text, w) for w in _YES) and not is_no(text)


def is_no(text: str) -> bool:
    return any(_has(text, w) for w in _NO)


@dataclass(frozen=True)
class Reply:
    """Words for the caller (the stand-in's own, labelled)."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """A call of one of the agent's real tools."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


Step = Reply | ToolCall


def _said(text: str) -> Reply:
    return Reply(f"{LABEL} {text}")


@dataclass
class Conversation:
    """What the stand-in remembers between turns: the request under way and what it asked."""

    goal: Intent | None = None
    asked: str = ""  # name | dob | time | which | confirm
    name: str = ""
    verified: bool = False
    visit: str = "cleaning"
    options: list[tuple[str, str]] = field(default_factory=list)
    refs: list[tuple[str, str]] = field(default_factory=list)
    ref: str = ""

    # -- the caller spoke ------------------------------------------------------------------

    def heard(self, text: str) -> Step:
        """The next step after the caller said `text`."""
        intent = recognise(text)
        if intent is Intent.GOODBYE:
            return ToolCall("end_call")
        if intent is Intent.PERSON:
            return ToolCall("transfer_to_staff", {"reason": "The caller asked for a person."})
        if intent is Intent.HOURS:
            return ToolCall("practice_info", {"topic": "hours"})
        if intent in (Intent.BOOK, Intent.CANCEL) and not self._answers_question(text):
            return self._start(intent, text)
        if self.asked:
            return self._answer(text)
        return Reply(HELP)

    def _answers_question(self, text: str) -> bool:
        """Whether `text` answers what was asked ("yes, cancel it" confirms, not restarts)."""
        if self.asked in ("name", "dob"):
            return True
        if self.asked == "confirm":
            return is_yes(text) or is_no(text)
        if self.asked == "time":
            return parse_choice(text, len(self.options)) is not None
        if self.asked == "which":
            return parse_choice(text, len(self.refs)) is not None
        return False

    def _start(self, intent: Intent, text: str) -> Step:
        self.goal, self.asked = intent, ""
        if intent is Intent.BOOK and any(_has(text, w) for w in ("filling", "treatment")):
            self.visit = "filling"
        if self.verified:
            return self._next_for_goal()
        self.asked = "name"
        lead = "I can book that for you." if intent is Intent.BOOK else "I can cancel it for you."
        return _said(f"{lead} {ASK_NAME}")

    def _answer(self, text: str) -> Step:
        asked = self.asked
        if asked == "name":
            return self._take_name(text)
        if asked == "dob":
            return self._take_birth_date(text)
        if asked == "time":
            picked = parse_choice(text, len(self.options))
            if picked is None:
                return _said("Which time would you like: the first, the second or the third?")
            self.asked = ""
            return ToolCall("book_appointment", {"option_id": self.options[picked][0]})
        if asked == "which":
            picked = parse_choice(text, len(self.refs))
            if picked is None:
                return _said("Which appointment: the first or the second?")
            self.asked, self.ref = "", self.refs[picked][0]
            return ToolCall("cancel_appointment", {"appointment_ref": self.ref})
        if asked == "confirm":
            self.asked = ""
            if is_yes(text):
                arguments = {"appointment_ref": self.ref, "caller_confirmed": True}
                return ToolCall("cancel_appointment", arguments)
            self.goal = None
            return _said("All right, I've left it booked. Anything else?")
        return Reply(HELP)

    def _take_name(self, text: str) -> Step:
        name = parse_name(text)
        if name is None:
            return _said("Please tell me your first and last name, for example: Ann Lee.")
        self.name = name
        born = parse_birth_date(text)
        if born is None:
            self.asked = "dob"
            return _said(f"Thank you, {name.split()[0]}. And your date of birth?")
        return self._verify(born)

    def _take_birth_date(self, text: str) -> Step:
        born = parse_birth_date(text)
        if born is None:
            return _said("Please say your date of birth with the year, like February 29, 1980.")
        return self._verify(born)

    def _verify(self, born: date) -> Step:
        self.asked = ""
        return ToolCall(
            "verify_patient", {"full_name": self.name, "date_of_birth": born.isoformat()}
        )

    def _next_for_goal(self) -> Step:
        if self.goal is Intent.BOOK:
            return ToolCall("find_open_times", {"visit_type": self.visit})
        return ToolCall("list_appointments")

    # -- a tool answered -------------------------------------------------------------------

    def tool_answered(self, name: str, output: str, is_error: bool) -> Step:
        """The next step after the real tool `name` returned `output`."""
        if is_error:
            if name == "verify_patient":
                self.asked = "name"
            return _said(f"That did not work; the {name} tool answered: {output}")
        handler = getattr(self, f"_after_{name}", None)
        if handler is None:
            return _said(f"The {name} tool answered: {output}")
        return handler(output)

    def _after_practice_info(self, output: str) -> Step:
        return _said(f"Our opening hours: {output}")

    def _after_verify_patient(self, output: str) -> Step:
        if not output.startswith("Verified"):
            self.asked = "name"
            return _said(
                "I couldn't find a patient with that name and date of birth (this stand-in "
                f"does not register new patients). {DEMO_HINT} What is your full name?"
            )
        self.verified = True
        if "new patient" in output:
            self.visit = "new patient exam"
        return self._next_for_goal()

    def _after_find_open_times(self, output: str) -> Step:
        self.options = _OPTION.findall(output)[:3]
        if not self.options:
            self.goal = None
            return _said("I found no open times in the next few weeks. Anything else?")
        self.asked = "time"
        ordinals = ("first", "second", "third")
        times = "; ".join(f"{ordinals[i]}, {when}" for i, (_, when) in enumerate(self.options))
        return _said(f"I have {times}. Which would you like?")

    def _after_book_appointment(self, output: str) -> Step:
        self.goal, self.options = None, []
        booked = output.split(": ", 1)[-1].split(". Confirm", 1)[0]
        return _said(f"You're booked: {booked}. Is there anything else?")

    def _after_list_appointments(self, output: str) -> Step:
        self.refs = _REF.findall(output)
        if not self.refs:
            self.goal = None
            return _said("I don't see any upcoming appointments for you. Anything else?")
        if len(self.refs) == 1:
            self.ref = self.refs[0][0]
            return ToolCall("cancel_appointment", {"appointment_ref": self.ref})
        self.asked = "which"
        listed = "; ".join(f"{when}" for _, when in self.refs[:3])
        return _said(f"You have {listed}. Which one should I cancel?")

    def _after_cancel_appointment(self, output: str) -> Step:
        if output.startswith("Cancelled"):
            self.goal, self.ref = None, ""
            when = output.split("appointment ", 1)[-1].split(". Confirm", 1)[0]
            return _said(f"Done: your appointment {when} is cancelled. Anything else?")
        policy = output.split("the policy: ", 1)[-1].split(" Ask if", 1)[0]
        self.asked = "confirm"
        return _said(f"Our cancellation policy: {policy} Do you still want to cancel it?")

    def _after_transfer_to_staff(self, output: str) -> Step:
        if "not on a phone line" in output:
            return _said(
                "I tried to put you through to the team, but this is not a phone call, so the "
                "transfer tool refused: on a real call it hands you to the staff line by SIP "
                "transfer. I could take a message instead."
            )
        return _said(f"The transfer did not go through; the tool answered: {output}")

    def _after_end_call(self, output: str) -> Step:
        return _said("Thank you for calling. Goodbye!")


class StandInLLM(llm.LLM):
    """The stand-in behind livekit's `llm.LLM` interface: one conversation per instance."""

    def __init__(self) -> None:
        super().__init__()
        self.conversation = Conversation()

    @property
    def model(self) -> str:
        return "stand-in"

    @property
    def provider(self) -> str:
        return "local stand-in (not a language model)"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: Any = NOT_GIVEN,
        tool_choice: Any = NOT_GIVEN,
        extra_kwargs: Any = NOT_GIVEN,
    ) -> llm.LLMStream:
        step = self.next_step(chat_ctx)
        return _StandInStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options, step=step
        )

    def next_step(self, chat_ctx: llm.ChatContext) -> Step:
        """Reads the newest item: the caller's words, or the output of the tool just called."""
        items = chat_ctx.items
        last = items[-1] if items else None
        if last is not None and last.type == "function_call_output":
            return self.conversation.tool_answered(last.name, last.output, last.is_error)
        if last is not None and last.type == "message" and last.role == "user":
            return self.conversation.heard(last.text_content or "")
        return Reply(HELP)


class _StandInStream(llm.LLMStream):
    def __init__(self, owner: StandInLLM, *, step: Step, **kwargs: Any) -> None:
        super().__init__(owner, **kwargs)
        self._step = step

    async def _run(self) -> None:
        request_id = f"standin-{uuid.uuid4().hex[:8]}"
        step = self._step
        if isinstance(step, Reply):
            delta = llm.ChoiceDelta(role="assistant", content=step.text)
        else:
            call = llm.FunctionToolCall(
                name=step.name,
                arguments=json.dumps(step.arguments),
                call_id=f"call_{uuid.uuid4().hex[:8]}",
            )
            delta = llm.ChoiceDelta(role="assistant", tool_calls=[call])
        self._event_ch.send_nowait(llm.ChatChunk(id=request_id, delta=delta))
