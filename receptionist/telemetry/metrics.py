"""The receptionist's own Prometheus metrics: calls, bookings, transfers, replies, model usage and
the queues, as counts and times only.

Label values are the practice's id (an operator-chosen slug), closed vocabularies (a call's
outcome, a booking change, a transfer's mode and result, a line's answer, a reminder's status, a
notification channel, an outbox kind) and the configured providers' and models' names: never a
number, a name, a date or anything a caller said. `_label` also holds every value to a short
slug without a phone number's run of digits (a value that does not fit is counted as "other"), so
a slip elsewhere cannot put a caller's number in a scrape.

Every metric has labels, so none writes a value before it is first used: in prometheus_client's
multiprocess mode (multiprocess.py) a value written by the main process before LiveKit empties
the folder at start-up would be lost with its file. The queue gauges are written by one process
(the worker's main process, backlog.py) and read as its most recent values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from prometheus_client import Counter, Gauge, Histogram

_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,63}")
_DIGIT_RUN = re.compile(r"\d{7}")  # a phone number's digits (a model's date, 2024-07-18, is not)
OTHER = "other"

# How long callers wait for a reply (seconds): the agent's share, end of speech to first audio.
REPLY_BUCKETS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0)


class BookingChange(StrEnum):
    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"


# The call timeline's steps (CallState.note kinds) that are booking changes.
BOOKING_STEPS: Mapping[str, BookingChange] = {
    "booked": BookingChange.BOOKED,
    "rescheduled": BookingChange.MOVED,
    "cancelled": BookingChange.CANCELLED,
}

CALLS = Counter(
    "receptionist_calls",
    "Inbound calls ended, by the call record's headline outcome.",
    ["practice", "outcome"],
)
BOOKINGS = Counter(
    "receptionist_bookings",
    "Appointments booked, moved or cancelled by the assistant's tools during calls.",
    ["practice", "change"],
)
TRANSFERS = Counter(
    "receptionist_transfers",
    "Transfers to a person, by mode (cold REFER or warm) and result (connected or failed).",
    ["practice", "mode", "result"],
)
REMINDER_CALLS = Counter(
    "receptionist_reminder_calls",
    "Reminder call attempts ended, by how the line answered and the reminder status chosen.",
    ["practice", "line", "result"],
)
REPLY_SECONDS = Histogram(
    "receptionist_reply_seconds",
    "How long callers waited for each reply: end of their speech to the reply's first audio.",
    ["practice"],
    buckets=REPLY_BUCKETS,
)
LLM_TOKENS = Counter(
    "receptionist_llm_tokens",
    "LLM tokens used by calls (kind: input, cached_input (part of input), output).",
    ["practice", "provider", "model", "kind"],
)
STT_SECONDS = Counter(
    "receptionist_stt_audio_seconds",
    "Seconds of caller audio sent to speech-to-text.",
    ["practice", "provider", "model"],
)
TTS_CHARACTERS = Counter(
    "receptionist_tts_characters",
    "Characters of text spoken by text-to-speech.",
    ["practice", "provider", "model"],
)
NOTIFICATIONS_WAITING = Gauge(
    "receptionist_notifications_waiting",
    "Notifications not yet delivered (pending or being sent).",
    ["practice", "channel"],
    multiprocess_mode="mostrecent",
)
NOTIFICATIONS_OLDEST = Gauge(
    "receptionist_notifications_oldest_waiting_seconds",
    "Age of the oldest notification not yet delivered (0 when none waits).",
    ["practice", "channel"],
    multiprocess_mode="mostrecent",
)
NOTIFICATIONS_GIVEN_UP = Gauge(
    "receptionist_notifications_given_up",
    "Notifications the sender gave up on (all time): staff were never told.",
    ["practice", "channel"],
    multiprocess_mode="mostrecent",
)
REMINDERS_WAITING = Gauge(
    "receptionist_reminders_waiting",
    "Reminder calls waiting for a try (a retry later, or due now).",
    ["practice"],
    multiprocess_mode="mostrecent",
)
REMINDERS_OLDEST_DUE = Gauge(
    "receptionist_reminders_oldest_due_seconds",
    "How long the most overdue reminder call has been due without being placed (0: none is).",
    ["practice"],
    multiprocess_mode="mostrecent",
)
REMINDERS_CALLING = Gauge(
    "receptionist_reminders_calling",
    "Reminder calls claimed and under way.",
    ["practice"],
    multiprocess_mode="mostrecent",
)
OUTBOX_RECORDS = Gauge(
    "receptionist_outbox_records",
    "Records kept in this host's outbox because the database was unreachable.",
    ["kind"],
    multiprocess_mode="mostrecent",
)
STORE_UP = Gauge(
    "receptionist_store_up",
    "1 when the worker's last read of the book's queues succeeded, 0 when it failed.",
    ["dialect"],
    multiprocess_mode="mostrecent",
)


def _label(value: object) -> str:
    """A label value as it may appear in a scrape: a short slug, else "other"."""
    text = str(value)
    return text if _LABEL.fullmatch(text) and not _DIGIT_RUN.search(text) else OTHER


# --- during calls (job processes) ----------------------------------------------------------


def call_ended(practice_id: str, outcome: str) -> None:
    CALLS.labels(practice=_label(practice_id), outcome=_label(outcome)).inc()


def timeline_step(practice_id: str, kind: str) -> None:
    """A step of a call's timeline; the booking changes among them are counted."""
    change = BOOKING_STEPS.get(kind)
    if change is not None:
        BOOKINGS.labels(practice=_label(practice_id), change=change.value).inc()


def transfer(practice_id: str, *, warm: bool, connected: bool) -> None:
    TRANSFERS.labels(
        practice=_label(practice_id),
        mode="warm" if warm else "cold",
        result="connected" if connected else "failed",
    ).inc()


def reminder_call(practice_id: str, *, line: str, result: str) -> None:
    REMINDER_CALLS.labels(
        practice=_label(practice_id), line=_label(line), result=_label(result or "none")
    ).inc()


def reply(practice_id: str, wait_seconds: float) -> None:
    REPLY_SECONDS.labels(practice=_label(practice_id)).observe(wait_seconds)


def llm_tokens(
    practice_id: str, provider: str, model: str, *, input: int, cached_input: int, output: int
) -> None:
    for kind, amount in (("input", input), ("cached_input", cached_input), ("output", output)):
        if amount > 0:
            LLM_TOKENS.labels(
                practice=_label(practice_id),
                provider=_label(provider or "unknown"),
                model=_label(model or "unknown"),
                kind=kind,
            ).inc(amount)


def stt_audio(practice_id: str, provider: str, model: str, seconds: float) -> None:
    if seconds > 0:
        STT_SECONDS.labels(
            practice=_label(practice_id),
            provider=_label(provider or "unknown"),
            model=_label(model or "unknown"),
        ).inc(seconds)


def tts_characters(practice_id: str, provider: str, model: str, characters: int) -> None:
    if characters > 0:
        TTS_CHARACTERS.labels(
            practice=_label(practice_id),
            provider=_label(provider or "unknown"),
            model=_label(model or "unknown"),
        ).inc(characters)


# --- the queues (the worker's main process) ------------------------------------------------


def notifications(
    practice_id: str, channel: str, *, waiting: int, oldest: float, given_up: int
) -> None:
    labels = {"practice": _label(practice_id), "channel": _label(channel)}
    NOTIFICATIONS_WAITING.labels(**labels).set(waiting)
    NOTIFICATIONS_OLDEST.labels(**labels).set(oldest)
    NOTIFICATIONS_GIVEN_UP.labels(**labels).set(given_up)


def reminders(practice_id: str, *, waiting: int, calling: int, oldest_due: float) -> None:
    practice = _label(practice_id)
    REMINDERS_WAITING.labels(practice=practice).set(waiting)
    REMINDERS_CALLING.labels(practice=practice).set(calling)
    REMINDERS_OLDEST_DUE.labels(practice=practice).set(oldest_due)


def outbox(kind: str, records: int) -> None:
    OUTBOX_RECORDS.labels(kind=_label(kind)).set(records)


def store_up(dialect: str, up: bool) -> None:
    STORE_UP.labels(dialect=_label(dialect)).set(1 if up else 0)
