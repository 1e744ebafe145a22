"""Reply times: one figure per reply from LiveKit's metrics, stored as numbers, summarised."""

from __future__ import annotations

import math

from livekit.agents import ConversationItemAddedEvent, llm

from receptionist.call.session import reply_timer
from receptionist.domain.replies import MAX_REPLIES, reply_time, stored_waits, summarise
from tests.support.states import call_state

ASSISTANT = {  # what LiveKit puts on an assistant message that answered speech
    "started_speaking_at": 1_796_602_535.4631,
    "stopped_speaking_at": 1_796_602_536.9,
    "e2e_latency": 0.78123,
    "llm_node_ttft": 0.0412,
    "tts_node_ttfb": 0.1209,
}
USER = {"stopped_speaking_at": 1_796_602_534.682, "end_of_turn_delay": 0.6031}


def test_a_reply_keeps_its_wait_and_the_agents_stages():
    assert reply_time(ASSISTANT, USER) == {
        "at": 1_796_602_535.463,
        "wait_s": 0.781,
        "end_of_turn_s": 0.603,
        "model_s": 0.041,
        "voice_s": 0.121,
    }


def test_a_reply_that_answered_no_speech_has_no_time():
    greeting = {k: v for k, v in ASSISTANT.items() if k != "e2e_latency"}
    assert reply_time(greeting, None) is None
    assert reply_time({"e2e_latency": 0.5}, None) is None  # no start: not placed in the call


def test_stages_livekit_did_not_report_are_left_empty():
    reply = reply_time({"started_speaking_at": 10.0, "e2e_latency": 1.0}, None)
    assert reply is not None
    assert (reply["end_of_turn_s"], reply["model_s"], reply["voice_s"]) == (None, None, None)


def test_odd_figures_are_not_taken_for_times():
    for bad in (-0.1, math.nan, math.inf, True, "0.7", None):
        assert reply_time({**ASSISTANT, "e2e_latency": bad}, USER) is None
    assert reply_time({**ASSISTANT, "llm_node_ttft": "soon"}, USER)["model_s"] is None


def test_stored_waits_skip_what_is_malformed():
    usage = {
        "models": [],
        "replies": [{"wait_s": 0.7}, {"wait_s": "x"}, "junk", {"at": 1.0}, {"wait_s": 1.25}],
    }
    assert stored_waits(usage) == [0.7, 1.25]
    assert stored_waits({"replies": "none"}) == []
    assert stored_waits({"llm_prompt_tokens": 2100}) == []  # an older record
    assert stored_waits(None) == []


def test_summary_is_median_and_95th_percentile_by_nearest_rank():
    assert summarise([]) is None
    one = summarise([0.9])
    assert (one.count, one.median_s, one.p95_s) == (1, 0.9, 0.9)
    few = summarise([1.4, 0.6, 0.8])
    assert (few.count, few.median_s, few.p95_s) == (3, 0.8, 1.4)
    many = summarise([i / 10 for i in range(1, 41)])  # 0.1 .. 4.0
    assert (many.count, many.median_s, many.p95_s) == (40, 2.0, 3.8)


def _said(role: str, metrics: dict) -> ConversationItemAddedEvent:
    return ConversationItemAddedEvent(
        item=llm.ChatMessage(role=role, content=["(words)"], metrics=metrics)
    )


def test_the_call_keeps_one_reply_time_per_answer_and_no_words():
    state = call_state()
    keep = reply_timer(state)
    keep(_said("assistant", {"started_speaking_at": 5.0, "stopped_speaking_at": 9.0}))  # greeting
    keep(_said("user", USER))
    keep(_said("assistant", ASSISTANT))
    keep(_said("user", {"stopped_speaking_at": 1_796_602_540.0}))  # no end-of-turn figure
    keep(_said("assistant", {**ASSISTANT, "e2e_latency": 1.5}))
    assert [(r["wait_s"], r["end_of_turn_s"]) for r in state.replies] == [
        (0.781, 0.603),
        (1.5, None),
    ]
    assert "(words)" not in repr(state.replies)


def test_a_very_long_call_keeps_its_first_replies_only():
    state = call_state()
    keep = reply_timer(state)
    for _ in range(MAX_REPLIES + 5):
        keep(_said("user", USER))
        keep(_said("assistant", ASSISTANT))
    assert len(state.replies) == MAX_REPLIES
