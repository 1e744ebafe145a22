"""Callers who speak Spanish: the choice (keypad 2, or speech), then the main paths in Spanish.

Each test ends in what the caller heard (the agent's lines), what the model was told (its
instructions, in Spanish after the switch) and what the book holds.
"""

from __future__ import annotations

import asyncio

from livekit.agents import UserInputTranscribedEvent
from livekit.agents.language import LanguageCode

from tests.support.harness import receptionist_call
from tests.support.scripted_llm import Say, ScriptedLLM

SPANISH_PROMPT = "Hable siempre en español"


def said(session) -> list[str]:
    return [
        item.text_content or ""
        for item in session.history.items
        if item.type == "message" and item.role == "assistant"
    ]


def instructions(chat_ctx) -> str:
    return next(
        item.text_content or ""
        for item in chat_ctx.items
        if item.type == "message" and item.role == "system"
    )


async def wait_for(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_the_greeting_offers_spanish_in_spanish():
    async with receptionist_call(ScriptedLLM()) as call:
        await wait_for(lambda: said(call.session))
        [greeting] = said(call.session)
    assert "Thank you for calling Lakeside Family Dental" in greeting
    assert greeting.endswith("Para español, oprima 2 o diga español.")


async def test_pressing_2_switches_the_call_to_spanish_for_good():
    script = ScriptedLLM([Say("Claro, ¿para qué tipo de cita?")])
    async with receptionist_call(script) as call:
        await wait_for(lambda: said(call.session))
        call.state.keypad.press("2")
        await call.state.keypad.drain()
        await wait_for(lambda: len(said(call.session)) == 2)
        assert said(call.session)[1].startswith("Con gusto, seguimos en español.")
        await call.session.run(user_input="Quiero hacer una cita.")
        call.state.keypad.press("1")  # a second choice: the first one sticks
        await call.state.keypad.drain()
    assert call.state.language == "es"
    assert SPANISH_PROMPT in instructions(script.requests[-1])
    assert "Lunes de 08:00 a 17:00" in instructions(script.requests[-1])  # the hours, in Spanish
    assert [e["detail"] for e in call.state.events if e["kind"] == "language"] == ["es by keypad"]


async def test_saying_espanol_switches_with_no_model_turn():
    script = ScriptedLLM([Say("Perfecto. ¿Me dice su nombre completo?")])
    async with receptionist_call(script) as call:
        await call.session.run(user_input="Español, por favor.")
        assert said(call.session)[-1].startswith("Con gusto, seguimos en español.")
        assert not script.requests  # the choice was answered from code
        await call.session.run(user_input="Quiero cambiar mi cita.")
    assert call.state.language == "es"
    assert SPANISH_PROMPT in instructions(script.requests[0])


async def test_speaking_spanish_as_the_stt_heard_it_is_answered_in_spanish():
    script = ScriptedLLM([Say("Con gusto. ¿Qué día le viene bien?")])
    async with receptionist_call(script) as call:
        call.session.emit(
            "user_input_transcribed",
            UserInputTranscribedEvent(
                transcript="Hola, quiero una cita", is_final=True, language=LanguageCode("es")
            ),
        )
        await call.session.run(user_input="Hola, quiero una cita para una limpieza.")
        await wait_for(lambda: len(script.requests) == 1)
    assert call.state.language == "es"
    [request] = script.requests
    assert SPANISH_PROMPT in instructions(request)  # the request answered with the new prompt
    assert "Hola, quiero una cita para una limpieza." in [
        i.text_content for i in request.items if i.type == "message" and i.role == "user"
    ]


async def test_an_english_caller_stays_in_english():
    script = ScriptedLLM([Say("Sure, what kind of visit?")])
    async with receptionist_call(script) as call:
        await call.session.run(user_input="Hi, I'd like to book a cleaning.")
        call.state.keypad.press("5")  # not a language: ignored
        await call.state.keypad.drain()
    assert call.state.language == "en"
    assert "You are the automated phone assistant" in instructions(script.requests[0])
