"""A local stand-in for the language model, so a newcomer can try the receptionist without keys.

It is not a model and does not pretend to be one: it recognises a handful of requests by their
words (opening hours, booking a cleaning, cancelling an appointment, taking a message, a dental
emergency, asking for a person, goodbye), asks for what the real tools need (name, date of birth,
which time, a callback number) and then drives the agent's real tools through real function
calls, exactly as the model would. Which offered time the caller means is read against what was
offered (standin_words.py), and words that fit several are answered with a question, never a
guess. Everything it says starts with "(stand-in)". The greeting and the receptionist's fixed
lines come from code, not from here. `agent.py try` (receptionist/ops/tryout.py) runs it in the
terminal.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from livekit.agents import llm
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)

from receptionist.call.standin_words import (
    Intent,
    choose,
    emergency_kind,
    is_no,
    is_yes,
    parse_birth_date,
    parse_callback,
    parse_name,
    recognise,
    urgency,
)

LABEL = "(stand-in)"
HELP = (
    f"{LABEL} I'm a local stand-in for the language model, so I only understand a few "
    "requests: opening hours, booking a cleaning, cancelling an appointment, taking a message, "
    "a dental emergency, talking to someone, and goodbye. With an OpenAI key, "
    "`uv run agent.py console --text` uses the real model."
)
ASK_NAME = "First I need to check who you are. What is your first and last name?"
DEMO_HINT = "The demo patients include Ann Lee, born February 29, 1980."
ASK_NUMBER = "What number should the team call you back on, with the area code?"
_ORDINALS = ("first", "second", "third")
_OPTION = re.compile(r"^(opt-[0-9a-f]+): (.+)$", re.MULTILINE)
_REF = re.compile(r"^(appt-\d+): (.+)$", re.MULTILINE)
_ABOUT = re.compile(r"\b(?:about|regarding)\s+(.{3,})", re.IGNORECASE | re.DOTALL)
# Questions whose answer is taken as said (a name, what a message is about, a number), so words
# in it ("about my appointment", "the hours you told me") do not start another request.
_DETAILS = ("msg_name", "msg_reason", "msg_number")


@dataclass(frozen=True)
class Reply:
    """Words for the caller: a model turn that speaks (the stand-in labels its own)."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """A call of one of the agent's real tools."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


Step = Reply | ToolCall


def chunk(request_id: str, step: Reply | Sequence[ToolCall]) -> llm.ChatChunk:
    """One model turn as livekit streams it: the reply's words, or the tool calls, each with a
    call id of its own. The tests' scripted model (tests/support/scripted_llm.py) plays its steps
    through this too, so the stand-in and the tests speak the same steps the same way."""
    if isinstance(step, Reply):
        delta = llm.ChoiceDelta(role="assistant", content=step.text)
    else:
        calls = [
            llm.FunctionToolCall(
                name=call.name,
                arguments=json.dumps(call.arguments),
                call_id=f"call_{uuid.uuid4().hex[:8]}",
            )
            for call in step
        ]
        delta = llm.ChoiceDelta(role="assistant", tool_calls=calls)
    return llm.ChatChunk(id=request_id, delta=delta)


@dataclass
class Draft:
    """A message being taken for the staff: what take_message needs, filled in turn by turn."""

    name: str = ""
    reason: str = ""
    number: str | None = None  # "" is "the number I'm calling from"
    urgency: str = "routine"


def _listed(items: Sequence[tuple[str, str]], indices: Sequence[int]) -> str:
    """`the first, Wednesday at 8 AM, or the second, Thursday at 8 AM`: offers by their place."""
    named = [f"the {_ORDINALS[i] if i < len(_ORDINALS) else f'number {i + 1}'}, {items[i][1]}"
             for i in indices]  # fmt: skip
    return ", or ".join(named) if len(named) < 3 else "; ".join(named[:-1]) + "; or " + named[-1]


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


@dataclass
class Conversation:
    """What the stand-in remembers between turns: the request under way and what it asked."""

    # The practice's date, so "tomorrow (Wednesday)" and "the 3rd" can be matched to a day.
    today: Callable[[], date] | None = None
    goal: Intent | None = None
    # name | dob | time | which | confirm | msg_name | msg_reason | msg_number | offer_message
    asked: str = ""
    name: str = ""
    verified: bool = False
    visit: str = "cleaning"
    options: list[tuple[str, str]] = field(default_factory=list)
    refs: list[tuple[str, str]] = field(default_factory=list)
    ref: str = ""
    chosen: str = ""  # an offered time picked before the caller's identity was checked
    draft: Draft | None = None
    callback: str | None = None  # the callback number the caller gave, for a second message
    emergency: str = ""  # what the caller said about an urgent dental problem
    after_emergency: list[tuple[str, str]] = field(default_factory=list)  # soonest urgent visits
    needs_message: bool = False  # the emergency tool left no note: the stand-in takes a message
    preface: list[str] = field(default_factory=list)  # said before the next reply

    def _say(self, text: str) -> Reply:
        words = " ".join([*self.preface, text])
        self.preface.clear()
        return Reply(f"{LABEL} {words}")

    def _day(self) -> date | None:
        return self.today() if self.today is not None else None

    # -- the caller spoke ------------------------------------------------------------------

    def heard(self, text: str) -> Step:
        """The next step after the caller said `text`."""
        intent = recognise(text)
        details = self.asked in _DETAILS
        if intent is Intent.EMERGENCY and (
            not details or (self.goal is not Intent.EMERGENCY and self._life_threatening(text))
        ):
            return self._emergency(text)
        if intent is Intent.GOODBYE:
            return ToolCall("end_call")
        if details:
            return self._answer(text)
        if intent is Intent.PERSON:
            return ToolCall("transfer_to_staff", {"reason": "The caller asked for a person."})
        if intent is Intent.MESSAGE:
            return self._start_message(text)
        if intent is Intent.HOURS:
            return ToolCall("practice_info", {"topic": "hours"})
        if intent in (Intent.BOOK, Intent.CANCEL) and not self._answers_question(text):
            return self._start(intent, text)
        if self.asked:
            return self._answer(text)
        return Reply(HELP)

    @staticmethod
    def _life_threatening(text: str) -> bool:
        return emergency_kind(text) == "life_threatening"

    def _answers_question(self, text: str) -> bool:
        """Whether `text` answers what was asked ("yes, cancel it" confirms, not restarts)."""
        if self.asked in ("name", "dob"):
            return True
        if self.asked == "confirm":
            return is_yes(text) or is_no(text)
        if self.asked == "time":
            return choose(text, [w for _, w in self.options], self._day()).understood
        if self.asked == "which":
            return choose(text, [w for _, w in self.refs], self._day()).understood
        return False

    def _start(self, intent: Intent, text: str) -> Step:
        self.goal, self.asked, self.chosen = intent, "", ""
        if intent is Intent.BOOK and any(w in text.lower() for w in ("filling", "treatment")):
            self.visit = "filling"
        if self.verified:
            return self._next_for_goal()
        lead = "I can book that for you." if intent is Intent.BOOK else "I can cancel it for you."
        return self._ask_identity(lead)

    def _ask_identity(self, lead: str) -> Reply:
        """Name and date of birth for verify_patient (only the date if the name is known)."""
        if self.name and len(self.name.split()) >= 2:
            self.asked = "dob"
            return self._say(f"{lead} To check who you are: {self.name}, and your date of birth?")
        self.asked = "name"
        return self._say(f"{lead} {ASK_NAME}")

    def _answer(self, text: str) -> Step:
        asked = self.asked
        if asked == "name":
            return self._take_name(text)
        if asked == "dob":
            return self._take_birth_date(text)
        if asked == "time":
            return self._pick_time(text)
        if asked == "which":
            return self._pick_appointment(text)
        if asked == "confirm":
            self.asked = ""
            if is_yes(text):
                arguments = {"appointment_ref": self.ref, "caller_confirmed": True}
                return ToolCall("cancel_appointment", arguments)
            self.goal = None
            return self._say("All right, I've left it booked. Anything else?")
        if asked in _DETAILS:
            return self._take_detail(text)
        if asked == "offer_message":
            self.asked = ""
            if is_yes(text):
                return self._start_message(text)
            return self._say("All right. Anything else?")
        return Reply(HELP)

    # -- which time, which appointment -----------------------------------------------------

    def _pick_time(self, text: str) -> Step:
        choice = choose(text, [when for _, when in self.options], self._day())
        if choice.picked is not None:
            self.asked = ""
            return self._book(self.options[choice.picked][0])
        if len(choice.fits) > 1:
            return self._say(f"Which one do you mean: {_listed(self.options, choice.fits)}?")
        if is_no(text) and not choice.understood:
            self.asked, self.goal, self.options = "", None, []
            return self._say("All right, I haven't booked anything. Anything else?")
        every = range(len(self.options))
        if choice.understood:
            return self._say(
                f"I don't have a time like that. I have {_listed(self.options, every)}. "
                "Which would you like?"
            )
        return self._say(f"Which time would you like: {_listed(self.options, every)}?")

    def _book(self, option_id: str) -> Step:
        if self.verified:
            return ToolCall("book_appointment", {"option_id": option_id})
        self.goal, self.chosen = Intent.BOOK, option_id
        return self._ask_identity("I'll book that for you.")

    def _pick_appointment(self, text: str) -> Step:
        choice = choose(text, [when for _, when in self.refs], self._day())
        if choice.picked is None:
            fits = choice.fits if len(choice.fits) > 1 else range(len(self.refs))
            return self._say(f"Which appointment: {_listed(self.refs, fits)}?")
        self.asked, self.ref = "", self.refs[choice.picked][0]
        return ToolCall("cancel_appointment", {"appointment_ref": self.ref})

    # -- who is calling --------------------------------------------------------------------

    def _take_name(self, text: str) -> Step:
        name = parse_name(text)
        if name is None:
            return self._say("Please tell me your first and last name, for example: Ann Lee.")
        self.name = name
        born = parse_birth_date(text)
        if born is None:
            self.asked = "dob"
            return self._say(f"Thank you, {name.split()[0]}. And your date of birth?")
        return self._verify(born)

    def _take_birth_date(self, text: str) -> Step:
        born = parse_birth_date(text)
        if born is None:
            return self._say("Please say your date of birth with the year, like February 29, 1980.")
        return self._verify(born)

    def _verify(self, born: date) -> Step:
        self.asked = ""
        return ToolCall(
            "verify_patient", {"full_name": self.name, "date_of_birth": born.isoformat()}
        )

    def _next_for_goal(self) -> Step:
        if self.chosen:
            return ToolCall("book_appointment", {"option_id": self.chosen})
        if self.goal is Intent.BOOK:
            return ToolCall("find_open_times", {"visit_type": self.visit})
        return ToolCall("list_appointments")

    # -- a message for the staff -----------------------------------------------------------

    def _start_message(self, text: str) -> Step:
        about = _ABOUT.search(text)
        reason = about[1].strip(" .!?") if about else ""
        self.goal = Intent.MESSAGE
        self.draft = Draft(reason=reason, urgency=urgency(text) if reason else "routine")
        return self._next_detail("I can take a message for the team.")

    def _next_detail(self, lead: str = "") -> Step:
        """Asks for what the message still lacks; with everything, calls take_message."""
        draft = self.draft or Draft()
        if not draft.name and self.name:
            draft.name = self.name
        if draft.number is None:
            draft.number = self.callback
        if lead:
            self.preface.append(lead)
        if not draft.name:
            self.asked = "msg_name"
            return self._say("Who is the message from? Your name, please.")
        if not draft.reason:
            self.asked = "msg_reason"
            return self._say("What would you like the team to know?")
        if draft.number is None:
            self.asked = "msg_number"
            return self._say(ASK_NUMBER)
        self.asked = ""
        return ToolCall(
            "take_message",
            {
                "caller_name": draft.name,
                "reason": draft.reason,
                "callback_number": draft.number,
                "urgency": draft.urgency,
            },
        )

    def _take_detail(self, text: str) -> Step:
        draft = self.draft = self.draft or Draft()
        declined = is_no(text) and len(text.split()) <= 3 and parse_callback(text) is None
        if declined and self.asked != "msg_reason":  # "no thanks" to a name or a number
            self.draft, self.asked, self.goal = None, "", None
            return self._say("All right, I haven't left a message. Anything else?")
        if self.asked == "msg_name":
            name = parse_name(text, least=1)
            if name is None:
                return self._say("Please tell me your name, for example: Ann Lee.")
            draft.name = name
            self.name = self.name or (name if len(name.split()) >= 2 else "")
        elif self.asked == "msg_reason":
            draft.reason = text.strip()
            if draft.urgency == "routine":
                draft.urgency = "urgent" if recognise(text) is Intent.EMERGENCY else urgency(text)
        else:
            number = parse_callback(text)
            if number is None:
                return self._say(f"{ASK_NUMBER} For example: 414 555 0123.")
            draft.number = self.callback = number
        return self._next_detail()

    # -- an emergency ----------------------------------------------------------------------

    def _emergency(self, text: str) -> Step:
        self.goal, self.asked, self.emergency = Intent.EMERGENCY, "", text.strip()
        arguments = {"kind": emergency_kind(text), "summary": text.strip()}
        return ToolCall("report_emergency", arguments)

    def _after_report_emergency(self, output: str) -> Step:
        if output.startswith("Tell the caller now"):  # life-threatening: the emergency number
            advice = output.split("calmly: ", 1)[-1].split(" Do not ", 1)[0]
            self.goal = None
            return self._say(_sentence(advice))
        if guidance := re.search(r"Share this guidance: (.+?) (?:Then call|Nobody can)", output):
            self.preface.append(guidance[1])
        self.after_emergency = _OPTION.findall(output)[:3]
        self.needs_message = "take_message" in output  # no urgent note was left for the team
        if "call transfer_to_staff now" in output:
            reason = f"Urgent dental problem: {self.emergency}"
            return ToolCall("transfer_to_staff", {"reason": reason})
        return self._emergency_follow_up()

    def _emergency_follow_up(self) -> Step:
        """No person could take the call: an urgent message for the team (the tool asked for
        one when it had no number to leave a note with), then the soonest urgent visits."""
        if self.needs_message:
            self.draft = Draft(reason=f"URGENT: {self.emergency}", urgency="urgent")
            return self._next_detail("I'll take an urgent message so the team calls you back.")
        self.preface.append("The team has an urgent note to call you back.")
        return self._offer_urgent_visits()

    def _offer_urgent_visits(self) -> Step:
        self.goal = None
        if not self.after_emergency:
            return self._say("Is there anything else?")
        self.options, self.after_emergency = self.after_emergency, []
        self.asked = "time"
        every = range(len(self.options))
        return self._say(
            f"The soonest urgent visits: {_listed(self.options, every)}. "
            "Would you like one of them?"
        )

    # -- a tool answered -------------------------------------------------------------------

    def tool_answered(self, name: str, output: str, is_error: bool) -> Step:
        """The next step after the real tool `name` returned `output`."""
        if is_error:
            return self._tool_refused(name, output)
        handler = getattr(self, f"_after_{name}", None)
        if handler is None:
            return self._say(f"The {name} tool answered: {output}")
        return handler(output)

    def _tool_refused(self, name: str, output: str) -> Step:
        """A tool's ToolError: ask again for what it names, or say plainly what it answered."""
        if name == "verify_patient":
            self.asked, self.name = "name", ""
        if name == "take_message" and self.draft is not None and "NOT be saved" not in output:
            if "callback number" in output:
                self.draft.number = self.callback = None
                self.preface.append("That number did not work.")
            elif "name" in output:
                self.draft.name = ""
            else:
                self.draft.reason = ""
            return self._next_detail()
        return self._say(f"That did not work; the {name} tool answered: {output}")

    def _after_practice_info(self, output: str) -> Step:
        return self._say(f"Our opening hours: {output}")

    def _after_verify_patient(self, output: str) -> Step:
        if not output.startswith("Verified"):
            self.asked, self.name = "name", ""
            return self._say(
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
            return self._say("I found no open times in the next few weeks. Anything else?")
        self.asked = "time"
        times = "; ".join(f"{_ORDINALS[i]}, {when}" for i, (_, when) in enumerate(self.options))
        return self._say(f"I have {times}. Which would you like?")

    def _after_book_appointment(self, output: str) -> Step:
        self.goal, self.options, self.chosen = None, [], ""
        booked = output.split(": ", 1)[-1].split(". Confirm", 1)[0]
        return self._say(f"You're booked: {booked}. Is there anything else?")

    def _after_list_appointments(self, output: str) -> Step:
        self.refs = _REF.findall(output)
        if not self.refs:
            self.goal = None
            return self._say("I don't see any upcoming appointments for you. Anything else?")
        if len(self.refs) == 1:
            self.ref = self.refs[0][0]
            return ToolCall("cancel_appointment", {"appointment_ref": self.ref})
        self.asked = "which"
        listed = "; ".join(f"{when}" for _, when in self.refs[:3])
        return self._say(f"You have {listed}. Which one should I cancel?")

    def _after_cancel_appointment(self, output: str) -> Step:
        if output.startswith("Cancelled"):
            self.goal, self.ref = None, ""
            when = output.split("appointment ", 1)[-1].split(". Confirm", 1)[0]
            return self._say(f"Done: your appointment {when} is cancelled. Anything else?")
        policy = output.split("the policy: ", 1)[-1].split(" Ask if", 1)[0]
        self.asked = "confirm"
        return self._say(f"Our cancellation policy: {policy} Do you still want to cancel it?")

    def _after_take_message(self, output: str) -> Step:
        self.draft = None
        ending = re.search(r"ending (\d{4})", output)
        number = f" on the number ending {ending[1]}" if ending else ""
        self.preface.append(f"Your message is with the team; they will call you back{number}.")
        if self.goal is Intent.EMERGENCY:
            return self._offer_urgent_visits()
        self.goal = None
        return self._say("Anything else?")

    def _after_transfer_to_staff(self, output: str) -> Step:
        if "not on a phone line" in output:
            said = (
                "I tried to put you through to the team, but this is not a phone call, so the "
                "transfer tool refused: on a real call it hands you to the staff line by SIP "
                "transfer."
            )
        else:
            said = f"The transfer did not go through; the tool answered: {output}"
        if self.goal is Intent.EMERGENCY:
            self.preface.append(said)
            return self._emergency_follow_up()
        self.asked = "offer_message"
        return self._say(f"{said} Shall I take a message instead?")

    def _after_end_call(self, output: str) -> Step:
        return self._say("Thank you for calling. Goodbye!")


class StandInLLM(llm.LLM):
    """The stand-in behind livekit's `llm.LLM` interface: one conversation per instance."""

    def __init__(self, today: Callable[[], date] | None = None) -> None:
        """`today`: the practice's date now, so the stand-in knows which day "tomorrow" is."""
        super().__init__()
        self.conversation = Conversation(today=today)

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
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,  # the framework's own type
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
    def __init__(
        self,
        owner: StandInLLM,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
        step: Step,
    ) -> None:
        super().__init__(owner, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._step = step

    async def _run(self) -> None:
        step = self._step
        turn = step if isinstance(step, Reply) else [step]
        self._event_ch.send_nowait(chunk(f"standin-{uuid.uuid4().hex[:8]}", turn))
