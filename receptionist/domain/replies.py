"""How long callers waited for the assistant's replies, as the agent itself measured it.

For every reply LiveKit reports when the caller stopped speaking (as the agent heard it) and when
the reply's audio began; the difference is the wait the agent is answerable for: the end-of-turn
wait, a tool if one ran, the model's first words and the voice's first audio. The phone network
and the SIP bridge add their own share before and after, which the agent cannot see (the call
benchmark, bench/calls.py, measures the whole gap at the caller's phone).

Stored with each call record (under `usage["replies"]`, numbers only: no words, no numbers the
caller said) and summarised for the call page and the owner's week.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

MAX_REPLIES = 200  # per call record; a call longer than that is kept to its first 200 replies


class ReplyTime(TypedDict):
    """One reply: when it began (epoch seconds) and its wait broken into the agent's stages."""

    at: float
    wait_s: float  # the caller stopped speaking -> the reply's first audio
    end_of_turn_s: float | None  # of which: deciding the caller had finished
    model_s: float | None  # the model's first words, from when it was asked
    voice_s: float | None  # the voice's first audio, from when it was given words


def reply_time(
    assistant: Mapping[str, Any], user: Mapping[str, Any] | None = None
) -> ReplyTime | None:
    """A reply's figures from LiveKit's metrics on the assistant's message (and on the caller's
    message it answered); None when the reply answered no speech (the greeting, a keypress)."""
    wait = _seconds(assistant.get("e2e_latency"))
    at = _seconds(assistant.get("started_speaking_at"))
    if wait is None or at is None:
        return None
    return {
        "at": round(at, 3),
        "wait_s": round(wait, 3),
        "end_of_turn_s": _rounded(_seconds((user or {}).get("end_of_turn_delay"))),
        "model_s": _rounded(_seconds(assistant.get("llm_node_ttft"))),
        "voice_s": _rounded(_seconds(assistant.get("tts_node_ttfb"))),
    }


def stored_waits(usage: Mapping[str, Any] | None) -> list[float]:
    """The waits kept in a call record's usage; anything malformed (older records, hand-made
    data) is skipped rather than failing the page that reads it."""
    replies = usage.get("replies") if isinstance(usage, Mapping) else None
    if not isinstance(replies, list):
        return []
    waits = (_seconds(r.get("wait_s")) for r in replies if isinstance(r, Mapping))
    return [w for w in waits if w is not None]


@dataclass(frozen=True)
class ReplySummary:
    count: int
    median_s: float
    p95_s: float  # the 95th percentile (nearest rank): the slowest of a short call


def summarise(waits: Iterable[float]) -> ReplySummary | None:
    ordered = sorted(waits)
    if not ordered:
        return None
    return ReplySummary(len(ordered), _rank(ordered, 0.5), _rank(ordered, 0.95))


def _rank(ordered: list[float], q: float) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0 <= value < 1e12 else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
