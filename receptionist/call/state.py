"""The state of one call, shared by the agent and its tools (the session's `userdata`).

Built once when the call starts, with every part it will need: who is calling, the practice, the
book, the call's own control of the line, clips, keypad, the times offered and who the caller has
proved to be. Tools read and change it; nothing is added to it later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypedDict

from receptionist.appointments import Book, Offers
from receptionist.call.clips import ClipPlayer
from receptionist.call.control import CallControl
from receptionist.call.keypad import Keypad
from receptionist.domain.calls import CallInfo, Outcome
from receptionist.domain.identity import Identity
from receptionist.domain.languages import Catalogue, catalogue
from receptionist.domain.practice import Practice
from receptionist.domain.replies import ReplyTime
from receptionist.domain.texts import TextKind
from receptionist.store import Store
from receptionist.store.models import Appointment, new_id
from receptionist.telemetry import metrics
from receptionist.texts.confirmations import queue_confirmation


class TranscriptLine(TypedDict):
    role: str  # "user" | "assistant"
    text: str


class CallEvent(TypedDict):
    """One step of what the assistant did, for the staff's call page (no dates of birth)."""

    at: str  # ISO time
    kind: str  # identity_checked, times_offered, booked, message_taken, transferred, ...
    detail: str


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CallState:
    info: CallInfo
    practice: Practice
    store: Store
    control: CallControl
    clips: ClipPlayer
    started_at: datetime
    # The call's clock: tests pin it to put a call inside or outside opening hours.
    clock: Callable[[], datetime] = utc_now
    caller_identity: str = ""
    room_name: str = ""
    # The call log row's id, chosen now so a record kept in the outbox is written exactly once.
    record_id: str = field(default_factory=new_id)
    outcomes: list[Outcome] = field(default_factory=list)
    transfer_destination: str = ""
    # Times offered in this call: only these can be booked.
    offers: Offers = field(default_factory=Offers)
    identity: Identity = field(default_factory=Identity)
    keypad: Keypad = field(default_factory=Keypad)
    # Stored with the call record only when the practice keeps transcripts.
    transcript: list[TranscriptLine] = field(default_factory=list)
    events: list[CallEvent] = field(default_factory=list)
    # How long the caller waited for each reply (figures only): stored with every call record.
    replies: list[ReplyTime] = field(default_factory=list)
    # The location's book when it is not the store's own ([practice.book]: Open Dental).
    book: Book | None = None
    # The language the call is in (a code of practice.languages): the default until the caller
    # chooses another (receptionist/call/language.py), then that one for the rest of the call.
    language: str = ""
    language_chosen: bool = False  # the caller has chosen: no second switch
    heard_language: str = ""  # the language the STT last reported hearing (with "multi")

    def __post_init__(self) -> None:
        if not self.language:
            self.language = self.practice.default_language.code

    @property
    def words(self) -> Catalogue:
        """The fixed lines of the call's language (prompts/<language>/lines.toml)."""
        return catalogue(self.language)

    def now(self) -> datetime:
        return self.clock()

    @property
    def appointment_book(self) -> Book:
        """Where this call's bookings go: the location's chosen book, else the store's."""
        return self.book if self.book is not None else self.store.appointments

    def local_now(self) -> datetime:
        return self.now().astimezone(self.practice.tz)

    def record(self, outcome: Outcome) -> None:
        if outcome not in self.outcomes:
            self.outcomes.append(outcome)

    def note(self, kind: str, detail: str = "") -> None:
        """Adds a step to the call's timeline (`events`), stored with the call record; the steps
        that change a booking are counted for the operator as they happen (telemetry.metrics)."""
        self.events.append({"at": self.now().isoformat(), "kind": kind, "detail": detail[:200]})
        metrics.timeline_step(self.practice.id, kind)

    async def confirm_by_text(self, kind: TextKind, appointment: Appointment) -> None:
        """After a booking change: the patient's confirmation text queued (a row; the staff
        app's sender sends it), when the practice and the patient's consent allow."""
        if await queue_confirmation(self.store, self.practice, kind, appointment, now=self.now()):
            self.note("text_queued", kind.value)

    def transferred(self, destination: str, *, warm: bool = False) -> None:
        """The caller was handed to a person at `destination` (a REFER, or a warm transfer's
        joined legs)."""
        self.transfer_destination = destination
        self.record(Outcome.TRANSFERRED)
        self.note("transferred")
        metrics.transfer(self.practice.id, warm=warm, connected=True)

    def transfer_failed(self, reason: str, *, warm: bool = False) -> None:
        """A transfer did not reach a person; `reason` is for the staff's timeline."""
        self.note("transfer_failed", reason)
        metrics.transfer(self.practice.id, warm=warm, connected=False)

    @property
    def transfer_target(self) -> str:
        """Where a transfer goes now: staff while open, the after-hours line when closed."""
        return self.practice.transfer_destination(self.now())

    @property
    def outcome(self) -> Outcome:
        """The call's headline outcome: the most consequential thing that happened."""
        for candidate in Outcome:
            if candidate in self.outcomes:
                return candidate
        return Outcome.ABANDONED
