"""The call's language: the caller chooses once (keypad or speech), and it sticks for the call.

A choice changes four things for the rest of the call: the agent's instructions (the prompts of
that language, through `Agent.update_instructions`, which keeps the conversation and the tools:
a handoff to a second agent would rebuild both for nothing), the STT language and the TTS voice
(the plugins' own `update_options`, which reconnect their streams), and so the end-of-turn model's
language: LiveKit's turn detector reads the language off each STT transcript (its per-language
thresholds, `v1-mini` has Spanish), so it follows the STT without a call of its own.

Ways to choose: the language's keypad digit (the greeting offers it; `Keypad`), naming it
("español"; `on_turn`), or simply speaking it where the STT reports the language it heard
(Deepgram nova-3 with `stt_language = "multi"`; `heard`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from livekit.agents import (
    AgentSession,
    AgentStateChangedEvent,
    UserInputTranscribedEvent,
    llm,
    stt,
    tts,
)
from livekit.plugins import deepgram, openai

from receptionist.call.prompts import render_instructions, switched_line
from receptionist.call.state import CallState
from receptionist.domain.languages import Language, chosen_by_words

log = logging.getLogger("receptionist.call")

# A turn of at most this many words that names a language is only a choice ("español, por
# favor"): the answer comes from code, at once. A longer one is a request, answered by the model.
CHOICE_WORDS = 4


def by_code(state: CallState, code: str) -> Language | None:
    return next((lang for lang in state.practice.spoken_languages if lang.code == code), None)


def by_digit(state: CallState, digit: str) -> Language | None:
    return next((lang for lang in state.practice.spoken_languages if lang.keypad == digit), None)


def language_digits(state: CallState) -> frozenset[str]:
    """The digits that choose a language; none when the practice speaks only one."""
    languages = state.practice.spoken_languages
    return frozenset(lang.keypad for lang in languages) if len(languages) > 1 else frozenset()


async def choose(session: AgentSession, state: CallState, language: Language, how: str) -> bool:
    """Makes `language` the call's language, once: True if the call switched now. A caller's
    first choice sticks, even of the language already spoken (a later "English" in a Spanish
    call is a word, not a switch)."""
    if state.language_chosen:
        return False
    state.language_chosen = True
    if language.code == state.language:
        state.note("language", f"{language.code} (kept, by {how})")
        return False
    state.language = language.code
    state.note("language", f"{language.code} by {how}")
    log.info("caller chose a language", extra={"language": language.code, "by": how})
    time_first_audio(session, state)
    await session.current_agent.update_instructions(
        render_instructions(state.practice, language.code)
    )
    switch_speech(session, language)
    return True


async def by_keypad(session: AgentSession, state: CallState, digit: str) -> None:
    """The caller pressed a language's digit: stop the greeting, switch, greet in the language."""
    language = by_digit(state, digit)
    if language is None or not await choose(session, state, language, "keypad"):
        return
    session.interrupt()
    session.say(switched_line(language))


async def at_reply(
    session: AgentSession, state: CallState, chat_ctx: llm.ChatContext
) -> str | None:
    """Reads the caller's turn a reply is about to answer for a language choice. Returns the
    reply itself for a bare choice ("español, por favor": the language's first line, from code,
    no model turn); else None, with `chat_ctx`'s instructions switched if the caller chose (so
    this very reply is in the new language)."""
    if state.language_chosen or not chat_ctx.items:
        return None
    turn = chat_ctx.items[-1]
    if turn.type != "message" or turn.role != "user":
        return None  # a reply after a tool call: the caller's turn was read already
    text = turn.text_content or ""
    named = chosen_by_words(state.practice.spoken_languages, text)
    # Heard in the language already spoken is no choice (an STT fixed on English reports "en"
    # for every turn): only another of the practice's languages switches.
    other = state.heard_language != state.language
    language = named or (by_code(state, state.heard_language) if other else None)
    if language is None or not await choose(
        session, state, language, "speech" if named else "detected"
    ):
        return None
    if named and len(text.split()) <= CHOICE_WORDS:
        return switched_line(language)
    _replace_instructions(chat_ctx, render_instructions(state.practice, language.code))
    return None


def _replace_instructions(chat_ctx: llm.ChatContext, instructions: str) -> None:
    """This reply's copy of the conversation gets the new instructions (the agent's own copy was
    updated by `Agent.update_instructions`)."""
    for index, item in enumerate(chat_ctx.items):
        if item.type == "message" and item.role == "system":
            chat_ctx.items[index] = llm.ChatMessage(
                id=item.id, role="system", content=[instructions], created_at=item.created_at
            )
            return


def heard(state: CallState) -> Callable[[UserInputTranscribedEvent], None]:
    """Keeps the language the STT reports for each final transcript (with "multi", the one it
    detected): `on_turn` switches to it when it is one of the practice's."""

    def keep(ev: UserInputTranscribedEvent) -> None:
        if ev.is_final and ev.language:
            state.heard_language = ev.language.language

    return keep


def switch_speech(session: AgentSession, language: Language) -> None:
    """The session's STT listens for `language` and its TTS speaks with the language's voice
    (every provider of a fallback chain); a provider without such options is left as it is."""
    for engine in _parts(session.stt):
        if isinstance(engine, deepgram.STT):
            engine.update_options(language=language.stt_language)
    if not language.tts_voice:
        return  # the settings' voice: OpenAI's voices speak every language they are given
    aura = language.tts_voice.startswith("aura")  # a Deepgram voice; else an OpenAI one
    for voice in _parts(session.tts):
        if isinstance(voice, deepgram.TTS) and aura:
            voice.update_options(model=language.tts_voice)
        elif isinstance(voice, openai.TTS) and not aura:
            voice.update_options(voice=language.tts_voice)


def _parts(engine: stt.STT | tts.TTS | None) -> list[object]:
    """The providers behind a session's STT or TTS. The fallback adapters of livekit-agents 1.8
    have no public accessor for their providers, so their private lists are read here (the one
    place), rather than keeping a second copy of the providers for the whole call."""
    if engine is None:
        return []
    if isinstance(engine, stt.FallbackAdapter):
        return list(engine._stt_instances)
    if isinstance(engine, tts.FallbackAdapter):
        return list(engine._tts_instances)
    return [engine]


def time_first_audio(session: AgentSession, state: CallState) -> None:
    """Notes how long the caller waited from the choice to the first audio in the language (the
    agent's next "speaking"): the figure the language switch is judged by."""
    chosen = time.perf_counter()

    def on_state(ev: AgentStateChangedEvent) -> None:
        if ev.new_state != "speaking":
            return
        session.off("agent_state_changed", on_state)
        waited = time.perf_counter() - chosen
        state.note("language_heard", f"{waited:.2f} s")
        log.info("first audio in the chosen language", extra={"seconds": round(waited, 2)})

    session.on("agent_state_changed", on_state)
